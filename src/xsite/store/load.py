"""The store as pandas DataFrames: :func:`load_runs` and :func:`load_metrics`."""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from xsite.query import filter_runs, parse
from xsite.store.reader import DEFAULT_HEARTBEAT_TIMEOUT, StoreReader
from xsite.store.values import decode_param

if TYPE_CHECKING:
    import pandas as pd

RUN_COLUMNS = [
    "run_id",
    "project",
    "name",
    "status",
    "started_at",
    "ended_at",
    "duration_s",
    "tags",
    "notes",
]


def load_runs(
    dir: str | os.PathLike[str] | None = None,
    *,
    project: str | None = None,
    query: str | None = None,
    heartbeat_timeout: float = DEFAULT_HEARTBEAT_TIMEOUT,
) -> pd.DataFrame:
    """One row per run, sorted by start time.

    ``query`` keeps the runs it matches, in the query language of the site's runs table
    (docs/query.md), e.g. ``'metrics.val/acc > 0.9 and tags contains "cnn"'``; a syntax
    error raises :class:`xsite.query.QuerySyntaxError` with its position.

    Columns: ``run_id, project, name, status, started_at, ended_at, duration_s, tags, notes``,
    then ``params.<key>`` (the latest value of each param) and ``metrics.<key>`` (the last
    logged value of each metric). A run whose writer stopped sending heartbeats for
    ``heartbeat_timeout`` seconds without finishing shows as ``crashed``.
    """
    import pandas as pd  # slow to import, and `xsite build` never needs it

    parsed = parse(query) if query is not None else None  # a syntax error before any read
    reader = StoreReader(dir, heartbeat_timeout=heartbeat_timeout)
    snapshots = reader.snapshots()
    if project is not None:
        snapshots = snapshots.filter(pc.equal(snapshots["project"], project))
    run_ids = snapshots["run_id"].to_pylist()
    rows = _run_rows(snapshots)
    frame = pd.DataFrame(rows, columns=RUN_COLUMNS)
    columns = ["run_id", "key", "value"]
    params = _latest_params(reader.read("params", run_ids, columns=columns))
    metrics = last_metric_values(reader.read("metrics", run_ids, columns=columns))
    # Params keep their Python types (an int stays an int, a missing param is None), so
    # their columns are object columns; metric columns are float64 with NaN for missing.
    param_keys = sorted({key for values in params.values() for key in values})
    metric_keys = sorted({key for values in metrics.values() for key in values})
    extra = [
        pd.Series(
            [params.get(run_id, {}).get(key) for run_id in run_ids],
            name=f"params.{key}",
            dtype=object,
            index=frame.index,
        )
        for key in param_keys
    ] + [
        pd.Series(
            [metrics.get(run_id, {}).get(key, math.nan) for run_id in run_ids],
            name=f"metrics.{key}",
            dtype="float64",
            index=frame.index,
        )
        for key in metric_keys
    ]
    if extra:
        frame = pd.concat([frame, *extra], axis=1)
    frame = frame.sort_values(["started_at", "run_id"], kind="stable", ignore_index=True)
    return frame if parsed is None else filter_runs(frame, parsed)


def load_metrics(
    run_ids: Iterable[str] | None = None,
    keys: Iterable[str] | None = None,
    *,
    dir: str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """Metric points as a long DataFrame: ``run_id, key, step, value, time``.

    Rows come run by run in the order they were logged. ``run_ids`` and ``keys`` narrow
    the read; reading fewer runs reads fewer files.
    """
    reader = StoreReader(dir)
    return reader.read("metrics", run_ids, keys=keys).to_pandas()


def last_metric_values(metrics: pa.Table) -> dict[str, dict[str, float]]:
    """``{run_id: {key: last logged value}}`` from rows in write order."""
    if metrics.num_rows == 0:
        return {}
    last = metrics.group_by(["run_id", "key"], use_threads=False).aggregate([("value", "last")])
    result: dict[str, dict[str, float]] = {}
    for run_id, key, value in zip(
        last["run_id"].to_pylist(),
        last["key"].to_pylist(),
        last["value_last"].to_pylist(),
        strict=True,
    ):
        result.setdefault(run_id, {})[key] = value
    return result


def _latest_params(params: pa.Table) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = {}
    for row in params.to_pylist():
        result.setdefault(row["run_id"], {})[row["key"]] = decode_param(row["value"])
    return result


def _run_rows(snapshots: pa.Table) -> list[dict[str, Any]]:
    rows = []
    for record in snapshots.to_pylist():
        end = record["ended_at"] or record["last_seen"]
        rows.append(
            {
                **{column: record.get(column) for column in RUN_COLUMNS},
                "duration_s": (end - record["started_at"]).total_seconds(),
            }
        )
    return rows
