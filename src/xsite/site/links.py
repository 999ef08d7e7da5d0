"""The broken-link check: every relative link of a rendered page must point at a file of
the site."""

from __future__ import annotations

import posixpath
import re
from html import unescape
from urllib.parse import unquote

from xsite.site.pages import Page
from xsite.site.write import SiteWriter

_LINK = re.compile(rb'(?:href|src|data-src|data-spec)="([^"]*)"')


def find_broken_links(writer: SiteWriter, pages: list[Page]) -> list[str]:
    """Relative links and sources in the pages that point at no file of the site."""
    broken = []
    for page in pages:
        if page.root_url is not None:
            continue  # absolute links (404.html) depend on where the site is hosted
        html = writer.target(page.path).read_bytes()
        folder = posixpath.dirname(page.path)
        for raw in _LINK.findall(html):
            url = unescape(raw.decode()).split("#", 1)[0].split("?", 1)[0]
            if not url or ":" in url.split("/", 1)[0]:
                continue  # same-page anchor, or an absolute URL with a scheme
            target = posixpath.normpath(posixpath.join(folder, unquote(url)))
            if url.endswith("/") or target == ".":
                target = posixpath.join("" if target == "." else target, "index.html")
            if target.startswith("../") or target not in writer.current:
                broken.append(f"{page.path}: {url}")
    return sorted(set(broken))
