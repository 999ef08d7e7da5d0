"""``xsite compact``: merge each run's small part files into one part per kind.

A merged part is written (atomically) before the parts it replaces are deleted, and it names
them in its metadata, so a reader at any moment sees either the old parts or the merged one
and never both: nothing is missed and nothing is counted twice.
"""

from __future__ import annotations

import json
import os
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from time import time_ns

from xsite.store import schema
from xsite.store.index import write_index
from xsite.store.reader import IO_THREADS, PartVanished, RunFiles, StoreReader
from xsite.store.schema import RUNS_DIR, PartName
from xsite.store.summary import RunSummary, summarize, summary_filename

TMP_MAX_AGE = timedelta(hours=1)


@dataclass
class CompactReport:
    runs: int = 0
    parts_before: int = 0
    parts_after: int = 0
    tmp_files_removed: int = 0
    runs_indexed: int = 0
    """Ended runs in the store index written at the end."""


def compact(dir: str | os.PathLike[str] | None = None) -> CompactReport:
    """Merge small parts in every run of the store at ``dir``; sweep old temporary files.

    Safe while writers append and readers read. Run one compaction of a store at a time.
    Runs are compacted a few at a time: most of the time goes to waiting on the disk (or
    the network) and that waiting overlaps.
    """
    reader = StoreReader(dir)
    compactor = "c" + secrets.token_hex(5)
    with ThreadPoolExecutor(IO_THREADS) as pool:
        done = list(
            pool.map(lambda run_id: _compact_run(reader, run_id, compactor), reader.run_ids())
        )
    report = CompactReport(runs=len(done))
    indexed: dict[str, tuple[int, RunSummary]] = {}
    for run_id, counts, entry in done:
        report.parts_before += counts.parts_before
        report.parts_after += counts.parts_after
        report.tmp_files_removed += counts.tmp_files_removed
        if entry is not None:
            indexed[run_id] = entry
    write_index(reader, indexed)
    report.runs_indexed = len(indexed)
    return report


def _compact_run(
    reader: StoreReader, run_id: str, compactor: str
) -> tuple[str, CompactReport, tuple[int, RunSummary] | None]:
    """Compact one run: what it counted, and its index entry (stamp, summary) if it ended."""
    store = reader.store
    counts = CompactReport()
    listing = reader.list_run(run_id)
    summary = reader.summary(listing)  # while it covers the parts about to be merged
    renamed: dict[str, str] = {}
    for kind, parts in listing.parts.items():
        counts.parts_before += len(parts)
        if len(parts) < 2:
            counts.parts_after += len(parts)
            continue
        try:
            merged, already_replaced = reader.read_parts(parts, schema.SCHEMAS[kind])
        except PartVanished:
            counts.parts_after += len(parts)
            continue  # another compaction is at work on this run
        # Transitively: a reader may still list a part that an earlier merge replaced.
        replaced = {name.filename for name, _ in parts} | already_replaced
        # Same time as the newest source, so parts written meanwhile still sort after it.
        name = PartName(parts[-1][0].time_ns, compactor, 1, kind)
        metadata = {schema.REPLACES_KEY: json.dumps(sorted(replaced)).encode()}
        store.write_table(
            store.path(RUNS_DIR, run_id, name.filename),
            merged.replace_schema_metadata(metadata),
        )
        for _, path in parts:
            store.delete(path)
        renamed.update(dict.fromkeys(replaced, name.filename))
        counts.parts_after += 1
    if store.is_local:  # object stores have no temporary files: a PUT is all or nothing
        counts.tmp_files_removed += _sweep_tmp_files(reader, run_id)
    if renamed or summary is None:
        _summarize(reader, listing, summary, renamed, compactor)
    stamp, listing = reader.stamped_listing(run_id)
    summary = reader.summary(listing)
    return run_id, counts, (stamp, summary) if summary is not None else None


def _summarize(
    reader: StoreReader,
    before: RunFiles,
    summary: RunSummary | None,
    renamed: dict[str, str],
    compactor: str,
) -> None:
    """A summary of the compacted parts, for an ended run; older summaries go (they name
    parts that are gone). A summary of the parts before holds for the merged ones (they
    have the same rows), so it is carried over under their names, and nothing is read."""
    if summary is not None:
        summary = replace(summary, covers=frozenset(renamed.get(n, n) for n in summary.covers))
    else:
        try:
            summary = summarize(reader, reader.list_run(before.run_id, again=True))
        except PartVanished:
            return  # another compaction is at work on this run
        if summary is None:
            return
    store = reader.store
    name = summary_filename(time_ns(), compactor, 1)
    store.write_bytes(store.path(RUNS_DIR, before.run_id, name), summary.to_json(), durable=False)
    for path in before.summaries:
        store.delete(path)


def _sweep_tmp_files(reader: StoreReader, run_id: str) -> int:
    """Delete temporary files a killed writer left behind (old enough to be abandoned)."""
    store = reader.store
    cutoff = datetime.now(UTC) - TMP_MAX_AGE
    removed = 0
    for info in store.list_files(store.path(RUNS_DIR, run_id), recursive=True):
        if (
            info.base_name.startswith(schema.TMP_PREFIX)
            and info.mtime
            and (info.mtime.astimezone(UTC) < cutoff)
        ):
            store.delete(info.path)
            removed += 1
    return removed
