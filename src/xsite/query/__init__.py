"""Filtering runs with one small query language, in Python and in the browser.

>>> from xsite.query import parse
>>> query = parse('metrics.val/acc > 0.9 and params.optimizer.name = "adam"')
>>> query.matches({"id": "a1", "metrics": {"val/acc": 0.93}, "params": {"optimizer.name": "adam"}})
True

The language is described in ``docs/query.md``; ``parse.py`` has its grammar and
``evaluate.py`` its semantics. ``themes/default/static/query.js`` is the browser's twin, and
``cases.json`` (shipped in this package) is the table of cases both are tested against.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import TYPE_CHECKING, Any

from xsite.query.evaluate import Getter, Predicate, Row, compile_predicate, default_get
from xsite.query.parse import Expr, Field, QuerySyntaxError, parse_expr

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "Field",
    "Getter",
    "Query",
    "QuerySyntaxError",
    "default_get",
    "filter_runs",
    "frame_rows",
    "parse",
]


class Query:
    """A parsed query. ``expr`` is its syntax tree (None for the empty query)."""

    def __init__(self, text: str, expr: Expr | None) -> None:
        self.text = text
        self.expr = expr
        self._default: Predicate | None = None

    def predicate(self, get: Getter | None = None) -> Predicate:
        """A compiled ``row -> bool``; ``get(row, field)`` reads rows of another shape."""
        return compile_predicate(self.expr, get or default_get)

    def matches(self, row: Row, get: Getter | None = None) -> bool:
        if get is not None:
            return self.predicate(get)(row)
        if self._default is None:
            self._default = self.predicate()
        return self._default(row)

    def __repr__(self) -> str:
        return f"parse({self.text!r})"


def parse(text: str) -> Query:
    """Parse ``text``; raises :class:`QuerySyntaxError` with the position of the problem."""
    return Query(text, parse_expr(text))


def filter_runs(frame: pd.DataFrame, query: str | Query) -> pd.DataFrame:
    """The rows of ``frame`` (shaped like ``xsite.load_runs()``) that ``query`` matches, in
    order, with a fresh index.

    Such a frame has NaN both for a metric a run never logged and for one whose last value
    is NaN, so both count as missing here: ``metrics.x = null`` matches them both, while on
    the site's rows it matches only the first.
    """
    if isinstance(query, str):
        query = parse(query)
    predicate = query.predicate()
    mask = [predicate(row) for row in frame_rows(frame)]
    return frame[mask].reset_index(drop=True) if len(frame) else frame.copy()


def frame_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of a ``load_runs()`` frame in the canonical shape queries read."""
    params = [(c, c[len("params.") :]) for c in frame.columns if c.startswith("params.")]
    metrics = [(c, c[len("metrics.") :]) for c in frame.columns if c.startswith("metrics.")]
    rows = []
    for record in frame.to_dict("records"):
        tags = record.get("tags")
        rows.append(
            {
                "id": _text(record.get("run_id")),
                "name": _text(record.get("name")),
                "project": _text(record.get("project")),
                "status": _text(record.get("status")),
                "tags": [] if _missing(tags) else [str(t) for t in tags],
                "notes": _text(record.get("notes")),
                "started_at": _iso(record.get("started_at")),
                "ended_at": _iso(record.get("ended_at")),
                "duration_s": _number(record.get("duration_s")),
                "params": {k: v for c, k in params if (v := record[c]) is not None},
                "metrics": {k: v for c, k in metrics if (v := _number(record[c])) is not None},
            }
        )
    return rows


def _missing(value: Any) -> bool:
    # pandas stores a missing value of an object column as None or NaN, as it pleases.
    return value is None or (isinstance(value, float) and math.isnan(value))


def _text(value: Any) -> str | None:
    return None if _missing(value) else str(value)


def _iso(value: Any) -> str | None:
    # load_runs gives pandas Timestamps (NaT for a run still going); the site writes
    # datetime.isoformat(), which is what string comparisons must see.
    if value is None or value != value:  # NaT, like NaN, is not equal to itself
        return None
    if isinstance(value, datetime):
        plain: datetime = getattr(value, "to_pydatetime", lambda: value)()
        return plain.isoformat()
    return str(value)


def _number(value: Any) -> float | None:
    return None if _missing(value) else float(value)
