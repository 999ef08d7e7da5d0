"""First stage of a build: read the store into a :class:`~xsite.site.model.RunRow` and a
:class:`~xsite.site.model.RunRecord` per run, and each run's chart data.

Part files are immutable, so a run whose folder lists the same files (names, sizes, times)
as at the last build has the same contents: its row and record come from the build cache and
its files in the site are left as they are. Only new or changed runs are read.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from xsite.site.artifacts import (
    PREVIEW_BYTES,
    SVG_SUFFIXES,
    content_needed,
    is_scriptable,
    svg_data_uri,
)
from xsite.site.artifacts import suffix as artifact_suffix
from xsite.site.cache import CacheEntry, RunCache, signature_digest
from xsite.site.data import json_value, metrics_file, row_of, run_details
from xsite.site.model import Artifact, RunRecord, RunRow
from xsite.site.redact import Redactor
from xsite.site.series import json_number, keep_indices, summarize
from xsite.store.datasets import Dataset
from xsite.store.reader import RunFiles, StoreReader
from xsite.store.records import RECORD_NAME
from xsite.store.schema import safe_artifact_name
from xsite.store.values import decode_param

TABLE_ROWS = 200
"""Rows of a logged table shown on the run page (its file has them all)."""
TABLE_BYTES = 4 << 20
"""Logged tables larger than this are listed as artifacts, not shown."""


@dataclass(frozen=True)
class RunData:
    """A run read from the store this build: its record and its files' bytes."""

    record: RunRecord
    metrics_json: bytes
    run_json: bytes
    redactor: Redactor | None = None
    """What redacts its text artifacts, when the build redacts (knows the run's identities)."""


@dataclass(frozen=True)
class Gathered:
    """What the first stage hands on: a row of every run, full records on demand."""

    rows: list[RunRow]
    """Every readable run, newest first."""
    fresh: dict[str, RunData]
    """Runs read this build (new or changed since the cached build)."""
    entries: dict[str, CacheEntry]
    """Every readable run's cache entry, as saved for the next build."""

    def signature(self, run_id: str) -> str:
        return self.entries[run_id].signature

    def record(self, run_id: str) -> RunRecord:
        """The full record of a run, for its own page."""
        fresh = self.fresh.get(run_id)
        return fresh.record if fresh else pickle.loads(self.entries[run_id].record)


def gather(
    reader: StoreReader,
    cache: RunCache,
    *,
    chart_points: int,
    needs_fresh: Callable[[CacheEntry], bool] = lambda entry: False,
    progress: Callable[[int, int | None], None] = lambda advance, total: None,
    redactor: Redactor | None = None,
) -> Gathered:
    """Read every new or changed run; take the others from the cache.

    ``needs_fresh(entry)`` forces a read of a cached run (e.g. when the site lacks its files).
    A ``redactor`` cleans each run as it is read (the cache must then hold redacted runs).
    """
    stamps = reader.run_stamps()
    progress(0, len(stamps))

    def cached(run_id: str, stamp: int) -> CacheEntry | None:
        """The cached entry when the run is finished and its folder unchanged."""
        entry = cache.entries.get(run_id)
        if entry is None or entry.row.status == "running" or needs_fresh(entry):
            return None
        if stamp == entry.stamp:
            return entry
        if signature_digest(reader.list_run(run_id).signature) != entry.signature:
            return None
        return replace(entry, stamp=stamp)

    def read(run_id: str) -> RunData | None:
        files = reader.list_run(run_id)
        data = read_run(reader, files, chart_points, redactor)
        if data is not None:
            record = pickle.dumps(data.record, protocol=5)
            row = row_of(data.record)
            digest = signature_digest(files.signature)
            entries[run_id] = CacheEntry(stamps[run_id], digest, row, record)
        progress(1, None)
        return data

    entries: dict[str, CacheEntry] = {}
    to_read = []
    for run_id, stamp in stamps.items():
        entry = cached(run_id, stamp)
        if entry is None:
            to_read.append(run_id)
        else:
            entries[run_id] = entry
            progress(1, None)
    with ThreadPoolExecutor(4) as pool:
        fresh = {data.record.id: data for data in pool.map(read, to_read) if data is not None}
    cache.save(entries)
    rows = sorted(
        (entry.row for entry in entries.values()),
        key=lambda row: (row.started_at, row.id),
        reverse=True,
    )
    return Gathered(rows=rows, fresh=fresh, entries=entries)


