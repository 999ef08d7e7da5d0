"""Rendering: a :class:`~xsite.site.pages.Page` and the theme make HTML bytes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from xsite.site.pages import Page
from xsite.site.theme import Theme


def render(
    theme: Theme,
    page: Page,
    site: dict[str, Any],
    add_context: Callable[[Page, dict[str, Any]], None] = lambda page, context: None,
) -> bytes:
    """``page`` as HTML; ``add_context`` adds plugins' template variables."""
    context = page.make_context()
    add_context(page, context)
    template = theme.env.get_template(page.template)
    return template.render(context, page=page, root=page.root, site=site).encode("utf-8")
