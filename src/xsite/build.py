"""``build()``: the one place where the stages meet.

    store ──gather──► model ──pages──► render (theme) ──write──► site/

Everything is gathered and every page made before the first byte is written.
"""

from __future__ import annotations

import gc
import hashlib
import importlib.metadata
import os
import posixpath
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import vl_convert

from xsite import charts
from xsite.config import SiteConfig
from xsite.gather import CacheEntry, RunCache, gather
from xsite.model import RunRow, build_model
from xsite.pages import DataFile, Page, make_data_files, make_pages, page_key
from xsite.render import render
from xsite.store.reader import SkippedFile, StoreReader
from xsite.theme import Theme
from xsite.version import __version__
from xsite.write import SiteWriter

VEGA_BUNDLE = "assets/vega.js"
CHART_SPEC = "assets/metric-chart.vl.json"

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


def build(config: SiteConfig, *, progress: Progress | None = None) -> BuildReport:
    """Render the store at ``config.store`` into a static site at ``config.out``."""
    # A build keeps objects for every run until it ends, and the cyclic garbage collector
    # would scan them all again each time new objects pile up: a sixth of a rebuild's time.
    # Reference counting still frees everything a build drops.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _build(config, progress)
    finally:
        if collecting:
            gc.enable()


def _build(config: SiteConfig, progress: Progress | None) -> BuildReport:
    started = time.perf_counter()
    report_progress = progress or (lambda stage, advance, total: None)
    theme = Theme(config.theme, cache_dir=_made(config.cache_dir / "templates"))
    reader = StoreReader(config.store)
    out = Path(config.out)
    writer = SiteWriter(out, config.cache_dir / "manifest.json")
    cache = RunCache(config.cache_dir / f"runs-{config.chart_points}")
    artifact_limit = config.artifact_limit_mb * 1024 * 1024
    design = page_key(
        __version__, theme.fingerprint(), config.title, config.base_url, artifact_limit
    )

    def metrics_key(signature: str) -> str:
        return page_key(config.chart_points, signature)

    def site_lacks_files_of(entry: CacheEntry) -> bool:
        """Whether the site lost a file of this run, or holds its series from other data."""
        published = [a.site_path for a in entry.row.artifacts if a.size <= artifact_limit]
        folder = entry.row.url
        return not (
            writer.has(f"{folder}metrics.json", metrics_key(entry.signature))
            and writer.holds(folder, *published)
        )

    gathered = gather(
        reader,
        cache,
        chart_points=config.chart_points,
        needs_fresh=site_lacks_files_of,  # read again, to write its files again
        progress=lambda advance, total: report_progress("Reading runs", advance, total),
    )
    model = build_model(gathered.rows, config.project)
    project_of = {run.id: project for project in model.projects for run in project.runs}
    run_keys = {
        run.id: page_key(
            design,
            project_of[run.id].slug,
            project_of[run.id].name,
            run.status,
            gathered.signature(run.id),
        )
        for run in model.runs
    }
    pages = make_pages(model, config, run_keys, gathered.record)
    data_files = make_data_files(model, config)

    site = {
        "title": config.title,
        "version": __version__,
        "base_url": config.base_url,
        "artifact_limit": artifact_limit,
    }
    report = BuildReport(out=writer.out, runs=len(model.runs), runs_read=len(gathered.fresh))
    report.pages = len(pages)
    report_progress("Writing pages", 0, len(pages))
    rendered: list[Page] = []
    for page in pages:
        if page.key is not None and writer.has(page.path, page.key):
            writer.keep(page.path)
        else:
            writer.write(page.path, render(theme, page, site), key=page.key)
            rendered.append(page)
        report_progress("Writing pages", 1, None)
    for data_file in [*data_files, *_asset_files(theme)]:
        writer.write(data_file.path, data_file.content)
    rendered_paths = {page.path for page in rendered}
    for run in model.runs:
        fresh = gathered.fresh.get(run.id)
        if fresh is None and f"{run.url}index.html" not in rendered_paths:
            writer.keep_folder(run.url)  # the run and its page are as the last build left them
            continue
        if fresh is not None:
            key = metrics_key(gathered.signature(run.id))
            writer.write(f"{run.url}metrics.json", fresh.metrics_json, key=key)
        else:
            writer.keep(f"{run.url}metrics.json")
        _copy_artifacts(reader, writer, run, copy=fresh is not None, limit=artifact_limit)
    report.pages_rendered = len(rendered)
    # A page kept from the last build was checked then, and shows only its own run's files.
    report.broken_links = find_broken_links(writer, rendered)
    writer.finish()

    stats = writer.stats
    report.files_written, report.files_unchanged = stats.written, stats.unchanged
    report.files_removed, report.bytes = stats.removed, stats.bytes
    report.skipped = list(reader.skipped)
    report.seconds = time.perf_counter() - started
    return report


