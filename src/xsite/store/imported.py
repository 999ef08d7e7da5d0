"""Writing a whole run at once, with the times and status it had elsewhere: what importers
use (``xsite import``), where :class:`~xsite.store.writer.Run` records a run as it happens.

An imported run's id is derived from where it came from, so importing a source again finds
the same runs: an unchanged one is left alone, a changed one is replaced. The replacement
follows the store's compaction rule (docs/store-format.md): the new parts name the old ones
in their metadata before the old ones are deleted, so a reader at any moment sees the old
run or the new one, never a mix.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from time import time_ns
from typing import Any, Final, Literal

import pyarrow as pa

from xsite.store import schema
from xsite.store.fs import StoreFS, sha256_file
from xsite.store.marker import ensure_store
from xsite.store.reader import StoreReader
from xsite.store.schema import RUNS_DIR, TIMESTAMP, PartKind, PartName, safe_artifact_name
from xsite.store.summary import summarize, summary_filename
from xsite.store.values import encode_param, flatten_params

Outcome = Literal["imported", "updated", "unchanged"]
POINT_SCHEMA: Final = pa.schema(
    [("key", pa.string()), ("step", pa.int64()), ("value", pa.float64()), ("time", TIMESTAMP)]
)
"""The columns of :attr:`ImportedRun.metrics`."""


def points_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Metric points (``key, step, value, time`` dicts) as :attr:`ImportedRun.metrics`."""
    return pa.Table.from_pylist(rows, schema=POINT_SCHEMA)


@dataclass
class ImportedRun:
    """A run as another tool kept it. ``metrics`` has the columns of :data:`POINT_SCHEMA`,
    in logging order."""

    source: str
    """Where it came from, unique within the tool (e.g. ``mlflow:<run uuid>``): the run id
    is made from it."""
    fingerprint: str
    """Changes whenever the source run does (e.g. its end time and point counts)."""
    project: str
    name: str
    status: str
    started_at: datetime
    ended_at: datetime | None
    params: Mapping[str, Any] = field(default_factory=dict)
    metrics: pa.Table | None = None
    tags: Sequence[str] = ()
    notes: str | None = None
    system: dict[str, Any] = field(default_factory=dict)
    artifacts: Sequence[tuple[str, Path]] = ()
    """(artifact name, file on disk) pairs to copy in."""

    @property
    def run_id(self) -> str:
        return imported_run_id(self.source)


def imported_run_id(source: str) -> str:
    """12 hex digits from the source's identity: the same source, the same run."""
    return hashlib.blake2b(source.encode(), digest_size=6).hexdigest()


def write_imported_run(dir: str | os.PathLike[str] | None, run: ImportedRun) -> Outcome:
    """Write ``run`` into the store at ``dir``, replacing an earlier import of it that has
    another fingerprint; leave one with the same fingerprint as it is."""
    ensure_store(StoreFS.open(dir))
    reader = StoreReader(dir)
    store = reader.store
    run_id = run.run_id
    before = reader.list_run(run_id, again=True)
    if before.parts:
        earlier = reader.snapshot(before)
        system = json.loads(earlier["system"] or "{}") if earlier else {}
        if system.get("imported_from", {}).get("fingerprint") == _state(run):
            return "unchanged"
    writer = "i" + secrets.token_hex(5)
    store.make_dirs(store.path(RUNS_DIR, run_id))
    rows = []
    for name, path in run.artifacts:
        name = safe_artifact_name(name)
        target = store.path(*schema.artifact_parts(run_id, name))
        store.make_dirs(target.rpartition("/")[0])
        store.copy_in(path, target)
        digest, size = sha256_file(path)
        rows.append((name, size, digest))
    tables = _tables(run, run_id, rows)
    for seq, (kind, table) in enumerate(tables.items(), 1):
        replaced = sorted(name.filename for name, _ in before.parts.get(kind, []))
        metadata = {schema.REPLACES_KEY: json.dumps(replaced).encode()} if replaced else None
        part = PartName(time_ns(), writer, seq, kind)
        store.write_table(
            store.path(RUNS_DIR, run_id, part.filename), table.replace_schema_metadata(metadata)
        )
    for parts in before.parts.values():
        for _, part_path in parts:
            store.delete(part_path)
    for summary_path in before.summaries:
        store.delete(summary_path)
    summary = summarize(reader, reader.list_run(run_id, again=True))
    if summary is not None:
        name = summary_filename(time_ns(), writer, len(tables) + 1)
        store.write_bytes(store.path(RUNS_DIR, run_id, name), summary.to_json(), durable=False)
    return "updated" if before.parts else "imported"


def _state(run: ImportedRun) -> str:
    """The source's fingerprint and where the run goes: importing it into another project,
    or under another name, is a change too."""
    return hashlib.sha256(json.dumps([run.fingerprint, run.project, run.name]).encode()).hexdigest()


def _tables(
    run: ImportedRun, run_id: str, artifacts: list[tuple[str, int, str]]
) -> dict[PartKind, pa.Table]:
    system = {**run.system, "imported_from": {"source": run.source, "fingerprint": _state(run)}}
    updated = run.ended_at or run.started_at
    record = {
        "run_id": run_id,
        "project": run.project,
        "name": run.name,
        "status": run.status,
        "started_at": run.started_at,
        "ended_at": run.ended_at,
        "updated_at": updated,
        "tags": list(dict.fromkeys(run.tags)),
        "notes": run.notes,
        "system": json.dumps(system, sort_keys=True, default=str),
    }
    params = flatten_params(run.params)
    tables: dict[PartKind, pa.Table] = {
        "run": pa.Table.from_pylist([record], schema=schema.RUN_SCHEMA),
        "params": pa.table(
            {
                "run_id": [run_id] * len(params),
                "key": list(params),
                "value": [encode_param(value) for value in params.values()],
                "logged_at": [run.started_at] * len(params),
            },
            schema=schema.PARAM_SCHEMA,
        ),
    }
    if run.metrics is not None and run.metrics.num_rows:
        metrics = run.metrics.select(["key", "step", "value", "time"])
        ids = pa.repeat(pa.scalar(run_id, pa.string()), metrics.num_rows)
        tables["metrics"] = metrics.add_column(0, "run_id", ids).cast(schema.METRIC_SCHEMA)
    if artifacts:
        tables["artifacts"] = pa.Table.from_pylist(
            [
                {"run_id": run_id, "name": n, "size": s, "sha256": h, "logged_at": updated}
                for n, s, h in artifacts
            ],
            schema=schema.ARTIFACT_SCHEMA,
        )
    return tables