def read_run(
    reader: StoreReader, files: RunFiles, chart_points: int, redactor: Redactor | None = None
) -> RunData | None:
    snapshot = reader.snapshot(files)
    if snapshot is None:
        return None  # nothing readable (the reader has reported why)
    run_id = files.run_id
    params: dict[str, Any] = {}
    for row in reader.read_run(files, "params").to_pylist():
        params[row["key"]] = decode_param(row["value"])
    artifacts: dict[str, Artifact] = {}
    previews: dict[str, str] = {}
    inline_images: dict[str, str] = {}
    tables: dict[str, dict[str, Any]] = {}
    for row in reader.read_run(files, "artifacts").to_pylist():
        try:
            name = safe_artifact_name(row["name"])
        except ValueError as exc:
            reader.report_skipped(f"{run_id}/artifacts/{row['name']}", str(exc))
            continue
        head = _head(reader, run_id, name, content_needed(name))
        artifact = artifacts[name] = Artifact(
            name=name, size=row["size"], sha256=row["sha256"], scriptable=is_scriptable(name, head)
        )
        if artifact.kind == "text":
            previews[name] = head[:PREVIEW_BYTES].decode("utf-8", errors="replace")
        if artifact_suffix(name) in SVG_SUFFIXES and (uri := svg_data_uri(head, artifact.size)):
            inline_images[name] = uri
        logged = RECORD_NAME.fullmatch(name)
        is_table = logged is not None and logged["kind"] == "tables"
        if is_table and artifact.size <= TABLE_BYTES and (table := _table(reader, run_id, name)):
            tables[name] = table
    summaries, series = _metric_series(reader.read_run(files, "metrics"), snapshot, chart_points)
    datasets = tuple(
        Dataset.from_row(row) for row in reader.read_run(files, "datasets").to_pylist()
    )
    end = snapshot["ended_at"] or snapshot["last_seen"]
    record = RunRecord(
        id=run_id,
        project=snapshot["project"],
        name=snapshot["name"],
        status=snapshot["status"],
        started_at=snapshot["started_at"],
        ended_at=snapshot["ended_at"],
        duration_s=(end - snapshot["started_at"]).total_seconds(),
        tags=tuple(snapshot["tags"]),
        notes=snapshot["notes"],
        params=dict(sorted(params.items())),
        metrics=summaries,
        system=json.loads(snapshot["system"]) if snapshot["system"] else {},
        artifacts=tuple(sorted(artifacts.values(), key=lambda a: a.name)),
        datasets=datasets,
        previews=previews,
        inline_images=inline_images,
        tables=tables,
    )
    if redactor is not None:
        redactor = redactor.for_run(record)
        record = redactor.record(record)
    return RunData(
        record=record,
        metrics_json=metrics_file(run_id, snapshot["started_at"], series),
        run_json=run_details(record),
        redactor=redactor,
    )


def _table(reader: StoreReader, run_id: str, name: str) -> dict[str, Any] | None:
    """A logged table's columns, first rows and row count, as the run page shows it."""
    try:
        with reader.open_artifact(run_id, name) as stream:
            table = pq.read_table(pa.BufferReader(stream.read()))
    except (OSError, pa.ArrowException) as exc:
        reader.report_skipped(f"{run_id}/artifacts/{name}", f"table not readable: {exc}")
        return None
    rows = table.slice(0, TABLE_ROWS).to_pylist()
    return {
        "columns": table.column_names,
        "rows": [[json_value(row[column]) for column in table.column_names] for row in rows],
        "total": table.num_rows,
    }


def _head(reader: StoreReader, run_id: str, name: str, size: int) -> bytes:
    """The first ``size`` bytes of an artifact (none when it cannot be read)."""
    if size == 0:
        return b""
    try:
        with reader.open_artifact(run_id, name) as stream:
            return stream.read(size)
    except OSError as exc:
        reader.report_unreadable_artifact(run_id, name, exc)
        return b""


def _metric_series(
    table: pa.Table, snapshot: dict[str, Any], chart_points: int
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    if table.num_rows == 0:
        return {}, {}
    encoded = table["key"].combine_chunks().dictionary_encode()
    codes = encoded.indices.to_numpy()
    names = encoded.dictionary.to_pylist()
    order = np.argsort(codes, kind="stable")  # grouped by key, logging order within a key
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    steps = table["step"].to_numpy()[order]
    values = table["value"].to_numpy()[order]
    started = np.datetime64(snapshot["started_at"].replace(tzinfo=None), "us")
    times = (table["time"].to_numpy().astype("datetime64[us]")[order] - started) / np.timedelta64(
        1, "s"
    )
    summaries: dict[str, Any] = {}
    series: dict[str, dict[str, Any]] = {}
    for group in np.split(np.arange(len(order)), bounds):
        key = names[codes[order[group[0]]]]
        key_steps, key_values = steps[group], values[group]
        summaries[key] = summarize(key_steps, key_values)
        keep = keep_indices(key_values, chart_points)
        drawn = key_values[keep]
        series[key] = {
            "step": key_steps[keep],
            "value": drawn if np.isfinite(drawn).all() else [json_number(v) for v in drawn],
            "time": np.round(times[group][keep], 3),
        }
    return dict(sorted(summaries.items())), series
