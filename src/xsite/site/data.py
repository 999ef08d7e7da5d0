"""Every machine-readable file of the site, each format with its version (documented in
docs/site.md and llms.txt): ``runs.json``, the project runs tables, each run's
``metrics.json`` and ``run.json``, ``llms.txt`` and ``sitemap.xml``.

The model holds no JSON; a run's entries are serialized here once, when it is read.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape as xml_escape

import orjson

from xsite.config import SiteConfig
from xsite.site import urls
from xsite.site.model import Project, RunRecord, RunRow, SiteModel
from xsite.site.pages import DataFile
from xsite.site.series import json_number

DEFAULT_PARAM_COLUMNS = 8
DEFAULT_METRIC_COLUMNS = 6
RUN_COLUMNS = (
    ("name", "name", "string"),
    ("status", "status", "status"),
    ("tags", "tags", "tags"),
    ("started_at", "started", "date"),
    ("duration_s", "duration", "duration"),
)


def row_of(record: RunRecord) -> RunRow:
    """The run's row, with its ``runs.json`` entry and runs-table row serialized."""
    return RunRow.of(
        record,
        json=orjson.dumps(run_entry(record), option=orjson.OPT_SORT_KEYS),
        cells=orjson.dumps(table_row(record), option=orjson.OPT_SORT_KEYS),
    )


def run_entry(run: RunRecord) -> dict[str, Any]:
    """The run as ``runs.json`` lists it, for scripts, tools and agents."""
    git = run.system.get("git") or {}
    return {
        "id": run.id,
        "url": run.url,
        "project": run.project,
        "name": run.name,
        "status": run.status,
        "started_at": run.started_at.isoformat(),
        "ended_at": run.ended_at.isoformat() if run.ended_at else None,
        "duration_s": run.duration_s,
        "tags": list(run.tags),
        "notes": run.notes,
        "params": {key: json_value(value) for key, value in run.params.items()},
        "metrics": {
            key: {
                "last": json_number(s.last),
                "last_step": s.last_step,
                "min": json_number(s.min),
                "min_step": s.min_step,
                "max": json_number(s.max),
                "max_step": s.max_step,
                "count": s.count,
            }
            for key, s in run.metrics.items()
        },
        "git": {key: value for key, value in git.items() if key != "untracked"},
        "artifacts": [
            {"name": a.name, "size": a.size, "sha256": a.sha256, "path": a.site_path}
            for a in run.artifacts
        ],
        "datasets": [
            {
                "name": d.name,
                "split": d.split,
                "fingerprint": d.fingerprint,
                "kind": d.kind,
                "rows": d.rows,
                "size": d.size,
                "shared_rows": d.overlaps,
            }
            for d in run.datasets
        ],
    }


def run_details(run: RunRecord) -> bytes:
    """``runs/<id>/run.json``: the ``runs.json`` entry plus the captured environment
    (packages, Python, OS, hardware, command), which comparisons set side by side."""
    body = {"format": 1, **run_entry(run), "system": run.system}
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS) + b"\n"


def table_row(run: RunRecord) -> dict[str, Any]:
    """The run as a row of its project's runs table: metrics as ``[last, min, max]``."""
    return {
        "id": run.id,
        "url": run.url,
        "name": run.name,
        "status": run.status,
        "tags": list(run.tags),
        "started_at": run.started_at.isoformat(),
        "ended_at": run.ended_at.isoformat() if run.ended_at else None,
        "duration_s": run.duration_s,
        "metrics": {
            key: [json_number(s.last), json_number(s.min), json_number(s.max)]
            for key, s in run.metrics.items()
        },
        "params": {key: json_value(value) for key, value in run.params.items()},
    }


def metrics_file(run_id: str, started_at: datetime, series: dict[str, Any]) -> bytes:
    """``runs/<id>/metrics.json``: per metric key, the drawn ``step``, ``value`` and
    ``time`` (seconds since the start) arrays."""
    body = {"format": 1, "run_id": run_id, "started_at": started_at.isoformat(), "series": series}
    return orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_SORT_KEYS)


def json_value(value: Any) -> Any:
    """A param value as JSON can hold it: non-finite floats as strings (like metrics), and
    integers beyond 64 bits as their digits (JSON readers would round them)."""
    if isinstance(value, float):
        return json_number(value)
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**64:
        return str(value)
    if isinstance(value, list):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {key: json_value(v) for key, v in value.items()}
    return value


def site_data_files(model: SiteModel, config: SiteConfig) -> list[DataFile]:
    """The machine-readable twins of the pages, for scripts, tools and agents."""
    files = [
        DataFile(urls.RUNS_JSON, _runs_json(model)),
        DataFile("llms.txt", _llms_txt(model, config).encode()),
        DataFile(".nojekyll", b""),
    ]
    for project in model.projects:
        files.append(DataFile(urls.project_table(project.slug), runs_table(project)))
    if config.base_url:
        files.append(DataFile("sitemap.xml", _sitemap(model, config.base_url).encode()))
    return files


def runs_table(project: Project) -> bytes:
    """The runs table of a project, in the format ``runs-table.js`` reads: the columns, each
    with the ``path`` of its value in a row, and one row per run (:func:`table_row`).
    """
    metric_keys = sorted({key for run in project.runs for key in run.last})
    param_kinds: dict[str, set[str | None]] = {}
    for run in project.runs:
        for key, kind in run.param_kinds.items():
            param_kinds.setdefault(key, set()).add(kind)
    param_keys = sorted(param_kinds)
    columns: list[dict[str, Any]] = [
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


def _runs_json(model: SiteModel) -> bytes:
    """Every run's entry (:func:`run_entry`), serialized when the run was read."""
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
        "- runs/<id>/run.json: a run's runs.json entry plus its captured environment "
        "(packages, Python, OS, hardware, command) under system.",
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


def _default_keys(chosen: tuple[str, ...], available: list[str], limit: int) -> list[str]:
    if chosen:
        return [key for key in chosen if key in available]
    return available[:limit]
