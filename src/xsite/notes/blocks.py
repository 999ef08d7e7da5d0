"""Fenced ``xsite-*`` blocks: run tables, metric charts and comparisons inside Markdown.

A block's body is YAML::

    ```xsite-table
    runs: project = "mnist" and status = "finished"
    columns: [name, params.lr, metrics.val/acc]
    sort: -metrics.val/acc
    ```

Blocks are drawn from the site's model, the same data as every other page, and link into
the site. Notes, run notes and the MkDocs plugin all render them with :func:`render_block`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any, ClassVar

import orjson
import yaml

from xsite.config import Direction, SiteConfig
from xsite.errors import XsiteError
from xsite.site import urls
from xsite.site.model import RunRow
from xsite.site.select import RunSelector
from xsite.site.theme import format_datetime, format_duration, format_number

KINDS = ("table", "chart", "compare")
MAX_TABLE_ROWS = 500
MAX_CHART_RUNS = 200
MAX_COMPARED_RUNS = 12
"""A comparison block shows this many runs side by side; its link opens all of them."""
_RUN_FIELDS = ("name", "id", "project", "status", "tags", "started_at", "ended_at", "duration_s")
_X_AXES = ("step", "relative", "wall")


class BlockError(XsiteError):
    """A block's body is not what its kind takes; the message says what to change."""


@dataclass(frozen=True)
class BlockData:
    """What blocks are drawn from: the runs (by their selector) and the site's settings."""

    selector: RunSelector
    config: SiteConfig

    @property
    def runs(self) -> tuple[RunRow, ...]:
        """Newest first."""
        return self.selector.runs

    @property
    def rows(self) -> dict[str, dict[str, Any]]:
        """Each run's :func:`~xsite.site.select.query_row`, by id."""
        return self.selector.rows

    def direction(self, run: RunRow, key: str) -> Direction:
        return self.config.project(run.project).direction_of(key)


def render_block(kind: str, source: str, data: BlockData, root: str) -> str:
    """The HTML of an ``xsite-<kind>`` block whose body is ``source``, for a page whose path
    to the site root is ``root`` (``"../../"``, or absolute like ``"/docs/experiments/"``).

    Raises :class:`BlockError` naming what is wrong.
    """
    if kind not in KINDS:
        raise BlockError(f"unknown block kind; known: {', '.join('xsite-' + k for k in KINDS)}")
    spec = _parse(source)
    render = {"table": _table, "chart": _chart, "compare": _compare}[kind]
    return render(_Spec(spec, kind), data, lambda target: urls.relative(root, target))


class _Spec:
    """A block's settings, checked key by key."""

    KNOWN: ClassVar[dict[str, set[str]]] = {
        "table": {"runs", "columns", "sort", "limit", "title"},
        "chart": {"metric", "metrics", "runs", "smoothing", "x", "log", "title", "limit"},
        "compare": {"runs", "metrics", "params", "title"},
    }

    def __init__(self, values: dict[str, Any], kind: str) -> None:
        unknown = set(values) - self.KNOWN[kind]
        if unknown:
            raise BlockError(
                f"unknown setting(s) {', '.join(sorted(unknown))}; "
                f"known: {', '.join(sorted(self.KNOWN[kind]))}"
            )
        self.values = values

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.values.get(key)
        if value is None:
            return ()
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            return (str(value),)
        if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
            return tuple(str(v) for v in value)
        raise BlockError(f"{key} must be a string or a list of strings, got {value!r}")

    def text(self, key: str) -> str | None:
        value = self.values.get(key)
        if value is not None and not isinstance(value, str):
            raise BlockError(f"{key} must be a string, got {value!r}")
        return value

    def number(self, key: str, low: float, high: float) -> float | None:
        value = self.values.get(key)
        if value is None:
            return None
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or not low <= value <= high:
            raise BlockError(f"{key} must be a number from {low:g} to {high:g}, got {value!r}")
        return value

    def runs(self, data: BlockData, required: bool = False) -> tuple[RunRow, ...]:
        picks = self.strings("runs")
        if not picks:
            if required:
                raise BlockError("runs is required: run ids, run names or a query")
            return data.runs
        try:
            return data.selector.select(picks, where="runs")
        except XsiteError as error:
            raise BlockError(str(error)) from error


def _parse(source: str) -> dict[str, Any]:
    try:
        values = yaml.safe_load(source) if source.strip() else {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1} of the block)" if mark else ""
        problem = getattr(error, "problem", None) or error
        raise BlockError(f"not valid YAML{where}: {problem}") from error
    if not isinstance(values, dict):
        raise BlockError("the body must be YAML settings (key: value lines)")
    return values


# ------------------------------------------------------------------------------ tables


