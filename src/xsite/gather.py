"""First stage of a build: read the store into a :class:`~xsite.model.RunRow` and a
:class:`~xsite.model.RunRecord` per run, and each run's chart data.

Part files are immutable, so a run whose folder lists the same files (names, sizes, times)
as at the last build has the same contents: its row and record come from the build cache and
its files in the site are left as they are. Only new or changed runs are read.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa

from xsite.artifacts import PREVIEW_BYTES, SVG_SUFFIXES, content_needed, is_scriptable, svg_data_uri
from xsite.artifacts import suffix as artifact_suffix
from xsite.model import Artifact, RunRecord, RunRow
from xsite.series import json_number, keep_indices, summarize
from xsite.store.reader import RunFiles, StoreReader
from xsite.store.values import decode_param
from xsite.store.writer import safe_artifact_name
from xsite.version import __version__

_CACHE_FORMAT = (6, __version__)
"""Written ahead of each cache file's entries: a cache written by another xsite holds other
classes, so its entries are not unpickled at all."""


@dataclass(frozen=True)
class RunData:
    """A run read from the store this build: its record and its ``metrics.json`` bytes."""

    record: RunRecord
    metrics_json: bytes


@dataclass(frozen=True)
class CacheEntry:
    stamp: int | None
    """The run folder's modification time, where the filesystem has one."""
    signature: str
    """A digest of the run folder's listing: equal listings, equal data."""
    row: RunRow
    record: bytes
    """The pickled :class:`RunRecord`: unpickled only for a page that is rendered."""


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


class RunCache:
    """Rows and records of the runs of the previous build, by run id, each with what its
    folder held.

    Runs are spread over :data:`SHARDS` files by a hash of their id, so a build that reads
    one new run rewrites one small file, not the whole cache.
    """

    SHARDS = 16

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.entries: dict[str, CacheEntry] = {}
        # xsite 0.1 before the shards kept one file beside this folder; it is never read.
        folder.with_suffix(".pickle").unlink(missing_ok=True)
        for shard in range(self.SHARDS):
            try:
                with self._file(shard).open("rb") as file:
                    if pickle.load(file) == _CACHE_FORMAT:
                        self.entries.update(pickle.load(file))
            except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError):
                pass  # no cache, or a damaged one: its runs are read again

    def save(self, entries: dict[str, CacheEntry]) -> None:
        """Write the shards whose entries differ from the loaded ones."""
        changed = {self._shard(run_id) for run_id in entries.keys() ^ self.entries.keys()}
        changed |= {
            self._shard(run_id)
            for run_id, entry in entries.items()
            if self.entries.get(run_id) is not entry
        }
        shards: dict[int, dict[str, CacheEntry]] = {shard: {} for shard in changed}
        for run_id, entry in entries.items():
            if (shard := shards.get(self._shard(run_id))) is not None:
                shard[run_id] = entry
        self.folder.mkdir(parents=True, exist_ok=True)
        for number, runs in sorted(shards.items()):
            tmp = self._file(number).with_suffix(".tmp")
            with tmp.open("wb") as file:
                pickle.dump(_CACHE_FORMAT, file, protocol=5)
                pickle.dump(runs, file, protocol=5)
            tmp.replace(self._file(number))
        self.entries = entries

    def _file(self, shard: int) -> Path:
        return self.folder / f"{shard:02d}.pickle"

    def _shard(self, run_id: str) -> int:
        return zlib.crc32(run_id.encode()) % self.SHARDS


def gather(
    reader: StoreReader,
    cache: RunCache,
    *,
    chart_points: int,
    needs_fresh: Callable[[CacheEntry], bool] = lambda entry: False,
    progress: Callable[[int, int | None], None] = lambda advance, total: None,
) -> Gathered:
    """Read every new or changed run; take the others from the cache.

    ``needs_fresh(entry)`` forces a read of a cached run (e.g. when the site lacks its files).
    """
    stamps = reader.run_stamps()
    progress(0, len(stamps))

    def cached(run_id: str, stamp: int | None) -> CacheEntry | None:
        """The cached entry when the run is finished and its folder unchanged."""
        entry = cache.entries.get(run_id)
        if entry is None or entry.row.status == "running" or needs_fresh(entry):
            return None
        if stamp is not None and stamp == entry.stamp:
            return entry
        if _digest(reader.list_run(run_id).signature) != entry.signature:
            return None
        return replace(entry, stamp=stamp)

    def read(run_id: str) -> RunData | None:
        files = reader.list_run(run_id)
        data = read_run(reader, files, chart_points)
        if data is not None:
            record = pickle.dumps(data.record, protocol=5)
            row = RunRow.of(data.record)
            entries[run_id] = CacheEntry(stamps[run_id], _digest(files.signature), row, record)
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


def _digest(signature: tuple[tuple[str, int, int], ...]) -> str:
    return hashlib.sha256(repr(signature).encode()).hexdigest()


def read_run(reader: StoreReader, files: RunFiles, chart_points: int) -> RunData | None:
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
        inline_images=inline_images,
    )
    body = {
        "format": 1,
        "run_id": run_id,
        "started_at": snapshot["started_at"].isoformat(),
        "series": series,
    }
    metrics_json = orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_SORT_KEYS)
    return RunData(record=record, metrics_json=metrics_json)


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
