"""The extension points of a build, as pluggy hook specifications.

A plugin is a module (or object) with functions named after these hooks and marked with
:data:`hookimpl`; it takes only the arguments it needs. Built-in features (comparisons,
search) are plugins too, listed in :data:`xsite.plugins.DEFAULT_PLUGINS`; others are found
through the ``xsite`` entry-point group::

    # pyproject.toml of a plugin
    [project.entry-points.xsite]
    my_plugin = "my_package.xsite_plugin"

The hooks follow the build's stages: model → pages → render → write.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from jinja2 import Environment

    from xsite.config import SiteConfig
    from xsite.site.build import BuildReport
    from xsite.site.model import SiteModel
    from xsite.site.pages import DataFile, Page
    from xsite.site.write import WrittenSite

hookspec = pluggy.HookspecMarker("xsite")
hookimpl = pluggy.HookimplMarker("xsite")


@hookspec
def xsite_model(model: SiteModel, config: SiteConfig, report: BuildReport) -> None:
    """The model of every run and project is complete: add to it.

    Keep what the plugin adds in ``model.extensions[<plugin name>]``; later hooks of every
    plugin see it. Problems in a plugin's own input that leave the rest of the site intact
    go to ``report.warn(message)`` (``xsite build --strict`` fails on them).
    """


@hookspec
def xsite_pages(
    model: SiteModel, config: SiteConfig, report: BuildReport
) -> Iterable[Page | DataFile] | None:
    """Pages and data files of the plugin's own, made before any page is rendered (so every
    link target is known). Two files of one path are an error that names the path."""


@hookspec
def xsite_nav(model: SiteModel) -> Iterable[tuple[str, str]] | None:
    """Section links the plugin adds to every page's header, as ``(label, path)`` pairs
    (``("Notes", "notes/")``). They are part of every page's key: a page made before the
    section existed is made again."""


@hookspec
def xsite_page_key(page: Page, model: SiteModel) -> object | None:
    """Extra inputs of a keyed page's key (a page is rendered again only when its key
    changes): return whatever a plugin adds to a page it did not make, e.g. backlinks."""


@hookspec
def xsite_page_context(page: Page, context: dict[str, Any], model: SiteModel) -> None:
    """Add template variables to ``context`` just before ``page`` is rendered."""


@hookspec
def xsite_jinja_env(env: Environment, config: SiteConfig) -> None:
    """Add filters, globals or tests to the theme's Jinja environment."""


@hookspec
def xsite_post_build(
    config: SiteConfig, site: WrittenSite, report: BuildReport
) -> Iterable[DataFile] | None:
    """Every page and data file is in ``site.folder``: return files made from the written
    site (a search index). The writer adds them, keeps them when unchanged and removes
    them once no longer returned, like every other file of the site. When the pages a
    plugin's files are made from are as last time (``site.digest(site.pages(glob))``),
    ``site.keep(folder, key)`` carries over what it made then instead."""