def _table(spec: _Spec, data: BlockData, link: Callable[[str], str]) -> str:
    runs = spec.runs(data)
    columns = spec.strings("columns") or _default_columns(runs)
    for column in columns:
        _check_column(column)
    limit = int(spec.number("limit", 1, MAX_TABLE_ROWS) or 20)
    sort = spec.text("sort")
    if sort:
        key, descending = sort.removeprefix("-").removeprefix("+"), sort.startswith("-")
        _check_column(key)
        runs = _sorted(runs, data, key, descending)
    shown = runs[:limit]
    best = {
        column: _best(shown, data, column.removeprefix("metrics."))
        for column in columns
        if column.startswith("metrics.")
    }
    head = "".join(f'<th scope="col">{escape(column)}</th>' for column in columns)
    body = []
    for run in shown:
        row = data.rows[run.id]
        cells = []
        for column in columns:
            value = _value(row, column)
            classes = " xs-num" if isinstance(value, int | float) and column != "name" else ""
            if best.get(column) == run.id:
                classes += " xs-best"
            cells.append(f'<td class="{classes.strip()}">{_cell(run, column, value, link)}</td>')
        body.append(f"<tr>{''.join(cells)}</tr>")
    caption = _caption(spec.text("title"))
    count = (
        f"{len(shown)} of {len(runs)} runs"
        if len(runs) > len(shown)
        else f"{len(runs)} run{'s' * (len(runs) != 1)}"
    )
    empty = "" if runs else '<p class="xs-empty">No run matches.</p>'
    return (
        f'<figure class="xs-block xs-block-table"><div class="xs-table-wrap">'
        f'<table class="xs-table">{caption}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>{empty}"
        f'<figcaption class="xs-muted">{count}</figcaption></figure>'
    )


def _default_columns(runs: tuple[RunRow, ...]) -> tuple[str, ...]:
    metrics = sorted({key for run in runs for key in run.last})[:4]
    return ("name", "status", "started_at", *(f"metrics.{key}" for key in metrics))


def _check_column(column: str) -> None:
    if column in _RUN_FIELDS or column.startswith(("params.", "metrics.")):
        return
    raise BlockError(
        f"unknown column {column!r}: use {', '.join(_RUN_FIELDS)}, params.<key> or metrics.<key>"
    )


def _value(row: dict[str, Any], column: str) -> Any:
    for prefix in ("params.", "metrics."):
        if column.startswith(prefix):
            return row[prefix[:-1]].get(column.removeprefix(prefix))
    return row.get(column)


def _sorted(
    runs: tuple[RunRow, ...], data: BlockData, key: str, descending: bool
) -> tuple[RunRow, ...]:
    """Sorted by ``key``; runs without a value (or with NaN) last, either way."""

    def value(run: RunRow) -> Any:
        return _value(data.rows[run.id], key)

    present = [run for run in runs if _comparable(value(run))]
    missing = [run for run in runs if not _comparable(value(run))]
    kinds = {isinstance(value(run), str) for run in present}
    if len(kinds) > 1:  # numbers and strings: compare as text
        present.sort(key=lambda run: str(value(run)), reverse=descending)
    else:
        present.sort(key=value, reverse=descending)
    return (*present, *missing)


def _comparable(value: Any) -> bool:
    if isinstance(value, float):
        return value == value
    return isinstance(value, int | str)


def _best(runs: tuple[RunRow, ...], data: BlockData, key: str) -> str | None:
    scored = [
        (value, run)
        for run in runs
        if isinstance(value := run.last.get(key), int | float) and value == value
    ]
    if len(scored) < 2:
        return None
    direction = data.direction(scored[0][1], key)
    pick = max if direction == "max" else min
    return pick(scored, key=lambda pair: pair[0])[1].id


def _cell(run: RunRow, column: str, value: Any, link: Callable[[str], str]) -> str:
    if column == "name":
        return f'<a href="{escape(link(run.url))}"><bdi>{escape(run.name)}</bdi></a>'
    if value is None:
        return ""
    if column == "tags":
        return escape(", ".join(value))
    if column in ("started_at", "ended_at"):
        return escape(format_datetime(datetime.fromisoformat(value)))
    if column == "duration_s":
        return escape(format_duration(value))
    if isinstance(value, float | int) and not isinstance(value, bool):
        return f'<span title="{escape(repr(value))}">{escape(format_number(value))}</span>'
    if isinstance(value, str):
        return f"<bdi>{escape(value)}</bdi>"
    return escape(orjson.dumps(value).decode())


def _caption(title: str | None) -> str:
    return f"<caption>{escape(title)}</caption>" if title else ""


# ------------------------------------------------------------------------------ charts


