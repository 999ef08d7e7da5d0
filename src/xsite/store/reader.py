"""Reading a store: every part file is read and checked on its own, so a corrupt, truncated
or foreign file is skipped and reported by name while the rest still loads."""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from xsite.errors import StoreError
from xsite.store import schema
from xsite.store.fs import StoreFS
from xsite.store.marker import check_marker
from xsite.store.schema import RUNS_DIR, SCHEMAS, PartKind, PartName
from xsite.store.summary import SUMMARY_NAME, RunSummary

DEFAULT_HEARTBEAT_TIMEOUT: Final = 60.0
_VANISHED_RETRIES: Final = 50
IO_THREADS: Final = min(8, 2 * (os.cpu_count() or 1))
"""Files read (or runs compacted) at once: the time goes to waiting on disk or network."""


_SNAPSHOT_SCHEMA: Final = schema.RUN_SCHEMA.append(pa.field("last_seen", schema.TIMESTAMP))


class SkippedFileWarning(UserWarning):
    """A file in the store was skipped; the message names it and says why."""


@dataclass(frozen=True)
class SkippedFile:
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass
class RunFiles:
    """The files of one run folder, as listed at one moment."""

    run_id: str
    parts: dict[PartKind, list[tuple[PartName, str]]] = field(default_factory=dict)
    heartbeats: list[str] = field(default_factory=list)
    summaries: list[str] = field(default_factory=list)
    """Paths of its summaries (:mod:`xsite.store.summary`), oldest first."""
    signature: tuple[tuple[str, int, int], ...] = ()
    """(name, size, mtime) of every file: equal signatures mean equal contents."""

    def part_names(self) -> frozenset[str]:
        return frozenset(name.filename for parts in self.parts.values() for name, _ in parts)


class PartVanished(Exception):
    """A listed part was deleted before it was read: compaction replaced it."""


class _Unreadable(Exception):
    pass


@dataclass(frozen=True)
class _Part:
    name: PartName
    table: pa.Table
    replaces: frozenset[str]


