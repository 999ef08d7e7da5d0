"""``build()``: the one place where the stages meet.

    store ──gather──► model ──pages──► render (theme) ──write──► site/

Everything is gathered and every page made before the first byte is written.
"""

from __future__ import annotations

import gc
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pluggy import PluginManager

from xsite.config import SiteConfig
from xsite.errors import StoreError
from xsite.plugins import plugin_manager
from xsite.site import urls
from xsite.site.assets import asset_files
from xsite.site.cache import CacheEntry, RunCache, VersionCache
from xsite.site.data import site_data_files
from xsite.site.gather import gather
from xsite.site.links import find_broken_links
from xsite.site.model import RunRow, SiteModel, build_model
from xsite.site.pages import Page, make_pages, page_key
from xsite.site.redact import Redactor
from xsite.site.render import render
from xsite.site.select import RunSelector
from xsite.site.theme import Theme
from xsite.site.write import SiteWriter, WrittenSite
from xsite.store.reader import SkippedFile, StoreReader
from xsite.store.registry import read_registry
from xsite.version import __version__

Progress = Callable[[str, int, int | None], None]
"""``progress(stage, advance, total)``: called as work is done (``total`` once, first)."""


@dataclass
class BuildReport:
    out: Path
    runs: int = 0
    runs_read: int = 0
    pages: int = 0
    pages_rendered: int = 0
    files_written: int = 0
    files_unchanged: int = 0
    files_removed: int = 0
    bytes: int = 0
    seconds: float = 0.0
    skipped: list[SkippedFile] = field(default_factory=list)
    broken_links: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    """The site's paths this build wrote or removed (what a live preview reloads)."""
    warnings: list[str] = field(default_factory=list)
    """Problems in the input that the build worked around (a note with bad front matter,
    a reference to no run), each naming its file; ``xsite build --strict`` fails on them."""

    def warn(self, message: str) -> None:
        """Report a problem that leaves the rest of the site intact (for plugins)."""
        self.warnings.append(message)


def build(
    config: SiteConfig,
    *,
    progress: Progress | None = None,
    plugins: PluginManager | None = None,
) -> BuildReport:
    """Render the store at ``config.store`` into a static site at ``config.out``.

    ``plugins`` defaults to the built-in and installed ones (:func:`xsite.plugins.plugin_manager`).
    """
    # A build keeps objects for every run until it ends, and the cyclic garbage collector
    # would scan them all again each time new objects pile up: a sixth of a rebuild's time.
    # Reference counting still frees everything a build drops.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _build(config, progress, plugins or plugin_manager())
    finally:
        if collecting:
            gc.enable()


