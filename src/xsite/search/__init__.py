"""Full-text search over the written site (a built-in plugin).

Pagefind (a search library made for static sites) indexes the written pages, one bundle per
kind of page, so that results come grouped — runs, projects, notes, models — and a rebuild from the
same input writes the same bytes (Pagefind's filters would not). ``assets/search.js`` asks
each bundle in the browser; nothing is sent anywhere.

Pagefind matches word prefixes and stems, not misspellings. For those, the build writes the
words of run names, tags, params, project names and models (``search/words.json``); when a word
finds nothing, the page searches again for the nearest word of that list.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import orjson

from xsite.config import SiteConfig
from xsite.hooks import hookimpl
from xsite.site.build import BuildReport
from xsite.site.model import SiteModel
from xsite.site.pages import DataFile
from xsite.site.write import WrittenSite

BUNDLES = {
    "runs": "runs/*/index.html",
    "projects": "projects/*/index.html",
    "notes": "notes/*/index.html",
    "models": "models/*/*/index.html",
}
"""Each kind of page and the pages of that kind, by glob; a bundle is at ``pagefind-<kind>/``."""
INDEX = "search/index.json"
"""The bundles there are (a page never asks for one that is not, which would log a 404)."""
WORDS = "search/words.json"
_WORD = re.compile(r"[^\W_]{3,}")
_UNUSED = re.compile(r"pagefind-(ui|modular-ui|component-ui|highlight)\.")
"""Pagefind's own search interfaces: the site has its own (``assets/search.js``)."""


@hookimpl
def xsite_pages(model: SiteModel) -> list[DataFile]:
    kinds = {
        "runs": bool(model.runs),
        "projects": bool(model.projects),
        "models": bool(model.registry.versions),
    }
    bundles = [kind for kind in BUNDLES if kinds.get(kind, bool(model.extensions.get(kind)))]
    return [
        DataFile(INDEX, orjson.dumps({"format": 1, "bundles": bundles})),
        DataFile(WORDS, orjson.dumps({"format": 1, "words": sorted(_words(model))})),
    ]


@hookimpl
def xsite_post_build(
    config: SiteConfig, site: WrittenSite, report: BuildReport
) -> Iterator[DataFile]:
    for kind, pattern in BUNDLES.items():
        pages = site.pages(pattern)
        if not pages:
            continue
        folder = f"pagefind-{kind}/"
        key = site.digest(pages)
        if site.keep(folder, key):
            continue  # the pages are as they were: so is their index
        try:
            bundle = _index(site.folder, pages, Path(config.cache_dir))
        except (OSError, subprocess.CalledProcessError) as error:
            detail = getattr(error, "stderr", None) or error
            report.warn(f"no search index for {kind}: pagefind failed: {detail}")
            continue
        for path, content in bundle:
            yield DataFile(folder + path, content, key=key)


def _index(site: Path, pages: list[str], cache_dir: Path) -> list[tuple[str, bytes]]:
    """Pagefind's bundle for ``pages`` (paths in ``site``), as (path, bytes) pairs.

    The site folder may still hold pages of runs that left the store (they are removed
    after this hook), so Pagefind reads a folder of links to this build's pages only.
    """
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="search-", dir=cache_dir) as work:
        pages_dir, bundle_dir = Path(work) / "site", Path(work) / "bundle"
        for page in pages:
            target = pages_dir / page
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(site / page, target)
            except OSError:  # another filesystem
                shutil.copyfile(site / page, target)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pagefind",
                "--site",
                str(pages_dir),
                "--output-path",
                str(bundle_dir),
                "--force-language",
                "en",
                "--silent",
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        return [
            (path.relative_to(bundle_dir).as_posix(), path.read_bytes())
            for path in sorted(bundle_dir.rglob("*"))
            if path.is_file() and not _UNUSED.match(path.name)
        ]


def _words(model: SiteModel) -> set[str]:
    """Words a search may misspell: of run names, tags, param keys and text values, metric
    keys, project names, and model names and text metadata (ids and numbers are left out: a
    typo there is no word)."""
    words: set[str] = set()
    for project in model.projects:
        words.update(_WORD.findall(project.name.lower()))
    for run in model.runs:
        texts = [v for v in orjson.loads(run.cells)["params"].values() if isinstance(v, str)]
        text = " ".join([run.name, *run.tags, *run.last, *run.param_kinds, *texts])
        words.update(_WORD.findall(text.lower()))
    for version in model.registry.versions:
        texts = [v for v in version.metadata.values() if isinstance(v, str)]
        words.update(_WORD.findall(" ".join([version.name, *texts]).lower()))
    return {word for word in words if not word.isdigit()}
