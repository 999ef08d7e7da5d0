"""Choosing runs by id, name or query: what comparisons, notes and embedded blocks share."""

from __future__ import annotations

from functools import cached_property
from typing import Any

import orjson

from xsite.errors import ConfigError
from xsite.query import QuerySyntaxError, parse
from xsite.site.model import RunRow, SiteModel


class RunSelector:
    """Picks runs by run id, run name or query. Each run's query fields are made once, and
    each pick is evaluated once: notes and comparisons often pick the same runs."""

    def __init__(self, runs: tuple[RunRow, ...]) -> None:
        self.runs = runs
        self._picked: dict[str, frozenset[str]] = {}

    @cached_property
    def rows(self) -> dict[str, dict[str, Any]]:
        """Each run's :func:`query_row`, by id."""
        return {run.id: query_row(run) for run in self.runs}

    @cached_property
    def _ids(self) -> frozenset[str]:
        return frozenset(run.id for run in self.runs)

    @cached_property
    def _by_name(self) -> dict[str, list[str]]:
        by_name: dict[str, list[str]] = {}
        for run in self.runs:
            by_name.setdefault(run.name, []).append(run.id)
        return by_name

    def select(self, picks: tuple[str, ...], where: str) -> tuple[RunRow, ...]:
        """The runs (newest first) that any of ``picks`` names: a run id, a run name or a
        query, evaluated on each run's :func:`query_row`. ``where`` starts the message of
        the :class:`~xsite.errors.ConfigError` a pick that is none of these raises."""
        chosen: set[str] = set()
        for pick in picks:
            chosen |= self._pick(pick, where)
        return tuple(run for run in self.runs if run.id in chosen)

    def _pick(self, pick: str, where: str) -> frozenset[str]:
        if pick not in self._picked:
            if pick in self._ids:
                found = frozenset([pick])
            elif pick in self._by_name:
                found = frozenset(self._by_name[pick])
            else:
                try:
                    query = parse(pick)
                except QuerySyntaxError as error:
                    raise ConfigError(
                        f"{where}: {pick!r} is no run id, run name or query: {error}"
                    ) from error
                found = frozenset(i for i, row in self.rows.items() if query.matches(row))
            self._picked[pick] = found
        return self._picked[pick]


def selector_of(model: SiteModel) -> RunSelector:
    """The model's selector, made once per build and shared by every plugin."""
    selector = model.extensions.get("select")
    if selector is None:
        selector = model.extensions["select"] = RunSelector(model.runs)
    return selector


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