class StoreReader:
    """Reads a store at ``location`` (a path or URI; default ``$XSITE_DIR`` or ``./xsite-runs``).

    Files that cannot be read are listed in :attr:`skipped` and reported once each as a
    :class:`SkippedFileWarning`.
    """

    def __init__(
        self,
        location: str | os.PathLike[str] | None = None,
        *,
        heartbeat_timeout: float = DEFAULT_HEARTBEAT_TIMEOUT,
    ) -> None:
        self.store = StoreFS.open(location)
        self.heartbeat_timeout = heartbeat_timeout
        self.skipped: list[SkippedFile] = []
        self._skipped_paths: set[str] = set()
        self._listed: dict[str, RunFiles] = {}
        """Run folders as the last whole-store listing saw them (object stores only)."""
        if not check_marker(self.store) and not self.store.exists(self.store.root):
            raise StoreError(
                f"no store at {self.store.location}: run some training with "
                "xsite.init(...) first, or pass the store's folder (dir=... / XSITE_DIR)"
            )

    # -- listing --------------------------------------------------------------------------

    def run_ids(self) -> list[str]:
        return list(self.run_stamps())

    def run_stamps(self) -> dict[str, int]:
        """Every run id, in order, with a stamp that changes whenever the run's files do.

        On a disk the stamp is the folder's modification time in ns (adding, renaming or
        removing a file changes it), so an unchanged stamp means unchanged files without
        listing them. Object stores have no folders: the whole store is listed at once (one
        request a thousand files) and a run's stamp is a digest of its listing, which
        :meth:`list_run` then reuses.
        """
        runs = self.store.path(RUNS_DIR)
        if self.store.is_local:
            found = self.store.list_dirs(runs)
        else:
            self._listed = self._list_all(runs)
            found = {run_id: stamp_of(files) for run_id, files in self._listed.items()}
        stamps = {}
        for name, stamp in sorted(found.items()):
            if schema.is_valid_run_id(name):
                stamps[name] = stamp
            else:
                self.report_skipped(f"{runs}/{name}", "not a run folder (invalid run id)")
        return stamps

    def _list_all(self, runs: str) -> dict[str, RunFiles]:
        by_run: dict[str, list[pafs.FileInfo]] = {}
        for info in self.store.list_files(runs, recursive=True):
            run_id, _, name = info.path[len(runs) + 1 :].partition("/")
            if "/" not in name:  # the run's own files, not its artifacts
                by_run.setdefault(run_id, []).append(info)
        return {run_id: self._run_files(run_id, infos) for run_id, infos in by_run.items()}

    def list_run(self, run_id: str, *, again: bool = False) -> RunFiles:
        """The files of a run folder: as the last :meth:`run_stamps` listed them, if it
        listed them and not ``again``, else listed now."""
        if not again and (listed := self._listed.get(run_id)) is not None:
            return listed
        infos = self.store.list_files(self.store.path(RUNS_DIR, run_id), recursive=False)
        return self._run_files(run_id, infos)

    def stamped_listing(self, run_id: str) -> tuple[int, RunFiles]:
        """A run's files listed now, with a stamp taken no later than the listing: when a
        file comes after the listing, the stamp :meth:`run_stamps` gives differs from this
        one, so what is made of this listing is never taken for the newer files."""
        if self.store.is_local:
            stamp = self.store.folder_stamp(self.store.path(RUNS_DIR, run_id))
            return stamp, self.list_run(run_id, again=True)
        files = self.list_run(run_id, again=True)
        return stamp_of(files), files

    def _run_files(self, run_id: str, infos: list[pafs.FileInfo]) -> RunFiles:
        files = RunFiles(run_id)
        files.signature = tuple(sorted((i.base_name, i.size or 0, i.mtime_ns or 0) for i in infos))
        for info in infos:
            name = info.base_name
            if name.startswith(schema.TMP_PREFIX):
                continue  # a write in progress, or the leftover of a killed one
            part = PartName.parse(name)
            if part is not None:
                files.parts.setdefault(part.kind, []).append((part, info.path))
            elif schema.is_heartbeat(name):
                files.heartbeats.append(info.path)
            elif SUMMARY_NAME.fullmatch(name):
                files.summaries.append(info.path)
            else:
                self.report_skipped(info.path, "not an xsite store file (unknown name)")
        for parts in files.parts.values():
            parts.sort()
        files.summaries.sort()
        return files

    def summary(self, files: RunFiles) -> RunSummary | None:
        """The run's newest summary if it covers exactly the listed parts; else None (the
        parts must be read)."""
        if not files.summaries:
            return None
        path = files.summaries[-1]
        try:
            summary = RunSummary.from_json(self.store.read_bytes(path))
        except FileNotFoundError:
            return None  # compaction replaced it
        except (OSError, ValueError, KeyError, TypeError) as exc:
            self.report_skipped(path, f"unreadable run summary ({type(exc).__name__}: {exc})")
            return None
        if summary.run_id != files.run_id or summary.covers != files.part_names():
            return None
        return summary

    # -- reading tables -------------------------------------------------------------------

    def read(
        self,
        kind: PartKind,
        run_ids: Iterable[str] | None = None,
        *,
        columns: Sequence[str] | None = None,
        keys: Iterable[str] | None = None,
    ) -> pa.Table:
        """All rows of one kind of part for the given runs (default: all), in write order.

        ``keys`` keeps only rows whose ``key`` is one of them (params and metrics).
        """
        ids = self.run_ids() if run_ids is None else [self._checked_id(r) for r in run_ids]
        wanted = pa.array(sorted(set(keys)), pa.string()) if keys is not None else None
        target = (
            SCHEMAS[kind]
            if columns is None
            else pa.schema([SCHEMAS[kind].field(c) for c in columns])
        )
        with ThreadPoolExecutor(IO_THREADS) as pool:
            tables = list(
                pool.map(lambda r: self.read_run(self.list_run(r), kind, target, wanted), ids)
            )
        tables = [t for t in tables if t.num_rows]
        if not tables:
            return target.empty_table()
        return pa.concat_tables(tables)

    def read_run(
        self,
        files: RunFiles,
        kind: PartKind,
        target: pa.Schema | None = None,
        wanted: pa.Array | None = None,
    ) -> pa.Table:
        """The rows of one kind for one run, from a listing made by :meth:`list_run`."""
        target = SCHEMAS[kind] if target is None else target
        # Parts are immutable, so what was read before a part vanished stays valid: each
        # retry reads only the parts the compaction added.
        already_read: dict[str, _Part | None] = {}
        for _ in range(_VANISHED_RETRIES):
            try:
                table, _ = self.read_parts(files.parts.get(kind, []), target, already_read)
            except PartVanished:
                files = self.list_run(files.run_id, again=True)  # compaction swapped files
                continue
            break
        else:
            raise StoreError(f"run {files.run_id}: files kept changing while reading {kind} parts")
        if wanted is not None:
            table = table.filter(pc.is_in(table["key"], value_set=wanted))
        return table

    def read_parts(
        self,
        listed: Sequence[tuple[PartName, str]],
        target: pa.Schema,
        already_read: dict[str, _Part | None] | None = None,
    ) -> tuple[pa.Table, frozenset[str]]:
        """The rows of exactly these parts (minus those a merged part among them replaces),
        and the names the merged parts replace. Raises :class:`PartVanished`.

        ``already_read`` caches parts by path across calls (None marks a skipped file).
        """
        cache = {} if already_read is None else already_read
        for name, path in listed:
            if path not in cache:
                cache[path] = self._read_part(name, path, target)
        parts = [part for _, path in listed if (part := cache[path]) is not None]
        replaced = frozenset[str]().union(*(p.replaces for p in parts))
        tables = [p.table for p in parts if p.name.filename not in replaced]
        table = pa.concat_tables(tables) if tables else target.empty_table()
        return table, replaced

    def _read_part(self, name: PartName, path: str, target: pa.Schema) -> _Part | None:
        try:
            with self.store.open_input_file(path) as source:
                parquet = pq.ParquetFile(source, page_checksum_verification=True)
                _check_schema(parquet.schema_arrow, SCHEMAS[name.kind])
                table = parquet.read(columns=target.names)
                metadata = parquet.schema_arrow.metadata or {}
        except FileNotFoundError as exc:
            raise PartVanished(path) from exc
        except _Unreadable as exc:
            self.report_skipped(path, str(exc))
            return None
        except (pa.ArrowException, OSError, ValueError) as exc:
            self.report_skipped(path, f"unreadable Parquet ({type(exc).__name__}: {exc})")
            return None
        try:
            table = table.cast(target)
        except (pa.ArrowException, ValueError) as exc:
            self.report_skipped(path, f"columns do not match the {name.kind} schema: {exc}")
            return None
        replaces = (
            frozenset(json.loads(metadata[schema.REPLACES_KEY]))
            if (schema.REPLACES_KEY in metadata)
            else frozenset()
        )
        return _Part(name, table.replace_schema_metadata(None), replaces)

    # -- runs -----------------------------------------------------------------------------

    def snapshot(self, files: RunFiles) -> dict[str, Any] | None:
        """A run's latest record as a dict, with ``status`` resolved (a stale ``running`` is
        ``crashed``) and ``last_seen`` (the latest heartbeat or record time); None if the run
        has no readable record."""
        table = self.read_run(files, "run")
        if table.num_rows == 0:
            return None
        # Parts are in write order, so the last row is the latest record.
        record = table.slice(table.num_rows - 1).to_pylist()[0]
        record["last_seen"] = record["updated_at"]
        if record["status"] == "running":  # only a live run's heartbeats say anything new
            record["last_seen"] = self._last_seen(record["updated_at"], files.heartbeats)
            if self._is_stale(record["last_seen"]):
                record["status"] = "crashed"
        return record

    def snapshots(self, run_ids: Iterable[str] | None = None) -> pa.Table:
        """:meth:`snapshot` of each run (default: all) as a table."""
        ids = self.run_ids() if run_ids is None else [self._checked_id(r) for r in run_ids]
        with ThreadPoolExecutor(IO_THREADS) as pool:
            records = [r for r in pool.map(lambda r: self.snapshot(self.list_run(r)), ids) if r]
        return pa.Table.from_pylist(records, schema=_SNAPSHOT_SCHEMA)

    def run_snapshot(self, run_id: str) -> dict[str, Any]:
        record = self.snapshot(self.list_run(self._checked_id(run_id)))
        if record is None:
            raise StoreError(f"no run {run_id!r} in {self.store.location}")
        return record

    def last_step(self, run_id: str) -> int:
        """The highest step logged to a run, or -1 when it has no metrics."""
        steps = self.read("metrics", [run_id], columns=["step"])["step"]
        highest = pc.max(steps).as_py()
        return -1 if highest is None else highest

    def _last_seen(self, updated_at: datetime, heartbeats: list[str]) -> datetime:
        seen = updated_at
        for path in heartbeats:
            try:
                beat = json.loads(self.store.read_bytes(path))
                seen = max(seen, datetime.fromisoformat(beat["time"]))
            except FileNotFoundError:
                continue
            except (OSError, ValueError, KeyError, TypeError) as exc:
                self.report_skipped(path, f"unreadable heartbeat ({exc})")
        return seen

    def _is_stale(self, last_seen: datetime) -> bool:
        return datetime.now(UTC) - last_seen > timedelta(seconds=self.heartbeat_timeout)

    # -- artifacts ------------------------------------------------------------------------

    def open_artifact(self, run_id: str, name: str) -> pa.NativeFile:
        """A stream of a run's artifact; ``OSError`` when it cannot be read (report that
        with :meth:`report_unreadable_artifact`)."""
        path = self.store.path(*schema.artifact_parts(self._checked_id(run_id), name))
        return self.store.fs.open_input_stream(path)

    def report_unreadable_artifact(self, run_id: str, name: str, error: OSError) -> None:
        path = self.store.path(*schema.artifact_parts(run_id, name))
        self.report_skipped(path, f"artifact not readable: {error}")

    # -- helpers --------------------------------------------------------------------------

    def _checked_id(self, run_id: str) -> str:
        if not schema.is_valid_run_id(run_id):
            raise StoreError(f"{run_id!r} is not a run id (expected letters, digits, _ or -)")
        return run_id

    def report_skipped(self, path: str, reason: str) -> None:
        """Record a file that could not be used, and warn once about it."""
        if path in self._skipped_paths:
            return
        self._skipped_paths.add(path)
        skipped = SkippedFile(self.store.display(path), reason)
        self.skipped.append(skipped)
        warnings.warn(f"xsite: skipped {skipped}", SkippedFileWarning, stacklevel=2)


