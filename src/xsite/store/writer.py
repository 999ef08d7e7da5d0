"""Writing runs: :func:`init`, :func:`resume` and the :class:`Run` they return.

The caller's thread only appends to an in-memory buffer. A background thread turns the
buffer into one Arrow table per flush and writes it as a new, immutable part file (by count,
by time, and at finish). Every writer has its own id in its file names, so any number of
processes can write to one store, even to one run, without locks.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import os
import secrets
import signal
import socket
import sys
import threading
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from time import monotonic, time_ns
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any, Final, Literal, TypedDict

import numpy as np
import pyarrow as pa

from xsite.errors import RunFinishedError, StoreError
from xsite.store import schema
from xsite.store.capture import Capture
from xsite.store.capture import capture as capture_environment
from xsite.store.datasets import (
    Dataset,
    brief,
    describe,
    read_row_hashes,
    shared_rows,
    write_row_hashes,
)
from xsite.store.fs import StoreFS, sha256_file
from xsite.store.marker import ensure_store
from xsite.store.reader import StoreReader
from xsite.store.records import (
    IMAGE_SUFFIXES,
    chart_bytes,
    png_bytes,
    record_name,
    table_bytes,
)
from xsite.store.registry import (
    MODELS_DIR,
    ModelFile,
    ModelVersion,
    claim_version,
    files_digest,
    folder_key,
    model_files,
)
from xsite.store.schema import RUNS_DIR, PartKind, PartName, safe_artifact_name
from xsite.store.summary import (
    RECORD_FIELDS,
    MetricSummary,
    RunSummary,
    merge_metrics,
    metric_summaries,
    run_contents,
    summarize,
    summary_filename,
)
from xsite.store.values import (
    coerce_metric,
    coerce_step,
    decode_param,
    encode_param,
    flatten_params,
)

if TYPE_CHECKING:
    import pandas as pd

RunStatus = Literal["running", "finished", "failed", "killed"]


class LeakageWarning(UserWarning):
    """Two splits of a run's datasets share rows (``Run.log_dataset``)."""


RUN_ID_ENV_VAR: Final = "XSITE_RUN_ID"
"""Set by ``xsite run`` for its command: :func:`init` there joins that run."""

DEFAULT_FLUSH_INTERVAL: Final = 2.0
HEARTBEAT_INTERVAL: Final = 10.0
# A flush is started once this many points wait; past the hard cap, log() writes inline so
# a training loop that outruns the disk cannot grow memory without bound.
FLUSH_POINTS: Final = 100_000
MAX_PENDING_POINTS: Final = 1_000_000

_FAST_METRIC_TYPES: Final = frozenset({float, int})
_METRIC_MAP = pa.map_(pa.string(), pa.float64())


