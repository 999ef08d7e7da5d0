"""The store as pandas DataFrames: :func:`load_runs` and :func:`load_metrics`."""

from __future__ import annotations

import math
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from xsite.query import filter_runs, parse
from xsite.store.datasets import brief
from xsite.store.index import IndexedRun, read_index
from xsite.store.reader import DEFAULT_HEARTBEAT_TIMEOUT, StoreReader
from xsite.store.schema import SCHEMAS
from xsite.store.summary import RunSummary
from xsite.store.values import decode_param

if TYPE_CHECKING:
    import pandas as pd

_PARAM_COLUMNS = pa.schema([SCHEMAS["params"].field(c) for c in ("run_id", "key", "value")])
_METRIC_COLUMNS = pa.schema([SCHEMAS["metrics"].field(c) for c in ("run_id", "key", "value")])
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
    logged value of each metric); when runs logged datasets, ``datasets`` (``name/split``
    each) and ``leakage`` (the most rows two splits of a run share: 0 when none do). A run
    whose writer stopped sending heartbeats for ``heartbeat_timeout`` seconds without
    finishing shows as ``crashed``.

    An ended run is read from the store index (``xsite compact``) or its summary while
    those cover its files, else from its parts (docs/store-format.md, "Summaries"); a repeat
    call in one process reuses the ended runs whose folders did not change.
    """
    import pandas as pd  # slow to import, and `xsite build` never needs it

    parsed = parse(query) if query is not None else None  # a syntax error before any read
    reader = StoreReader(dir, heartbeat_timeout=heartbeat_timeout)
    entries = _entries(reader)
    if project is not None:
        entries = [entry for entry in entries if entry.row["project"] == project]
    frame = pd.DataFrame([entry.row for entry in entries], columns=RUN_COLUMNS)
    # Params keep their Python types (an int stays an int, a missing param is None), so
    # their columns are object columns; metric columns are float64 with NaN for missing.
    param_keys = sorted({key for entry in entries for key in entry.params})
    metric_keys = sorted({key for entry in entries for key in entry.last})
    extra = [
        pd.Series(
            [entry.params.get(key) for entry in entries],
            name=f"params.{key}",
            dtype=object,
            index=frame.index,
        )
        for key in param_keys
    ] + [
        pd.Series(
            [entry.last.get(key, math.nan) for entry in entries],
            name=f"metrics.{key}",
            dtype="float64",
            index=frame.index,
        )
        for key in metric_keys
    ]
    if any(entry.datasets for entry in entries):
        extra += _dataset_columns(entries, frame.index)
    if extra:
        frame = pd.concat([frame, *extra], axis=1)
    frame = frame.sort_values(["started_at", "run_id"], kind="stable", ignore_index=True)
    return frame if parsed is None else filter_runs(frame, parsed)


@dataclass(frozen=True)
class _Entry:
    row: dict[str, Any]
    params: dict[str, Any]
    last: dict[str, float]
    datasets: list[dict[str, Any]]


_ENDED: dict[str, dict[str, tuple[int, _Entry]]] = {}
"""Ended runs read by earlier calls in this process, by store: run id → (folder time, entry)."""


def _entries(reader: StoreReader) -> list[_Entry]:
    """Every run's entry. An ended run whose folder is as it was comes from this process's
    earlier calls, else from the store index (``xsite compact``), else from its files."""
    location = reader.store.location
    earlier = _ENDED.get(location, {})
    index: dict[str, IndexedRun] | None = None
    kept: dict[str, tuple[int, _Entry]] = {}
    entries = []
    for run_id, stamp in reader.run_stamps().items():
        entry = None
        if (known := earlier.get(run_id)) is not None and known[0] == stamp:
            entry = known[1]
        else:
            index = read_index(reader) if index is None else index
            if (row := index.get(run_id)) is not None and row.stamp == stamp:
                fields = {"run_id": run_id, **row.fields}
                entry = _Entry(fields, row.params, row.last, row.datasets)
        entry = entry or _run_entry(reader, run_id)
        if entry is None:
            continue
        entries.append(entry)
        if entry.row["ended_at"] is not None:
            kept[run_id] = (stamp, entry)
    _ENDED[location] = kept
    return entries


def _dataset_columns(entries: list[_Entry], index: pd.Index) -> list[pd.Series]:
    """``datasets``: each run's datasets (``name/split``); ``leakage``: the most rows two of
    its datasets of different splits share (0: none shared; missing: no datasets)."""
    import pandas as pd

    labels = [[d["label"] for d in entry.datasets] for entry in entries]
    leakage = [
        max((n for d in entry.datasets for n in d["overlaps"].values()), default=0)
        if entry.datasets
        else None
        for entry in entries
    ]
    return [
        pd.Series(labels, name="datasets", dtype=object, index=index),
        pd.Series(leakage, name="leakage", dtype="Int64", index=index),
    ]


def _summary_entry(run_id: str, summary: RunSummary) -> _Entry:
    record = {"run_id": run_id, **summary.record, "last_seen": summary.record["updated_at"]}
    last = {key: metric.last for key, metric in summary.metrics.items()}
    return _Entry(_row(record), summary.params, last, summary.datasets)


def _run_entry(reader: StoreReader, run_id: str) -> _Entry | None:
    """A run's row, params and last metric values: from its summary while that covers its
    parts (one small file), else from the parts."""
    files = reader.list_run(run_id)
    summary = reader.summary(files)
    if summary is not None:
        return _summary_entry(run_id, summary)
    record = reader.snapshot(files)
    if record is None:
        return None
    params = {}
    for row in reader.read_run(files, "params", _PARAM_COLUMNS).to_pylist():
        params[row["key"]] = decode_param(row["value"])
    metrics = last_metric_values(reader.read_run(files, "metrics", _METRIC_COLUMNS))
    datasets = [brief(row) for row in reader.read_run(files, "datasets").to_pylist()]
    return _Entry(_row(record), params, metrics.get(run_id, {}), datasets)


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


def _row(record: dict[str, Any]) -> dict[str, Any]:
    end = record["ended_at"] or record["last_seen"]
    return {
        **{column: record.get(column) for column in RUN_COLUMNS},
        "duration_s": (end - record["started_at"]).total_seconds(),
    }
