"""Pages: every file of the site as an object, made before anything is rendered or written.

Gathering every page first (as MkDocs does) means every link target is known when the
first page is rendered, so links between runs, projects and the home page stay consistent.
"""

from __future__ import annotations

import hashlib
import shlex
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import PurePosixPath
from typing import Any
from xml.sax.saxutils import escape as xml_escape

import orjson

from xsite.artifacts import PREVIEW_BYTES
from xsite.config import SiteConfig
from xsite.model import Project, RunRecord, SiteModel

RECENT_RUNS = 20
DEFAULT_PARAM_COLUMNS = 8
DEFAULT_METRIC_COLUMNS = 6
RUN_COLUMNS = (
    ("name", "name", "string"),
    ("status", "status", "status"),
    ("tags", "tags", "tags"),
    ("started_at", "started", "date"),
    ("duration_s", "duration", "duration"),
)


@dataclass(frozen=True)
class Page:
    """An HTML page: ``template`` rendered with the context ``make_context()`` returns, to
    ``path`` (from the site root).

    ``key`` identifies everything the page shows; when it equals the key of the file already
    in the site, the page is not rendered again, and its context is never made.
    """

    path: str
    template: str
    make_context: Callable[[], dict[str, Any]]
    key: str | None = None

    root_url: str | None = None
    """An absolute root (``/repo/``) for a page served at any depth, like 404.html."""

    @property
    def root(self) -> str:
        """The path from this page to the site root: relative (``""`` at the top)."""
        return self.root_url if self.root_url is not None else "../" * self.path.count("/")


@dataclass(frozen=True)
class DataFile:
    """A file whose bytes are known without a template (JSON, text, copied artifacts)."""

    path: str
    content: bytes


def make_pages(
    model: SiteModel,
    config: SiteConfig,
    run_keys: dict[str, str],
    record: Callable[[str], RunRecord],
) -> list[Page]:
    """Every HTML page. ``run_keys`` maps run ids to a key of their data and the theme;
    ``record(run_id)`` gives the full record of a run whose page is rendered."""
    pages = [
        Page(
            "index.html",
            "home.html",
            lambda: {
                "projects": [_project_summary(p) for p in model.projects],
                "recent": model.runs[:RECENT_RUNS],
                "project_urls": {p.name: p.url for p in model.projects},
            },
        ),
        Page("404.html", "404.html", dict, root_url=_base_path(config.base_url)),
    ]
    for project in model.projects:
        pages.append(
            Page(
                f"{project.url}index.html",
                "project.html",
                partial(_project_context, project),
            )
        )
        for run in project.runs:
            pages.append(
                Page(
                    f"{run.url}index.html",
                    "run.html",
                    partial(_run_page_context, record, run.id, project),
                    key=run_keys.get(run.id),
                )
            )
    return pages


def make_data_files(model: SiteModel, config: SiteConfig) -> list[DataFile]:
    """The machine-readable twins of the pages, for scripts, tools and agents."""
    files = [
        DataFile("runs.json", _runs_json(model)),
        DataFile("llms.txt", _llms_txt(model, config).encode()),
        DataFile(".nojekyll", b""),
    ]
    for project in model.projects:
        files.append(DataFile(f"{project.url}runs.json", runs_table(project)))
    if config.base_url:
        files.append(DataFile("sitemap.xml", _sitemap(model, config.base_url).encode()))
    return files


def _project_context(project: Project) -> dict[str, Any]:
    return {"project": project, "summary": _project_summary(project)}


def _run_page_context(
    record: Callable[[str], RunRecord], run_id: str, project: Project
) -> dict[str, Any]:
    return run_page_context(record(run_id), project)


def run_page_context(run: RunRecord, project: Project) -> dict[str, Any]:
    git = run.system.get("git") or {}
    diff = next((a for a in run.artifacts if a.name == "git.diff"), None)
    return {
        "run": run,
        "project": project,
        "params_nested": param_tree(run.params),
        "git": git,
        "reproduce": reproduce_commands(run),
        "diff": run.previews.get("git.diff") if diff else None,
        "diff_artifact": diff,
        "preview_bytes": PREVIEW_BYTES,
        "chart_sources": [{"run": run.id, "label": run.name, "src": "metrics.json"}],
        "packages": run.system.get("packages") or [],
    }


def param_tree(params: dict[str, Any]) -> dict[str, Any]:
    """``{"optimizer.lr": 0.1}`` → ``{"optimizer": {"lr": 0.1}}`` for a nested view."""
    tree: dict[str, Any] = {}
    for key, value in params.items():
        node = tree
        *parents, leaf = key.split(".")
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):  # "a" and "a.b" both set: keep both, flat
                node = tree
                leaf = key
                break
            node = child
        node[leaf] = value
    return tree


def reproduce_commands(run: RunRecord) -> list[str]:
    """Shell lines that check out the code and rerun the command, as far as it was captured."""
    git = run.system.get("git") or {}
    command = run.system.get("command") or []
    lines = []
    if git.get("remote"):
        folder = PurePosixPath(git["remote"].rstrip("/")).name.removesuffix(".git") or "repo"
        lines.append(f"git clone {shlex.quote(git['remote'])} {shlex.quote(folder)}")
        lines.append(f"cd {shlex.quote(folder)}")
    if git.get("commit"):
        lines.append(f"git checkout {git['commit']}")
    if git.get("dirty") and "git.diff" in run.artifact_names:
        lines.append("git apply git.diff  # the uncommitted changes, from this page's artifacts")
    root, cwd = git.get("root"), run.system.get("cwd")
    if root and cwd and cwd != root and cwd.startswith(root.rstrip("/") + "/"):
        lines.append(f"cd {shlex.quote(cwd[len(root) :].lstrip('/'))}")
    if command:
        lines.append(shlex.join(["python", *command[1:]]))
    return lines