class Run:
    """One training run being written. Made by :func:`init` or :func:`resume`.

    Use it as a context manager, or call :meth:`finish`; an unfinished run is finished when
    the process exits, and marked ``killed`` when the process receives SIGTERM.
    """

    def __init__(
        self,
        store: StoreFS,
        *,
        run_id: str,
        project: str,
        name: str,
        tags: list[str],
        notes: str | None,
        started_at: datetime,
        system: dict[str, Any] | None,
        next_step: int = 0,
        flush_interval: float = DEFAULT_FLUSH_INTERVAL,
        attached: bool = False,
        fresh: bool = True,
    ) -> None:
        self.id: Final = run_id
        self.project: Final = project
        self.name: Final = name
        self.tags = list(tags)
        self.notes = notes
        self.started_at: Final = started_at
        self.status: RunStatus = "running"
        self._store = store
        self._system = system
        self._attached = attached
        self._tally = _Tally() if fresh else None
        self._datasets: list[tuple[Dataset, np.ndarray | None]] = []
        self._earlier_datasets: list[tuple[Dataset, np.ndarray | None]] | None = None
        self._writer = secrets.token_hex(6)
        self._seq = 0
        self._next_step = next_step
        self._flush_interval = flush_interval
        self._pending: list[tuple[int, int, dict[str, Any]]] = []
        self._pending_points = 0
        self._unwritten: list[pa.Table] = []
        # _lock guards the buffer only (held for an append); _write_lock serialises I/O.
        # Both are re-entrant because the SIGTERM handler may run while the main thread
        # holds them.
        self._lock = threading.RLock()
        self._write_lock = threading.RLock()
        self._wake = threading.Event()
        self._closed = False
        self._flusher = threading.Thread(
            target=self._flush_loop, name=f"xsite-flush-{run_id}", daemon=True
        )

    # -- the public API -------------------------------------------------------------------

    @property
    def dir(self) -> str:
        """Where this run's files are, as a path or URI."""
        return self._store.display(self._run_path())

    def log(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Record metric values at ``step`` (default: the previous step + 1, from 0).

        Values must be numbers (Python, numpy or 0-d tensors); NaN and ±inf are kept.
        """
        if step is None:
            step = self._next_step
        elif type(step) is not int:
            step = coerce_step(step)
        values = dict(metrics)
        for key, value in values.items():
            if type(value) not in _FAST_METRIC_TYPES or type(key) is not str:
                values[key] = coerce_metric(key, value)
        now = time_ns()
        with self._lock:
            if self._closed:
                raise RunFinishedError(f"run {self.id} is {self.status}; cannot log to it")
            self._pending.append((step, now, values))
            self._pending_points += len(values)
            pending = self._pending_points
        self._next_step = step + 1
        if pending >= FLUSH_POINTS:
            if pending >= MAX_PENDING_POINTS:
                self.flush()
            else:
                self._wake.set()

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Add or change params. Nested dicts become dotted keys (``optimizer.name``)."""
        self._check_open()
        flat = flatten_params(params)
        if not flat:
            return
        logged_at = datetime.now(UTC)
        table = pa.table(
            {
                "run_id": [self.id] * len(flat),
                "key": list(flat),
                "value": [encode_param(value) for value in flat.values()],
                "logged_at": [logged_at] * len(flat),
            },
            schema=schema.PARAM_SCHEMA,
        )
        self._write_part("params", table)

    def log_artifact(self, path: str | os.PathLike[str], name: str | None = None) -> str:
        """Copy a file (or a folder, recursively) into the store; returns its artifact name.

        ``name`` is a relative path inside the run's artifacts (default: the file name).
        """
        self._check_open()
        source = Path(path)
        if not source.exists():
            raise FileNotFoundError(f"artifact {source} does not exist")
        base = safe_artifact_name(name if name is not None else source.name)
        if source.is_dir():
            files = sorted(p for p in source.rglob("*") if p.is_file())
            entries = [(f, f"{base}/{f.relative_to(source).as_posix()}") for f in files]
        else:
            entries = [(source, base)]
        self._copy_files([(file, name, *sha256_file(file)) for file, name in entries])
        return base

    def log_artifact_bytes(self, name: str, data: bytes) -> str:
        """Store ``data`` as an artifact called ``name`` (e.g. a generated report)."""
        self._check_open()
        name = safe_artifact_name(name)
        path = self._artifact_path(name)
        self._store.make_dirs(path.rpartition("/")[0])
        self._store.write_bytes(path, data)
        self._write_artifact_rows([(name, len(data), hashlib.sha256(data).hexdigest())])
        return name

    def log_dataset(
        self,
        data: str | os.PathLike[str] | pd.DataFrame | pa.Table,
        name: str | None = None,
        split: str | None = None,
    ) -> Dataset:
        """Record a dataset the run used: a file, a folder, a DataFrame or an Arrow table.

        Its fingerprint covers every byte (:mod:`xsite.store.datasets`); tabular data also
        gets a row count and a profile of each column. When it shares rows with a dataset of
        another split logged to this run (test rows in the training data), the shared row
        count is recorded, and a :class:`LeakageWarning` says so.
        """
        self._check_open()
        dataset, hashes = describe(data, name, split)
        if hashes is not None:
            write_row_hashes(self._store, dataset.fingerprint, hashes)
            overlaps = {}
            for other, other_hashes in self._datasets_so_far():
                if other.split != dataset.split and other_hashes is not None:
                    shared = shared_rows(hashes, other_hashes)
                    if shared:
                        overlaps[other.label] = shared
                        warnings.warn(
                            f"xsite: {shared} rows of {dataset.label} are also in "
                            f"{other.label} (run {self.id})",
                            LeakageWarning,
                            stacklevel=2,
                        )
            dataset = replace(dataset, overlaps=overlaps)
        row = dataset.row(self.id, datetime.now(UTC))
        self._write_part("datasets", pa.Table.from_pylist([row], schema=schema.DATASET_SCHEMA))
        self._datasets.append((dataset, hashes))
        return dataset

    def log_table(self, name: str, data: Any, step: int | None = None) -> str:
        """Keep a small table (a DataFrame, an Arrow table, a dict of columns) as Parquet,
        e.g. a confusion matrix; the run page shows it, sortable. Returns its artifact name."""
        self._check_open()
        return self.log_artifact_bytes(
            record_name("tables", name, step, ".parquet"), table_bytes(data)
        )

    def log_chart(self, name: str, chart: Any) -> str:
        """Keep a chart (a Vega-Lite dict, or an Altair chart) with its data; the run page
        draws it with the site's Vega. Returns its artifact name."""
        self._check_open()
        return self.log_artifact_bytes(
            record_name("charts", name, None, ".vl.json"), chart_bytes(chart)
        )

    def log_image(
        self, name: str, image: str | os.PathLike[str] | np.ndarray, step: int | None = None
    ) -> str:
        """Keep an image: a PNG, JPEG, GIF or WebP file, or an array (H×W, H×W×3, H×W×4;
        0–255 or 0–1), written as PNG. Images of one name at several steps are shown as a
        gallery with a step slider. Returns its artifact name."""
        self._check_open()
        if isinstance(image, str | os.PathLike):
            path = Path(image)
            suffix = path.suffix.lower()
            if suffix not in IMAGE_SUFFIXES:
                raise ValueError(f"image {path}: use one of {', '.join(IMAGE_SUFFIXES)}")
            return self.log_artifact(path, record_name("images", name, step, suffix))
        return self.log_artifact_bytes(record_name("images", name, step, ".png"), png_bytes(image))

    def log_model(
        self,
        path: str | os.PathLike[str],
        name: str,
        metadata: Mapping[str, Any] | None = None,
    ) -> ModelVersion:
        """Keep a model (a file, or a folder of files) as the next version of the project's
        model ``name``, with its lineage: this run, its params, the last value of each
        metric, its datasets and git commit, and ``metadata`` (JSON values).

        Versions are numbered 1, 2, 3… per project and name, also when many processes log
        versions at once (:mod:`xsite.store.registry`). Returns the version.
        """
        self._check_open()
        name = _check_label("model name", name)
        source = Path(path)
        if not source.exists():
            raise FileNotFoundError(f"model {source} does not exist")
        try:
            meta = json.loads(json.dumps(dict(metadata or {}), allow_nan=True))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"metadata of model {name!r} must be JSON values: {exc}") from exc
        files = [(file, inner, *sha256_file(file)) for file, inner in model_files(source)]
        digest = files_digest((inner, sha) for _, inner, sha, _ in files)
        base = f"{MODELS_DIR}/{folder_key(name)}/{digest.removeprefix('sha256:')[:12]}"
        self._copy_files([(file, f"{base}/{inner}", sha, size) for file, inner, sha, size in files])
        self.flush()
        contents = self._contents()
        git = (self._system or {}).get("git") or {}
        version = ModelVersion(
            project=self.project,
            name=name,
            version=0,
            run_id=self.id,
            run_name=self.name,
            logged_at=datetime.now(UTC),
            files=tuple(ModelFile(f"{base}/{inner}", size, sha) for _, inner, sha, size in files),
            digest=digest,
            metadata=meta,
            params=contents["params"],
            metrics={
                key: {"value": summary.last, "step": summary.last_step}
                for key, summary in contents["metrics"].items()
            },
            datasets=tuple(contents["datasets"]),
            git={key: git.get(key) for key in ("commit", "branch", "dirty", "remote")},
            store=self._store,
        )
        return claim_version(self._store, version)

    def add_tags(self, *tags: str) -> None:
        self._check_open()
        self.tags.extend(tag for tag in tags if tag not in self.tags)
        self._write_snapshot()

    def set_notes(self, notes: str) -> None:
        """Replace the run's Markdown notes (why this run exists, what it showed)."""
        self._check_open()
        self.notes = notes
        self._write_snapshot()

    def flush(self) -> None:
        """Write everything logged so far to the store now."""
        with self._write_lock:
            with self._lock:
                batch, self._pending = self._pending, []
                self._pending_points = 0
            if batch:
                self._unwritten.append(_metrics_table(self.id, batch))
            while self._unwritten:
                # A failed write is redone from memory under a new name: the state of a
                # file whose write or fsync failed cannot be trusted.
                self._write_part("metrics", self._unwritten[0])
                self._unwritten.pop(0)

    def finish(self, status: RunStatus = "finished") -> None:
        """Flush, record the final status and stop the background writer. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        _active_runs.discard(self)
        self._wake.set()
        if self._flusher.is_alive():
            # The flusher never waits for the write lock, so this join is short: at most
            # the part it is writing right now.
            self._flusher.join(timeout=30)
        with self._write_lock:
            if self._attached:  # the process that started the run records how it ended
                self.flush()
                return
            self.status = status
            try:
                self.flush()
            finally:
                self._write_snapshot(ended_at=datetime.now(UTC))
            self._write_summary()

    def __enter__(self) -> Run:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.finish("finished")
        elif issubclass(exc_type, KeyboardInterrupt):
            self.finish("killed")
        else:
            self.finish("failed")

    def __repr__(self) -> str:
        return f"<Run {self.id} {self.project}/{self.name} {self.status}>"

    # -- internals --------------------------------------------------------------------------

    def _start(self, *, params: Mapping[str, Any] | None, git_diff: str | None) -> None:
        self._store.make_dirs(self._run_path())
        if not self._attached:
            self._write_snapshot()
        if params:
            self.log_params(params)
        if git_diff:
            self.log_artifact_bytes("git.diff", git_diff.encode("utf-8", "replace"))
        if not self._attached:
            self._write_heartbeat()
        _active_runs.add(self)
        _install_process_hooks()
        self._flusher.start()

    def _datasets_so_far(self) -> list[tuple[Dataset, np.ndarray | None]]:
        """The datasets logged to this run before, with their row hashes: this writer's,
        and, the first time, those of earlier sessions (a resumed run)."""
        if self._earlier_datasets is None:
            self._earlier_datasets = []
            if self._tally is None:  # resumed or attached: others may have logged some
                reader = StoreReader(self._store.location)
                rows = reader.read("datasets", [self.id]).to_pylist()
                for row in rows:
                    dataset = Dataset.from_row(row)
                    hashes = read_row_hashes(self._store, dataset.fingerprint)
                    self._earlier_datasets.append((dataset, hashes))
        return [*self._earlier_datasets, *self._datasets]

    def _contents(self) -> dict[str, Any]:
        """The run's params, metric summaries and datasets so far: from what this writer
        wrote, or, for a resumed or attached run, read back from the store."""
        if self._tally is not None:
            return {
                "params": dict(self._tally.params),
                "metrics": dict(self._tally.metrics),
                "datasets": list(self._tally.datasets),
            }
        reader = StoreReader(self._store.location)
        return run_contents(reader, reader.list_run(self.id))

    def _copy_files(self, entries: list[tuple[Path, str, str, int]]) -> None:
        """Copy local files, each with its artifact name, SHA-256 and size, into the run."""
        for _, artifact_name, _, _ in entries:  # every name checked before any file is copied
            safe_artifact_name(artifact_name)
        for file, artifact_name, _, _ in entries:
            self._store.make_dirs(self._artifact_path(artifact_name).rpartition("/")[0])
            self._store.copy_in(file, self._artifact_path(artifact_name))
        self._write_artifact_rows([(name, size, sha) for _, name, sha, size in entries])

    def _check_open(self) -> None:
        if self._closed:
            raise RunFinishedError(f"run {self.id} is {self.status}; cannot change it")

    def _run_path(self, *parts: str) -> str:
        return self._store.path(RUNS_DIR, self.id, *parts)

    def _artifact_path(self, name: str) -> str:
        return self._store.path(*schema.artifact_parts(self.id, name))

    def _write_part(self, kind: PartKind, table: pa.Table) -> None:
        with self._write_lock:
            self._seq += 1
            part = PartName(time_ns=time_ns(), writer=self._writer, seq=self._seq, kind=kind)
            self._store.write_table(self._run_path(part.filename), table)
            if self._tally is not None:
                self._tally.add(part, table)

    def _write_snapshot(self, ended_at: datetime | None = None) -> None:
        row = {
            "run_id": self.id,
            "project": self.project,
            "name": self.name,
            "status": self.status,
            "started_at": self.started_at,
            "ended_at": ended_at,
            "updated_at": datetime.now(UTC),
            "tags": self.tags,
            "notes": self.notes,
            "system": json.dumps(self._system, sort_keys=True) if self._system else None,
        }
        self._write_part("run", pa.Table.from_pylist([row], schema=schema.RUN_SCHEMA))

    def _write_summary(self) -> None:
        """The run's summary (:mod:`xsite.store.summary`). When the run's folder holds just
        what this writer wrote, it is made from what it wrote; otherwise (a resumed run,
        another writer) by reading the run back, so that it covers every part. Readers that
        find none read the parts: a failure here loses nothing."""
        try:
            listed = self._store.list_files(self._run_path(), recursive=False)
            names = frozenset(
                info.base_name for info in listed if PartName.parse(info.base_name) is not None
            )
            summary = self._tally.summary(self.id, names) if self._tally is not None else None
            if summary is None:
                reader = StoreReader(self._store.location)
                summary = summarize(reader, reader.list_run(self.id))
            if summary is not None:
                self._seq += 1
                name = summary_filename(time_ns(), self._writer, self._seq)
                self._store.write_bytes(self._run_path(name), summary.to_json(), durable=False)
        except (OSError, pa.ArrowException, StoreError, ValueError):
            return

    def _write_artifact_rows(self, rows: list[tuple[str, int, str]]) -> None:
        logged_at = datetime.now(UTC)
        table = pa.Table.from_pylist(
            [
                {"run_id": self.id, "name": n, "size": s, "sha256": h, "logged_at": logged_at}
                for n, s, h in rows
            ],
            schema=schema.ARTIFACT_SCHEMA,
        )
        self._write_part("artifacts", table)

    def _write_heartbeat(self) -> None:
        beat = {
            "time": datetime.now(UTC).isoformat(),
            "writer": self._writer,
            "pid": os.getpid(),
            "host": socket.gethostname(),
        }
        path = self._run_path(schema.heartbeat_filename(self._writer))
        self._store.write_bytes(path, json.dumps(beat).encode())

    def _flush_loop(self) -> None:
        next_heartbeat = monotonic() + HEARTBEAT_INTERVAL
        while not self._closed:
            self._wake.wait(timeout=self._flush_interval)
            self._wake.clear()
            if self._closed:
                return
            if not self._write_lock.acquire(blocking=False):
                continue  # someone else is writing: their flush covers this round
            try:
                self.flush()
                if not self._attached and monotonic() >= next_heartbeat:
                    self._write_heartbeat()
                    next_heartbeat = monotonic() + HEARTBEAT_INTERVAL
            except OSError as exc:
                # Kept in memory and retried on the next flush; finish() raises if it
                # still cannot write.
                warnings.warn(
                    f"xsite: could not write run {self.id} to {self._store.location}: {exc}",
                    RuntimeWarning,
                    stacklevel=1,
                )
            finally:
                self._write_lock.release()


class InitOptions(TypedDict, total=False):
    """The keyword arguments of :func:`init`, for adapters that start runs on its behalf."""

    name: str | None
    params: Mapping[str, Any] | None
    tags: Iterable[str]
    notes: str | None
    dir: str | os.PathLike[str] | None
    capture: bool
    flush_interval: float


@dataclass
class _Tally:
    """What one writer of a new run wrote, so that its summary needs no reading back."""

    parts: set[str] = field(default_factory=set)
    record: dict[str, Any] | None = None
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, MetricSummary] = field(default_factory=dict)
    datasets: list[dict[str, Any]] = field(default_factory=list)

    def add(self, part: PartName, table: pa.Table) -> None:
        self.parts.add(part.filename)
        if part.kind == "run":
            self.record = table.slice(table.num_rows - 1).to_pylist()[0]
        elif part.kind == "params":
            for row in table.select(["key", "value"]).to_pylist():
                self.params[row["key"]] = decode_param(row["value"])
        elif part.kind == "metrics":
            self.metrics = merge_metrics(self.metrics, metric_summaries(table))
        elif part.kind == "datasets":
            self.datasets.extend(brief(row) for row in table.to_pylist())

    def summary(self, run_id: str, listed: frozenset[str]) -> RunSummary | None:
        """The summary of an ended run whose folder lists exactly these parts, else None."""
        if listed != self.parts or self.record is None or self.record["ended_at"] is None:
            return None
        return RunSummary(
            run_id=run_id,
            covers=listed,
            record={key: self.record[key] for key in RECORD_FIELDS},
            params=dict(self.params),
            metrics=dict(self.metrics),
            datasets=list(self.datasets),
        )


def init(
    project: str = "default",
    name: str | None = None,
    *,
    params: Mapping[str, Any] | None = None,
    tags: Iterable[str] = (),
    notes: str | None = None,
    dir: str | os.PathLike[str] | None = None,
    capture: bool = True,
    flush_interval: float = DEFAULT_FLUSH_INTERVAL,
) -> Run:
    """Start a run and return it.

    Inside a command started by ``xsite run`` (``$XSITE_RUN_ID`` is set), the run that
    command records is returned instead: metrics, params and artifacts logged to it join
    what ``xsite run`` records, and ``xsite run`` records how it ended. ``project``,
    ``name`` and ``capture`` then have no effect; ``params``, ``tags`` and ``notes`` are
    added to it.

    Args:
        project: groups runs on the site; one runs table per project.
        name: a human name for the run (default: a generated one); need not be unique.
        params: hyperparameters; nested dicts are flattened to dotted keys.
        tags: labels to filter and group by.
        notes: Markdown: why this run exists.
        dir: the store (a path or ``s3://…`` URI); default ``$XSITE_DIR`` or ``./xsite-runs``.
        capture: record git state, command line, environment and hardware.
        flush_interval: at most this many seconds pass before logged metrics reach disk.
    """
    tags = list(tags)
    if run_id := os.environ.get(RUN_ID_ENV_VAR):
        run = _attach(run_id, dir=dir, params=params, flush_interval=flush_interval)
        if set(tags) - set(run.tags):
            run.add_tags(*tags)
        if notes is not None:
            run.set_notes(notes)
        return run
    return start_run(
        project,
        name,
        params=params,
        tags=tags,
        notes=notes,
        dir=dir,
        captured=capture_environment() if capture else None,
        flush_interval=flush_interval,
    )


def start_run(
    project: str,
    name: str | None,
    *,
    params: Mapping[str, Any] | None,
    tags: Iterable[str],
    notes: str | None,
    dir: str | os.PathLike[str] | None,
    captured: Capture | None,
    flush_interval: float = DEFAULT_FLUSH_INTERVAL,
) -> Run:
    """A new run, whatever ``$XSITE_RUN_ID`` says (:func:`init` without attaching)."""
    store = StoreFS.open(dir)
    ensure_store(store)
    run_id = new_run_id()
    run = Run(
        store,
        run_id=run_id,
        project=_check_label("project", project),
        name=_check_label("name", name or f"run-{run_id[:6]}"),
        tags=[_check_label("tag", tag) for tag in tags],
        notes=notes,
        started_at=datetime.now(UTC),
        system=captured.system if captured else None,
        flush_interval=flush_interval,
    )
    run._start(params=params, git_diff=captured.git_diff if captured else None)
    return run


def resume(
    run_id: str,
    *,
    dir: str | os.PathLike[str] | None = None,
    flush_interval: float = DEFAULT_FLUSH_INTERVAL,
) -> Run:
    """Reopen a run to append to it, e.g. to score the trained model on a new test set.

    Steps continue after the last logged step; the run is ``running`` until finished again.
    """
    return _reopen(run_id, dir=dir, flush_interval=flush_interval, attached=False, params=None)


def _attach(
    run_id: str,
    *,
    dir: str | os.PathLike[str] | None,
    params: Mapping[str, Any] | None,
    flush_interval: float,
) -> Run:
    try:
        return _reopen(run_id, dir=dir, flush_interval=flush_interval, attached=True, params=params)
    except StoreError as error:
        raise StoreError(
            f"${RUN_ID_ENV_VAR} names run {run_id}, started by `xsite run`, but it cannot be "
            f"opened: {error}. Log to the store `xsite run` writes to ($XSITE_DIR), or unset "
            f"{RUN_ID_ENV_VAR} to start a run of its own."
        ) from error


def _reopen(
    run_id: str,
    *,
    dir: str | os.PathLike[str] | None,
    flush_interval: float,
    attached: bool,
    params: Mapping[str, Any] | None,
) -> Run:
    reader = StoreReader(dir)
    record = reader.run_snapshot(run_id)
    run = Run(
        reader.store,
        run_id=run_id,
        project=record["project"],
        name=record["name"],
        tags=list(record["tags"]),
        notes=record["notes"],
        started_at=record["started_at"],
        system=json.loads(record["system"]) if record["system"] else None,
        next_step=reader.last_step(run_id) + 1,
        flush_interval=flush_interval,
        attached=attached,
        fresh=False,
    )
    run._start(params=params, git_diff=None)
    return run


def new_run_id() -> str:
    """12 hex digits: safe as a folder and URL part, and unlikely to collide across hosts."""
    return secrets.token_hex(6)


def _check_label(what: str, value: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")
    return value


def _metrics_table(run_id: str, batch: list[tuple[int, int, dict[str, Any]]]) -> pa.Table:
    steps, times, values = zip(*batch, strict=True)
    try:
        maps = pa.array(values, type=_METRIC_MAP)
    except (pa.ArrowInvalid, OverflowError):
        # Python ints beyond what Arrow converts directly (> 2**63, or not exact in a double).
        maps = pa.array(
            [{k: coerce_metric(k, float(v)) for k, v in row.items()} for row in values],
            type=_METRIC_MAP,
        )
    counts = np.diff(maps.offsets.to_numpy())
    time_us = np.repeat(np.asarray(times, dtype=np.int64) // 1000, counts)
    return pa.table(
        {
            "run_id": pa.repeat(run_id, len(maps.keys)),
            "key": maps.keys,
            "step": np.repeat(np.asarray(steps, dtype=np.int64), counts),
            "value": maps.items,
            "time": pa.array(time_us, type=schema.TIMESTAMP),
        },
        schema=schema.METRIC_SCHEMA,
    )


# -- process-wide hooks: finish what the process leaves behind --------------------------------

_active_runs: set[Run] = set()
_hooks_installed = False
_uncaught_exception = False


def _install_process_hooks() -> None:
    global _hooks_installed
    if _hooks_installed:
        return
    _hooks_installed = True
    atexit.register(_finish_all_at_exit)
    previous_excepthook = sys.excepthook

    def excepthook(
        exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
    ) -> None:
        global _uncaught_exception
        _uncaught_exception = True
        previous_excepthook(exc_type, exc, tb)

    sys.excepthook = excepthook
    if threading.current_thread() is threading.main_thread():
        _install_sigterm_handler()


def _install_sigterm_handler() -> None:
    previous = signal.getsignal(signal.SIGTERM)
    if previous is signal.SIG_IGN:
        return  # the process chose to survive SIGTERM, so its runs go on

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        for run in list(_active_runs):
            with contextlib.suppress(Exception):
                run.finish("killed")
        if callable(previous):
            previous(signum, frame)
        else:
            # Exit as the signal would have: same status for the parent (shell, Slurm, k8s).
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

    signal.signal(signal.SIGTERM, on_sigterm)


def _finish_all_at_exit() -> None:
    status: RunStatus = "failed" if _uncaught_exception else "finished"
    for run in list(_active_runs):
        run.finish(status)