def _build(config: SiteConfig, progress: Progress | None, plugins: PluginManager) -> BuildReport:
    started = time.perf_counter()
    report_progress = progress or (lambda stage, advance, total: None)
    theme = Theme(config.theme, cache_dir=_made(config.cache_dir / "templates"))
    plugins.hook.xsite_jinja_env(env=theme.env, config=config)
    reader = StoreReader(config.store_location)
    writer = SiteWriter(Path(config.out), config.cache_dir / "manifest.json")
    redactor = Redactor.of_this_machine() if config.redact else None
    redacted = "-redacted" if redactor else ""
    cache = RunCache(config.cache_dir / f"runs-{config.chart_points}{redacted}")
    artifact_limit = config.artifact_limit_mb * 1024 * 1024
    design = page_key(
        __version__, theme.fingerprint(), config.title, config.base_url, artifact_limit, redacted
    )

    def series_key(signature: str) -> str:
        return page_key(config.chart_points, signature)

    def site_lacks_files_of(entry: CacheEntry) -> bool:
        """Whether the site lost a file of this run, or holds its series from other data."""
        run_id = entry.row.id
        return not (
            writer.has(urls.run_metrics(run_id), series_key(entry.signature))
            and writer.has(urls.run_data(run_id), entry.signature)
            and writer.holds(urls.run(run_id), *_published(entry.row, artifact_limit))
        )

    gathered = gather(
        reader,
        cache,
        chart_points=config.chart_points,
        needs_fresh=site_lacks_files_of,  # read again, to write its files again
        progress=lambda advance, total: report_progress("Reading runs", advance, total),
        redactor=redactor,
    )
    rows = gathered.rows
    if config.select:
        rows = list(RunSelector(tuple(rows)).select((config.select,), where="select"))
    report = BuildReport(out=writer.out, runs=len(rows), runs_read=len(gathered.fresh))
    version_cache = VersionCache(config.cache_dir / "models.pickle")
    registry = read_registry(reader.store, reader.report_skipped, version_cache.files)
    version_cache.save()
    if config.select:  # a site of some runs shows only the models those runs logged
        registry = registry.of_runs({row.id for row in rows})
    if redactor is not None:
        registry = redactor.registry(registry, lambda run_id: _system_of(reader, run_id))
    model = build_model(rows, config.project, registry)
    plugins.hook.xsite_model(model=model, config=config, report=report)
    pages = make_pages(model, config, design, gathered.signature, gathered.record)
    data_files = site_data_files(model, config)
    for made in plugins.hook.xsite_pages(model=model, config=config, report=report):
        for item in made or ():
            (pages if isinstance(item, Page) else data_files).append(item)
    nav = [link for links in plugins.hook.xsite_nav(model=model) for link in links or ()]
    pages = [_with_plugin_keys(page, plugins, model, nav) for page in pages]

    site = {
        "title": config.title,
        "version": __version__,
        "base_url": config.base_url,
        "artifact_limit": artifact_limit,
    }

    def add_context(page: Page, context: dict[str, Any]) -> None:
        context["nav"] = list(nav)
        plugins.hook.xsite_page_context(page=page, context=context, model=model)

    report.pages = len(pages)
    report_progress("Writing pages", 0, len(pages))
    rendered: list[Page] = []
    for page in pages:
        if page.key is not None and writer.has(page.path, page.key):
            writer.keep(page.path)
        else:
            writer.write(page.path, render(theme, page, site, add_context), key=page.key)
            rendered.append(page)
        report_progress("Writing pages", 1, None)
    for data_file in [*data_files, *asset_files(theme)]:
        writer.write(data_file.path, data_file.content)
    rendered_paths = {page.path for page in rendered}
    for run in model.runs:
        fresh = gathered.fresh.get(run.id)
        if fresh is None and urls.run_page(run.id) not in rendered_paths:
            writer.keep_folder(run.url)  # the run and its page are as the last build left them
            continue
        if fresh is not None:
            signature = gathered.signature(run.id)
            writer.write(urls.run_metrics(run.id), fresh.metrics_json, series_key(signature))
            writer.write(urls.run_data(run.id), fresh.run_json, signature)
        else:
            writer.keep(urls.run_metrics(run.id))
            writer.keep(urls.run_data(run.id))
        own = fresh.redactor if fresh is not None else redactor
        _copy_artifacts(reader, writer, run, fresh is not None, artifact_limit, own)
    report.pages_rendered = len(rendered)
    # A page kept from the last build was checked then, and shows only its own run's files.
    report.broken_links = find_broken_links(writer, rendered)
    written = WrittenSite(writer.out, frozenset(rendered_paths), writer)
    for made in plugins.hook.xsite_post_build(config=config, site=written, report=report):
        for data_file in made or ():
            writer.write(data_file.path, data_file.content, key=data_file.key)
    writer.finish()

    stats = writer.stats
    report.files_written, report.files_unchanged = stats.written, stats.unchanged
    report.files_removed, report.bytes = stats.removed, stats.bytes
    report.changed = stats.changed
    report.skipped = list(reader.skipped)
    report.seconds = time.perf_counter() - started
    return report


def _with_plugin_keys(
    page: Page, plugins: PluginManager, model: SiteModel, nav: list[tuple[str, str]]
) -> Page:
    """A keyed page whose key also covers what plugins add to it, and the site's nav."""
    if page.key is None:
        return page
    extra = [part for part in plugins.hook.xsite_page_key(page=page, model=model) if part]
    if nav:
        extra.append(nav)
    return replace(page, key=page_key(page.key, *extra)) if extra else page


def _published(run: RunRow, limit: int) -> list[str]:
    """The run's artifacts that the site holds (larger ones are listed, not published),
    by path from the run's folder."""
    return [artifact.site_path for artifact in run.artifacts if artifact.size <= limit]


def _system_of(reader: StoreReader, run_id: str) -> dict[str, Any]:
    """What a run captured of its machine, as the store has it (the build cache holds runs
    redacted, without it)."""
    try:
        system = reader.run_snapshot(run_id)["system"]
        return json.loads(system) if system else {}
    except (StoreError, OSError, ValueError):
        return {}


def _made(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _copy_artifacts(
    reader: StoreReader,
    writer: SiteWriter,
    run: RunRow,
    copy: bool,
    limit: int,
    redactor: Redactor | None,
) -> None:
    for artifact in run.artifacts:
        if artifact.size > limit:
            continue  # listed on the run page, not published
        path = urls.run(run.id) + artifact.site_path
        if not copy and writer.has(path):
            writer.keep(path)
            continue
        try:
            with reader.open_artifact(run.id, artifact.name) as stream:
                if redactor is not None and (artifact.kind == "text" or artifact.scriptable):
                    text = stream.read().decode("utf-8", errors="replace")
                    writer.write(path, redactor.text(text).encode())
                else:
                    writer.copy(path, stream, artifact.sha256, artifact.size)
        except OSError as exc:
            reader.report_unreadable_artifact(run.id, artifact.name, exc)
