"""Choosing runs by id, name or query: what comparisons, notes and embedded blocks share."""

from __future__ import annotations

from typing import Any

import orjson

from xsite.errors import ConfigError
from xsite.query import QuerySyntaxError, parse
from xsite.site.model import RunRow


def select_runs(runs: tuple[RunRow, ...], picks: tuple[str, ...], where: str) -> tuple[RunRow, ...]:
    """The runs (newest first) that any of ``picks`` names: a run id, a run name or a query.

    A query is evaluated on each run's :func:`query_row`. ``where`` starts the message of
    the :class:`~xsite.errors.ConfigError` a pick that is none of these raises.
    """
    chosen: set[str] = set()
    by_name: dict[str, list[str]] = {}
    for run in runs:
        by_name.setdefault(run.name, []).append(run.id)
    ids = {run.id for run in runs}
    rows: list[dict[str, Any]] | None = None
    for pick in picks:
        if pick in ids:
            chosen.add(pick)
        elif pick in by_name:
            chosen.update(by_name[pick])
        else:
            try:
                query = parse(pick)
            except QuerySyntaxError as error:
                raise ConfigError(
                    f"{where}: {pick!r} is no run id, run name or query: {error}"
                ) from error
            rows = rows if rows is not None else [query_row(run) for run in runs]
            chosen.update(row["id"] for row in rows if query.matches(row))
    return tuple(run for run in runs if run.id in chosen)


def query_row(run: RunRow) -> dict[str, Any]:
    """A run in the shape the query language reads (``docs/query.md``): name, status, tags,
    times, ``params`` by key and ``metrics`` by key (last values)."""
    cells = orjson.loads(run.cells)
    return {
        **cells,
        "project": run.project,
        "notes": None,
        "metrics": {key: values[0] for key, values in cells["metrics"].items()},
    }