def _chart(spec: _Spec, data: BlockData, link: Callable[[str], str]) -> str:
    metrics = spec.strings("metrics") or spec.strings("metric")
    if not metrics:
        raise BlockError("metric is required: the metric key to draw (or metrics: a list)")
    runs = [run for run in spec.runs(data) if any(key in run.last for key in metrics)]
    limit = int(spec.number("limit", 1, MAX_CHART_RUNS) or MAX_CHART_RUNS)
    settings: dict[str, Any] = {}
    smoothing = spec.number("smoothing", 0, 0.99)
    if smoothing is not None:
        settings["smoothing"] = smoothing
    x_axis = spec.text("x")
    if x_axis is not None:
        if x_axis not in _X_AXES:
            raise BlockError(f"x must be one of {', '.join(_X_AXES)}, got {x_axis!r}")
        settings["xaxis"] = x_axis
    log = spec.values.get("log")
    if log is not None:
        if not isinstance(log, bool):
            raise BlockError(f"log must be true or false, got {log!r}")
        settings["log"] = log
    sources = [
        {"run": run.id, "label": run.name, "src": link(urls.run_metrics(run.id))}
        for run in runs[:limit]
    ]
    figures = "".join(
        f'<figure class="xs-chart" data-key="{escape(key)}"><figcaption>{escape(key)}'
        f'</figcaption><div class="xs-chart-plot"></div></figure>'
        for key in metrics
    )
    title = spec.text("title")
    heading = f'<p class="xs-block-title">{escape(title)}</p>' if title else ""
    more = (
        f'<p class="xs-muted">The {limit} newest of {len(runs)} runs.</p>'
        if len(runs) > limit
        else ""
    )
    label = escape(title or ", ".join(metrics))
    if not runs:
        missing = escape(", ".join(metrics))
        return f'<div class="xs-block">{heading}<p class="xs-empty">No run has {missing}.</p></div>'
    return (
        f'<section class="xs-charts xs-block xs-block-chart" aria-label="{label}" '
        f'data-spec="{escape(link("assets/metric-chart.vl.json"))}" '
        f'data-sources="{_attribute(sources)}" data-settings="{_attribute(settings)}">'
        f'{heading}<div class="xs-chart-controls"></div>{figures}{more}</section>'
    )


def _attribute(value: Any) -> str:
    return escape(orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode())


# ------------------------------------------------------------------------- comparisons


def _compare(spec: _Spec, data: BlockData, link: Callable[[str], str]) -> str:
    runs = spec.runs(data, required=True)
    shown = runs[:MAX_COMPARED_RUNS]
    metrics = spec.strings("metrics") or tuple(sorted({k for run in shown for k in run.last}))
    rows = [data.rows[run.id] for run in shown]
    params = spec.strings("params") or tuple(_differing_params(rows))
    head = "".join(
        f'<th scope="col"><a href="{escape(link(run.url))}"><bdi>{escape(run.name)}</bdi></a></th>'
        for run in shown
    )
    body = [_compare_row("metrics." + key, key, shown, data, link) for key in metrics]
    body += [_compare_row("params." + key, key, shown, data, link) for key in params]
    title = spec.text("title")
    everything = link(urls.COMPARE) + "#runs=" + ",".join(run.id for run in runs)
    more = f"all {len(runs)} runs" if len(runs) > len(shown) else "the full comparison"
    return (
        f'<figure class="xs-block xs-block-compare"><div class="xs-table-wrap">'
        f'<table class="xs-table">{_caption(title)}<thead><tr><th scope="col"></th>{head}</tr>'
        f"</thead><tbody>{''.join(body)}</tbody></table></div>"
        f'<figcaption><a href="{escape(everything)}">Open {more}</a> · charts, params, '
        f"code and environment side by side</figcaption></figure>"
        if runs
        else '<p class="xs-empty xs-block">No run matches.</p>'
    )


def _compare_row(
    column: str, key: str, runs: tuple[RunRow, ...], data: BlockData, link: Callable[[str], str]
) -> str:
    best = _best(runs, data, key) if column.startswith("metrics.") else None
    cells = []
    for run in runs:
        value = _value(data.rows[run.id], column)
        marked = ' class="xs-num xs-best"' if best == run.id else ' class="xs-num"'
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        cells.append(f"<td{marked if numeric else ''}>{_cell(run, column, value, link)}</td>")
    return f'<tr><th scope="row">{escape(column)}</th>{"".join(cells)}</tr>'


def _differing_params(rows: list[dict[str, Any]]) -> Iterator[str]:
    keys = sorted({key for row in rows for key in row["params"]})
    for key in keys:
        values = {orjson.dumps(row["params"].get(key)) for row in rows}
        if len(values) > 1:
            yield key