def stamp_of(files: RunFiles) -> int:
    """A stamp for a run folder from its listing: a digest of its files' names, sizes and
    times, as a signed 64-bit integer (what :meth:`StoreReader.run_stamps` gives on object
    stores, where folders have no times of their own)."""
    digest = hashlib.blake2b(repr(files.signature).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _check_schema(actual: pa.Schema, expected: pa.Schema) -> None:
    for wanted in expected:
        index = actual.get_field_index(wanted.name)
        if index < 0:
            raise _Unreadable(f"foreign Parquet file: no column {wanted.name!r}")
        if not _castable(actual.field(index).type, wanted.type):
            raise _Unreadable(
                f"foreign Parquet file: column {wanted.name!r} is {actual.field(index).type}, "
                f"expected {wanted.type}"
            )


def _castable(actual: pa.DataType, expected: pa.DataType) -> bool:
    """Types another tool may legitimately write for ours (Polars' large strings, float32…);
    anything else would be a silent reinterpretation, so the file is refused instead."""
    if actual == expected:
        return True
    if pa.types.is_dictionary(actual):
        return _castable(actual.value_type, expected)
    if pa.types.is_string(expected):
        return pa.types.is_string(actual) or pa.types.is_large_string(actual)
    if pa.types.is_int64(expected):
        return pa.types.is_integer(actual)
    if pa.types.is_float64(expected):
        return pa.types.is_floating(actual)
    if pa.types.is_timestamp(expected):
        return pa.types.is_timestamp(actual)
    if pa.types.is_list(expected):
        return (pa.types.is_list(actual) or pa.types.is_large_list(actual)) and _castable(
            actual.value_type, expected.value_type
        )
    return False
