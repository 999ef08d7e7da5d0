"""First stage of a build: read the store into :class:`~xsite.model.RunRecord` objects and
each run's chart data.

Part files are immutable, so a run whose folder lists the same files (names, sizes, times)
as at the last build has the same contents: its record comes from the build cache and its
files in the site are left as they are. Only new or changed runs are read.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa

from xsite.model import PREVIEW_BYTES, Artifact, RunRecord
from xsite.series import json_number, keep_indices, summarize
from xsite.store.reader import RunFiles, StoreReader
from xsite.store.schema import artifact_parts
from xsite.store.values import decode_param
from xsite.store.writer import safe_artifact_name

_CACHE_FORMAT = 3


@dataclass(frozen=True)
class RunData:
    """A run read from the store this build: its record and its ``metrics.json`` bytes."""

    record: RunRecord
    metrics_json: bytes


@dataclass(frozen=True)
class Gathered:
    records: list[RunRecord]
    """Every readable run, newest first."""
    fresh: dict[str, RunData]
    """Runs read this build (new or changed since the cached build)."""
    signatures: dict[str, tuple[tuple[str, int, int], ...]]
    """What each run's folder holds: equal signatures, equal data."""


@dataclass(frozen=True)
class CacheEntry:
    stamp: int | None
    """The run folder's modification time, where the filesystem has one."""
    signature: tuple[tuple[str, int, int], ...]
    record: RunRecord


class RunCache:
    """Records of finished runs from the previous build, keyed by what their folder holds."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[str, CacheEntry] = {}
        try:
            with path.open("rb") as file:
                stored = pickle.load(file)
            if stored.get("format") == _CACHE_FORMAT:
                self.entries = stored["runs"]
        except (OSError, EOFError, pickle.UnpicklingError, AttributeError, KeyError, TypeError):
            self.entries = {}  # no cache, or one from another version: a full build

    def save(self, entries: dict[str, CacheEntry]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        with tmp.open("wb") as file:
            pickle.dump({"format": _CACHE_FORMAT, "runs": entries}, file, protocol=5)
        tmp.replace(self.path)


def gather(
    reader: StoreReader,
    cache: RunCache,
    *,
    chart_points: int,
    needs_fresh: Callable[[RunRecord], bool] = lambda record: False,
    progress: Callable[[int, int | None], None] = lambda advance, total: None,
) -> Gathered:
    """Read every run; reuse cached records of unchanged, finished runs.

    ``needs_fresh(record)`` forces a read of a cached run (e.g. when the site lacks its files).
    """
    run_ids = reader.run_ids()
    progress(0, len(run_ids))

    def cached(run_id: str) -> CacheEntry | None:
        """The cached entry when the run is unchanged and finished, checked cheaply."""
        # Files are only ever added to, renamed into or removed from a run folder, and each
        # of those changes the folder's modification time: an equal time means equal files,
        # without listing them. Where there is no such time (object storage), list.
        stamp = reader.run_stamp(run_id)
        entry = cache.entries.get(run_id)
        if entry is None or entry.record.status == "running" or needs_fresh(entry.record):
            return None
        changed = stamp is None or stamp != entry.stamp
        if changed and reader.list_run(run_id).signature != entry.signature:
            return None
        return CacheEntry(stamp, entry.signature, entry.record)

    def read(run_id: str) -> tuple[CacheEntry, RunData] | None:
        stamp = reader.run_stamp(run_id)
        files = reader.list_run(run_id)
        data = read_run(reader, files, chart_points)
        progress(1, None)
        return None if data is None else (CacheEntry(stamp, files.signature, data.record), data)

    entries: dict[str, CacheEntry] = {}
    to_read = []
    for run_id in run_ids:
        entry = cached(run_id)
        if entry is None:
            to_read.append(run_id)
        else:
            entries[run_id] = entry
            progress(1, None)
    fresh: dict[str, RunData] = {}
    with ThreadPoolExecutor(4) as pool:
        for result in pool.map(read, to_read):
            if result is not None:
                entries[result[1].record.id] = result[0]
                fresh[result[1].record.id] = result[1]
    if entries != cache.entries:  # unpickling is cheap, pickling 10,000 records is not
        cache.save(entries)
    records = sorted(
        (entry.record for entry in entries.values()),
        key=lambda r: (r.started_at, r.id),
        reverse=True,
    )
    signatures = {run_id: entry.signature for run_id, entry in entries.items()}
    return Gathered(records=records, fresh=fresh, signatures=signatures)


def read_run(reader: StoreReader, files: RunFiles, chart_points: int) -> RunData | None:
    snapshot = reader.snapshot(files)
    if snapshot is None:
        return None  # nothing readable (the reader has reported why)
    run_id = files.run_id
    params: dict[str, Any] = {}
    for row in reader.read_run(files, "params").to_pylist():
        params[row["key"]] = decode_param(row["value"])
    artifacts: dict[str, Artifact] = {}
    for row in reader.read_run(files, "artifacts").to_pylist():
        try:
            name = safe_artifact_name(row["name"])
        except ValueError as exc:
            reader.report_skipped(f"{run_id}/artifacts/{row['name']}", str(exc))
            continue
        artifacts[name] = Artifact(name=name, size=row["size"], sha256=row["sha256"])
    previews = {
        a.name: _preview(reader, run_id, a.name) for a in artifacts.values() if a.kind == "text"
    }
    summaries, series = _metric_series(reader.read_run(files, "metrics"), snapshot, chart_points)
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
        previews=previews,
    )
    body = {
        "format": 1,
        "run_id": run_id,
        "started_at": snapshot["started_at"].isoformat(),
        "series": series,
    }
    metrics_json = orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_SORT_KEYS)
    return RunData(record=record, metrics_json=metrics_json)


def _preview(reader: StoreReader, run_id: str, name: str) -> str:
    path = reader.store.path(*artifact_parts(run_id, name))
    try:
        with reader.store.fs.open_input_stream(path) as stream:
            head = stream.read(PREVIEW_BYTES)
    except OSError as exc:
        reader.report_skipped(path, f"artifact not readable: {exc}")
        return ""
    return head.decode("utf-8", errors="replace")


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
