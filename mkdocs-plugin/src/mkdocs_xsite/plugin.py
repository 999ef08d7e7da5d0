"""The ``xsite`` MkDocs plugin: the experiments site inside the docs, and live run tables,
charts and comparisons in any page.

```yaml
plugins:
  - search
  - xsite:
      store: xsite-runs          # default: $XSITE_DIR or ./xsite-runs
      path: experiments/         # where the xsite site lands in the docs site
      nav_title: Experiments     # adds it to the nav; omit to leave the nav alone
```

It implements MkDocs' events with xsite's public API only:

- ``on_pre_build``: ``xsite.build()`` into a staging folder beside ``mkdocs.yml``
  (incremental, like ``xsite build``), keeping the model for the blocks;
- ``on_page_markdown``: fenced ``xsite-table``, ``xsite-chart`` and ``xsite-compare``
  blocks become HTML, drawn by xsite's own block renderer;
- ``on_post_build``: the staged site is copied to ``path`` in ``site_dir``;
- ``on_serve``: ``mkdocs serve`` also watches the store and the notes.
"""

from __future__ import annotations

import re
import shutil
from html import escape
from importlib import resources
from pathlib import Path
from typing import Any

from mkdocs.config import base
from mkdocs.config import config_options as c
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.livereload import LiveReloadServer
from mkdocs.plugins import BasePlugin, get_plugin_logger
from mkdocs.structure.files import File, Files
from mkdocs.structure.nav import Link, Navigation
from mkdocs.structure.pages import Page
from mkdocs.utils import get_relative_url

import xsite
from xsite.notes.blocks import BlockData, BlockError, render_block
from xsite.site.select import selector_of

log = get_plugin_logger(__name__)

ASSETS = "assets/xsite/"
"""Where the plugin's own script and style sheet go in the docs site (once per site)."""
_FENCE = re.compile(
    r"^(?P<indent>[ ]{0,3})(?P<fence>`{3,}|~{3,})[ ]*xsite-(?P<kind>[\w-]+)[^\n]*\n"
    r"(?P<body>.*?)"
    r"^(?P=indent)(?P=fence)[ ]*$",
    re.MULTILINE | re.DOTALL,
)


class XsitePluginConfig(base.Config):
    store = c.Optional(c.Type(str))
    """The run store: a folder (relative to mkdocs.yml) or an s3:// URI."""
    path = c.Type(str, default="experiments/")
    """Where the experiments site lands in the docs site."""
    nav_title = c.Optional(c.Type(str))
    """A nav entry for the experiments site; none when omitted."""
    config = c.Optional(c.Type(str))
    """An xsite.toml for the site's settings (projects, comparisons, notes…)."""
    notes = c.Optional(c.Type(str))
    """A folder of xsite notes (relative to mkdocs.yml)."""
    cache_dir = c.Type(str, default=".xsite-cache")
    """Where the experiments site is staged between builds (relative to mkdocs.yml)."""


class _ModelCapture:
    """An xsite plugin that keeps the model of the build, for the blocks."""

    def __init__(self) -> None:
        self.model: Any = None

    @xsite.hookimpl(trylast=True)
    def xsite_model(self, model: Any) -> None:
        self.model = model


