"""Rendering: a :class:`~xsite.pages.Page` and the theme make HTML bytes."""

from __future__ import annotations

from typing import Any

from xsite.pages import Page
from xsite.theme import Theme


def render(theme: Theme, page: Page, site: dict[str, Any]) -> bytes:
    template = theme.env.get_template(page.template)
    return template.render(page.make_context(), page=page, root=page.root, site=site).encode(
        "utf-8"
    )
