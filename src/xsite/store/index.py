"""The store index: every ended run's summary in one Parquet file, written by
``xsite compact``, so a reader of a large store opens one file instead of one per run.

``index/runs-<time>.parquet`` holds one row per ended run: the run's summary
(:mod:`xsite.store.summary`) in columns, and ``stamp``, the run folder's stamp when the row
was made (:meth:`~xsite.store.reader.StoreReader.run_stamps`: the folder's modification time
on a disk, a digest of its listing on object storage). Either changes whenever a file is
added, replaced or removed, so a reader uses a row only while the run's stamp is still
``stamp``, and reads every other run (new, resumed, still running) from its own files.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from time import time_ns
from typing import Any, Final, cast

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from xsite.store.reader import StoreReader
from xsite.store.schema import TIMESTAMP
from xsite.store.summary import RunSummary, encode_metrics
from xsite.store.values import decode_param, encode_param

INDEX_DIR: Final = "index"
INDEX_SCHEMA: Final = pa.schema(
    [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("stamp", pa.int64(), nullable=False),
        pa.field("project", pa.string()),
        pa.field("name", pa.string()),
        pa.field("status", pa.string()),
        pa.field("started_at", TIMESTAMP),
        pa.field("ended_at", TIMESTAMP),
        pa.field("updated_at", TIMESTAMP),
        pa.field("tags", pa.list_(pa.string())),
        pa.field("notes", pa.string()),
        pa.field("system", pa.string()),
        pa.field("params", pa.string()),  # JSON object: key → value (NaN, Infinity as tokens)
        pa.field("last", pa.string()),  # JSON object: metric key → last value
        pa.field("metrics", pa.string()),  # JSON: key → [last, min, max, last step, count]
        pa.field("datasets", pa.string()),  # JSON: the datasets in brief, as in a summary
    ]
)
_FIELDS: Final = (
    "project", "name", "status", "started_at", "ended_at", "duration_s", "tags", "notes"
)  # fmt: skip
"""What ``load_runs`` takes of a row (``duration_s`` is computed from the times)."""
_KEEP: Final = 2
"""Index files kept: the newest, and one a reader may still be opening."""


@dataclass(frozen=True)
class IndexedRun:
    """A run as the index gives it to ``load_runs``: its runs-table fields, params and last
    metric values (the metric ranges stay in the file)."""

    stamp: int
    fields: dict[str, Any]
    """``project, name, status, started_at, ended_at, duration_s, tags, notes``."""
    params: dict[str, Any]
    last: dict[str, float]
    datasets: list[dict[str, Any]]


def write_index(reader: StoreReader, summaries: dict[str, tuple[int, RunSummary]]) -> str:
    """Write ``summaries`` (run id → (folder stamp, summary)) as the store's index; remove
    older indexes but one. Returns the new file's path."""
    store = reader.store
    rows = []
    for run_id, (stamp, summary) in sorted(summaries.items()):
        rows.append(
            {
                "run_id": run_id,
                "stamp": stamp,
                **summary.record,
                "params": encode_param(summary.params),
                "last": encode_param({k: m.last for k, m in summary.metrics.items()}),
                "metrics": json.dumps(encode_metrics(summary.metrics), allow_nan=False),
                "datasets": json.dumps(summary.datasets),
            }
        )
    folder = store.path(INDEX_DIR)
    store.make_dirs(folder)
    path = store.path(INDEX_DIR, f"runs-{time_ns():020d}.parquet")
    store.write_table(path, pa.Table.from_pylist(rows, schema=INDEX_SCHEMA), durable=False)
    for old in _index_files(reader)[:-_KEEP]:
        store.delete(old)
    return path


def read_index(reader: StoreReader) -> dict[str, IndexedRun]:
    """The newest index, by run id; empty when there is none or it cannot be read."""
    files = _index_files(reader)
    if not files:
        return {}
    columns = ["run_id", "stamp", *_FIELDS, "params", "last", "datasets"]
    columns.remove("duration_s")
    try:
        with reader.store.open_input_file(files[-1]) as source:
            file = pq.ParquetFile(source)
            if "datasets" not in file.schema_arrow.names:  # written before datasets were
                columns.remove("datasets")
            table = file.read(columns=columns).cast(
                pa.schema([INDEX_SCHEMA.field(name) for name in columns])
            )
    except FileNotFoundError:
        return {}  # replaced by a newer one meanwhile: the runs' own files serve
    except (pa.ArrowException, OSError, ValueError) as exc:
        reader.report_skipped(files[-1], f"unreadable store index ({type(exc).__name__}: {exc})")
        return {}
    # Python datetimes cost 8 µs each through pyarrow, pandas Timestamps a tenth of that.
    data = {
        name: (
            table[name].to_pandas().tolist()
            if pa.types.is_timestamp(table[name].type)
            else table[name].to_pylist()
        )
        for name in table.column_names
    }
    elapsed = pc.subtract(table["ended_at"], table["started_at"]).cast(pa.int64())
    data["duration_s"] = pc.divide(elapsed.cast(pa.float64()), 1e6).to_pylist()
    # One parse per column rather than per row: 10,000 small parses cost more than one.
    params, last = (
        cast("list[dict[str, Any]]", decode_param("[" + ",".join(data[key]) + "]"))
        for key in ("params", "last")
    )
    datasets = (
        json.loads("[" + ",".join(data["datasets"]) + "]")
        if "datasets" in data
        else [[] for _ in data["run_id"]]
    )
    rows = zip(*(data[name] for name in _FIELDS), strict=True)
    return {
        run_id: IndexedRun(
            stamp, dict(zip(_FIELDS, row, strict=True)), run_params, run_last, run_datasets
        )
        for run_id, stamp, row, run_params, run_last, run_datasets in zip(
            data["run_id"], data["stamp"], rows, params, last, datasets, strict=True
        )
    }


def _index_files(reader: StoreReader) -> list[str]:
    store = reader.store
    infos = store.list_files(store.path(INDEX_DIR), recursive=False)
    return sorted(
        info.path
        for info in infos
        if info.base_name.startswith("runs-") and info.base_name.endswith(".parquet")
    )