def runs_table(project: Project) -> bytes:
    """The runs table of a project, in the format ``runs-table.js`` reads: the columns, each
    with the ``path`` of its value in a row, and one row per run (:meth:`RunRecord.to_cells`).
    """
    metric_keys = sorted({key for run in project.runs for key in run.last})
    param_kinds: dict[str, set[str | None]] = {}
    for run in project.runs:
        for key, kind in run.param_kinds.items():
            param_kinds.setdefault(key, set()).add(kind)
    param_keys = sorted(param_kinds)
    columns = [
        {"id": cid, "label": label, "group": "run", "type": kind, "path": [cid]}
        for cid, label, kind in RUN_COLUMNS
    ]
    # Metrics before params: what a run achieved is what people scan a runs table for.
    for key in metric_keys:
        for index, (suffix, label) in enumerate(
            (("", key), (".min", f"{key} (min)"), (".max", f"{key} (max)"))
        ):
            columns.append(
                {
                    "id": f"metrics.{key}{suffix}",
                    "label": label,
                    "group": "metrics",
                    "type": "number",
                    "path": ["metrics", key, index],
                }
            )
    for key in param_keys:
        kinds = param_kinds[key] - {None}
        kind = kinds.pop() if len(kinds) == 1 else ("json" if kinds else "number")
        columns.append(
            {
                "id": f"params.{key}",
                "label": key,
                "group": "params",
                "type": kind,
                "path": ["params", key],
            }
        )
    visible = [cid for cid, _, _ in RUN_COLUMNS]
    visible += [
        f"params.{k}" for k in _default_keys(project.params, param_keys, DEFAULT_PARAM_COLUMNS)
    ]
    headline = [project.headline] if project.headline in metric_keys else []
    visible += [
        f"metrics.{k}"
        for k in _default_keys(
            project.metrics or tuple(headline), metric_keys, DEFAULT_METRIC_COLUMNS
        )
    ]
    head = {"format": 2, "project": project.name, "columns": columns, "visible": visible}
    # Each row was serialized when its run was read: join the bytes, don't parse them again.
    rows = b",".join(run.cells for run in project.runs)
    return orjson.dumps(head)[:-1] + b',"rows":[' + rows + b"]}\n"


def _base_path(base_url: str | None) -> str:
    """GitHub Pages serves 404.html for a missing path at any depth, so its links must be
    absolute: under the base URL's path when one is configured, else from the host root."""
    if not base_url:
        return "/"
    path = "/" + base_url.split("://", 1)[-1].partition("/")[2]
    return path if path.endswith("/") else path + "/"


def page_key(*parts: object) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(repr(part).encode())
        digest.update(b"\0")
    return digest.hexdigest()


def _project_summary(project: Project) -> dict[str, Any]:
    best = project.best_run
    return {
        "project": project,
        "runs": len(project.runs),
        "last_activity": project.last_activity,
        "best": best,
        "best_value": best.headline(project.headline) if best else None,
        "statuses": _count(run.status for run in project.runs),
    }


def _count(values: Iterable[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return dict(sorted(counts.items()))


def _default_keys(chosen: tuple[str, ...], available: list[str], limit: int) -> list[str]:
    if chosen:
        return [key for key in chosen if key in available]
    return available[:limit]


def _runs_json(model: SiteModel) -> bytes:
    """Every run's entry (:meth:`RunRecord.to_json`), serialized when the run was read."""
    return b'{"format":1,"runs":[' + b",".join(run.json for run in model.runs) + b"]}\n"


def _llms_txt(model: SiteModel, config: SiteConfig) -> str:
    lines = [
        f"# {config.title}",
        "",
        "> Machine-learning experiment runs published with xsite: params, metrics per step, "
        "git state, environment and artifacts of each run.",
        "",
        "## Data",
        "",
        "- [runs.json](runs.json): every run: id, project, name, status, times, tags, notes, "
        "params, metric summaries (last/min/max with steps), git, artifacts.",
        "- projects/<project>/runs.json: one project's runs table: columns, each with the "
        "path of its value in a row, and one row per run.",
        "- runs/<id>/metrics.json: a run's metric series for charts "
        "(step, value, seconds since start; long series downsampled, extremes kept).",
        "- runs/<id>/artifacts/<name>: the run's files; a file a browser could run as a page "
        "(HTML, SVG, XML) is at runs/<id>/artifacts-as-text/<name>.txt instead.",
        "",
        "## Projects",
        "",
    ]
    for project in model.projects:
        headline = (
            f", headline metric {project.headline} ({project.direction})"
            if (project.headline)
            else ""
        )
        lines.append(f"- [{project.name}]({project.url}): {len(project.runs)} runs{headline}")
    return "\n".join(lines) + "\n"


def _sitemap(model: SiteModel, base_url: str) -> str:
    base = base_url.rstrip("/") + "/"
    urls = [base] + [base + p.url for p in model.projects] + [base + r.url for r in model.runs]
    entries = "".join(f"  <url><loc>{xml_escape(url)}</loc></url>\n" for url in sorted(urls))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        f"{entries}</urlset>\n"
    )