class XsitePlugin(BasePlugin[XsitePluginConfig]):
    def __init__(self) -> None:
        self.site_config: xsite.SiteConfig | None = None
        self.data: BlockData | None = None
        self.problem: str | None = None

    # ------------------------------------------------------------------ configuration

    def on_config(self, config: MkDocsConfig) -> MkDocsConfig:
        here = Path(config.config_file_path or ".").resolve().parent
        path = self.config.path.strip("/") + "/"
        if path in ("/", "./") or ".." in path.split("/"):
            raise ValueError(f"xsite: path must be a folder inside the site, got {path!r}")
        self.path = path
        self.root = here
        staging = here / self.config.cache_dir / "site"
        site_url = config.site_url or None
        overrides: dict[str, Any] = {
            "out": str(staging),
            "store": _resolved(self.config.store, here),
            "notes": _resolved(self.config.notes, here),
            "base_url": (site_url.rstrip("/") + "/" + path) if site_url else None,
        }
        xsite_toml = _resolved(self.config.config, here)
        self.site_config = xsite.load_config(xsite_toml, **overrides)
        config.extra_css.append(ASSETS + "xsite-mkdocs.css")
        config.extra_javascript.append(ASSETS + "xsite-mkdocs.js")
        return config

    def on_files(self, files: Files, config: MkDocsConfig) -> Files:
        for name in ("xsite-mkdocs.css", "xsite-mkdocs.js"):
            content = resources.files("mkdocs_xsite").joinpath("assets", name).read_bytes()
            files.append(File.generated(config, ASSETS + name, content=content))
        return files

    def on_nav(self, nav: Navigation, config: MkDocsConfig, files: Files) -> Navigation:
        if self.config.nav_title:
            nav.items.append(Link(self.config.nav_title, self.path))
        return nav

    # ------------------------------------------------------------------------ building

    def on_pre_build(self, config: MkDocsConfig) -> None:
        """Build (or update) the experiments site, and keep its model for the blocks."""
        assert self.site_config is not None
        capture = _ModelCapture()
        self.data, self.problem = None, None
        try:
            report = xsite.build(self.site_config, plugins=xsite.plugin_manager(capture))
        except xsite.XsiteError as error:
            self.problem = f"the experiments site was not built: {error}"
            log.warning(self.problem)
            return
        for warning in report.warnings:
            log.warning(warning)
        for skipped in report.skipped:
            log.warning(f"skipped {skipped}")
        self.data = BlockData(selector_of(capture.model), self.site_config)
        log.info(f"experiments site: {report.runs} runs, {report.pages_rendered} pages rendered")

    def on_page_markdown(
        self, markdown: str, page: Page, config: MkDocsConfig, files: Files
    ) -> str:
        """Fenced xsite blocks as HTML, linking into the experiments site."""
        root = get_relative_url(self.path, page.url or ".")
        root = "" if root in (".", "./") else root.rstrip("/") + "/"

        def block(match: re.Match[str]) -> str:
            kind = match.group("kind")
            line = markdown.count("\n", 0, match.start()) + 1
            where = f"{page.file.src_uri}, line {line}: xsite-{kind} block"
            if self.data is None:
                message = self.problem or "the experiments site was not built"
                log.warning(f"{where}: {message}")
                return _embed(f'<p class="xs-block-error">{escape(message)}</p>', match)
            try:
                html = render_block(kind, match.group("body"), self.data, root)
            except BlockError as error:
                message = f"{where}: {error}"
                log.warning(message)
                return _embed(f'<p class="xs-block-error">{escape(message)}</p>', match)
            return _embed(html, match)

        return _FENCE.sub(block, markdown)

    def on_post_build(self, config: MkDocsConfig) -> None:
        if self.site_config is None or not Path(self.site_config.out).is_dir():
            return
        target = Path(config.site_dir) / self.path
        shutil.copytree(self.site_config.out, target, dirs_exist_ok=True)

    def on_serve(
        self, server: LiveReloadServer, config: MkDocsConfig, builder: Any
    ) -> LiveReloadServer:
        assert self.site_config is not None
        for path in (self.site_config.store, self.site_config.notes, self.site_config.theme):
            if path and "://" not in path and Path(path).exists():
                server.watch(path)
        return server


def _embed(html: str, match: re.Match[str]) -> str:
    """The block as a raw HTML block of Markdown: on lines of its own, at the fence's
    indentation, in one element the theme styles (xsite-mkdocs.css)."""
    indent = match.group("indent")
    return f'\n{indent}<div class="xsite-embed">{html}</div>\n'


def _resolved(value: str | None, here: Path) -> str | None:
    if value is None or "://" in value:
        return value
    return str((here / value).resolve())
