"""CSV and JSON Lines → xsite: metric tables kept by hand or by another tool.

A source is a file or a folder of ``*.csv`` / ``*.jsonl`` files. A file is either one run
(named after the file) or a long table of many, with a ``run`` column (or ``run_id``,
``run_name``) naming each row's run. In each row:

- ``step`` (or ``epoch``, ``iteration``) is the step; without one, rows count 0, 1, 2…;
- ``time`` (or ``timestamp``, ``wall_time``): ISO-8601 text or seconds since the epoch;
  without one, the file's modification time;
- ``params.<name>`` (or ``param.<name>``) columns are params (the first value given);
- ``project`` and ``status`` columns, when present, set those;
- every other column of numbers is a metric; empty cells are no point.

A line of JSON Lines that is not a JSON object, and a CSV line with the wrong number of
fields, is skipped and listed by its line number; the rest of the file is imported.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import pyarrow as pa

from xsite.importers import Skipped, SourceError
from xsite.store.imported import ImportedRun
from xsite.store.schema import TIMESTAMP
from xsite.store.values import parse_value

SUFFIXES: Final = (".csv", ".jsonl", ".ndjson")
RUN_COLUMNS: Final = ("run", "run_id", "run_name")
STEP_COLUMNS: Final = ("step", "epoch", "iteration")
TIME_COLUMNS: Final = ("time", "timestamp", "wall_time")
PARAM_PREFIXES: Final = ("params.", "param.")
STATUSES: Final = ("running", "finished", "failed", "killed")

Row = dict[str, Any]


def read(source: str, project: str | None) -> Iterator[ImportedRun | Skipped]:
    path = Path(source).resolve()
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in SUFFIXES and p.is_file())
        if not files:
            raise SourceError(f"{source} holds no {', '.join(SUFFIXES)} files")
    elif path.is_file():
        files = [path]
    else:
        raise SourceError(f"no such file or folder: {source}")
    for file in files:
        yield from _read_file(file, project)


def _read_file(file: Path, project: str | None) -> Iterator[ImportedRun | Skipped]:
    try:
        data = file.read_bytes()
        text = data.decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        yield Skipped(str(file), f"unreadable: {error}")
        return
    rows: list[Row] = []
    reader = _jsonl_rows if file.suffix != ".csv" else _csv_rows
    for line, row in reader(text):
        if isinstance(row, str):
            yield Skipped(f"{file}:{line}", row)
        else:
            rows.append(row)
    if not rows:
        yield Skipped(str(file), "no rows")
        return
    run_column = next((c for c in RUN_COLUMNS if c in rows[0]), None)
    by_run: dict[str, list[Row]] = {}
    for row in rows:
        name = str(row.get(run_column) or file.stem) if run_column else file.stem
        by_run.setdefault(name, []).append(row)
    modified = datetime.fromtimestamp(file.stat().st_mtime, UTC)
    digest = hashlib.sha256(data).hexdigest()
    for name, run_rows in by_run.items():
        yield _run(file, name, run_rows, project, modified, digest, run_column)


def _csv_rows(text: str) -> Iterator[tuple[int, Row | str]]:
    lines = csv.reader(text.splitlines())
    header = next(lines, None)
    if header is None:
        return
    for number, fields in enumerate(lines, 2):
        if not fields:
            continue
        if len(fields) != len(header):
            yield number, f"{len(fields)} fields where the header has {len(header)}"
            continue
        yield number, {key: parse_value(value) for key, value in zip(header, fields, strict=True)
                       if value != ""}  # fmt: skip


def _jsonl_rows(text: str) -> Iterator[tuple[int, Row | str]]:
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as error:
            yield number, f"not JSON: {error}"
            continue
        if not isinstance(row, dict):
            yield number, "not a JSON object"
            continue
        yield number, {key: value for key, value in row.items() if value is not None}


def _run(
    file: Path,
    name: str,
    rows: list[Row],
    project: str | None,
    modified: datetime,
    digest: str,
    run_column: str | None,
) -> ImportedRun | Skipped:
    step_column = next((c for c in STEP_COLUMNS if any(c in row for row in rows)), None)
    time_column = next((c for c in TIME_COLUMNS if any(c in row for row in rows)), None)
    special = {run_column, step_column, time_column, "project", "status"}
    params: dict[str, Any] = {}
    keys, steps, values, times = [], [], [], []
    for index, row in enumerate(rows):
        step = row.get(step_column, index) if step_column else index
        when = _time(row.get(time_column)) if time_column else None
        for column, value in row.items():
            if column in special:
                continue
            if column.startswith(PARAM_PREFIXES):
                params.setdefault(column.split(".", 1)[1], value)
            elif isinstance(value, int | float) and not isinstance(value, bool):
                keys.append(column)
                steps.append(int(step) if isinstance(step, int | float) else index)
                values.append(float(value))
                times.append(when or modified)
    if not keys and not params:
        return Skipped(f"{file}: {name}", "no numeric columns (metrics) nor params")
    metrics = pa.table(
        {
            "key": pa.array(keys, pa.string()),
            "step": pa.array(steps, pa.int64()),
            "value": pa.array(values, pa.float64()),
            "time": pa.array(times, TIMESTAMP),
        }
    )
    status = str(rows[-1].get("status", "finished"))
    return ImportedRun(
        source=f"table:{file}#{name}",
        fingerprint=digest,
        project=project or str(rows[0].get("project") or file.parent.name),
        name=name,
        status=status if status in STATUSES else "finished",
        started_at=min(times, default=modified),
        ended_at=max(times, default=modified),
        params=params,
        metrics=metrics,
        system={"imported_file": str(file)},
    )


def _time(value: Any) -> datetime | None:
    if isinstance(value, int | float) and math.isfinite(value):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None