def find_broken_links(writer: SiteWriter, pages: list[Page]) -> list[str]:
    """Relative links and sources in the pages that point at no file of the site."""
    broken = []
    link = re.compile(rb'(?:href|src|data-src|data-spec)="([^"]*)"')
    for page in pages:
        if page.root_url is not None:
            continue  # absolute links (404.html) depend on where the site is hosted
        html = writer.target(page.path).read_bytes()
        folder = posixpath.dirname(page.path)
        for raw in link.findall(html):
            url = raw.decode().split("#", 1)[0].split("?", 1)[0]
            if not url or ":" in url.split("/", 1)[0]:
                continue  # same-page anchor, or an absolute URL with a scheme
            target = posixpath.normpath(posixpath.join(folder, url))
            if url.endswith("/") or target == ".":
                target = posixpath.join("" if target == "." else target, "index.html")
            if target.startswith("../") or target not in writer.current:
                broken.append(f"{page.path}: {url}")
    return sorted(set(broken))


def _asset_files(theme: Theme) -> list[DataFile]:
    files = [
        DataFile(f"assets/{name}", path.read_bytes()) for name, path in theme.static_files().items()
    ]
    files.append(DataFile(CHART_SPEC, _chart_spec()))
    files.append(DataFile(VEGA_BUNDLE, _vega_bundle()))
    return files


def _vega_bundle() -> bytes:
    """The Vega, Vega-Lite and vega-embed JavaScript that vl-convert ships."""
    return _user_cached(
        f"vega-{vl_convert.__version__}.js",
        lambda: vl_convert.javascript_bundle().encode("utf-8"),
    )


def _chart_spec() -> bytes:
    """The metric chart's Vega-Lite spec, made with Altair, for this charts.py and Altair."""
    made_from = Path(charts.__file__).read_bytes() + importlib.metadata.version("altair").encode()
    return _user_cached(
        f"metric-chart-{hashlib.sha256(made_from).hexdigest()[:16]}.vl.json",
        lambda: orjson.dumps(charts.metric_chart_spec(), option=orjson.OPT_SORT_KEYS),
    )


def _user_cached(name: str, make: Callable[[], bytes]) -> bytes:
    """``make()``'s bytes, kept in the user's cache folder: the Vega bundle takes seconds to
    make, and importing Altair for the chart spec most of a second, on every build."""
    cache_home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    cached = cache_home / "xsite" / name
    try:
        return cached.read_bytes()
    except OSError:
        pass
    content = make()
    try:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(content)
        tmp.replace(cached)
    except OSError:
        pass  # a read-only home: build without the cache
    return content


def _made(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _copy_artifacts(
    reader: StoreReader, writer: SiteWriter, run: RunRow, copy: bool, limit: int
) -> None:
    for artifact in run.artifacts:
        if artifact.size > limit:
            continue  # listed on the run page, not published
        path = run.url + artifact.site_path
        if not copy and writer.has(path):
            writer.keep(path)
            continue
        try:
            with reader.open_artifact(run.id, artifact.name) as stream:
                writer.copy(path, stream, artifact.sha256, artifact.size)
        except OSError as exc:
            reader.report_unreadable_artifact(run.id, artifact.name, exc)
