"""Trackio → xsite: a project file (``<project>.db``, SQLite, in ``$TRACKIO_DIR`` or
``~/.cache/huggingface/trackio``) becomes a project; each run keeps its config as params,
every logged step with the time Trackio stored for it, and its system metrics (as
``system/<name>``, numbered in order).

The file is read with SQLite, read-only (``metrics``, ``configs`` and ``system_metrics``
tables, their JSON as Trackio writes it). Trackio keeps no run status: a run is
``finished``, from its first record to its last. Trackio stores one time per flushed batch,
so points logged together share it. Config keys that Trackio adds (``_Username``,
``_Created``, ``_Group``) become the user, the start time and a ``group=`` tag.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from xsite.importers import Skipped, SourceError
from xsite.store.imported import POINT_SCHEMA, ImportedRun


def read(source: str, project: str | None) -> Iterator[ImportedRun | Skipped]:
    path = Path(source).expanduser().resolve()
    files = sorted(path.glob("*.db")) if path.is_dir() else [path]
    if not path.exists() or not files:
        raise SourceError(f"no Trackio project files (*.db) at {source}")
    for file in files:
        try:
            yield from _read_project(file, project)
        except sqlite3.DatabaseError as error:
            yield Skipped(str(file), f"not a readable Trackio project: {error}")


def _read_project(file: Path, project: str | None) -> Iterator[ImportedRun | Skipped]:
    connection = sqlite3.connect(f"{file.as_uri()}?mode=ro", uri=True)
    try:
        configs = {
            run_id: (name, config, created)
            for run_id, name, config, created in connection.execute(
                "SELECT run_id, run_name, config, created_at FROM configs"
            )
        }
        points: dict[str, list[tuple[str, int, float, str]]] = {}
        names: dict[str, str] = {}
        for row_id, run_id, name, step, stamp, data in connection.execute(
            "SELECT id, run_id, run_name, step, timestamp, metrics FROM metrics ORDER BY id"
        ):
            names.setdefault(run_id, name)
            values = _json(data)
            if values is None:
                yield Skipped(f"{file}: metrics row {row_id}", "not a JSON object")
                continue
            points.setdefault(run_id, []).extend(
                (key, step, value, stamp) for key, value in _numbers(values)
            )
        system = _system_metrics(connection)
    finally:
        connection.close()
    for run_id in sorted(configs.keys() | names.keys()):
        name, config_text, created = configs.get(run_id, (names.get(run_id), None, None))
        config = _json(config_text) or {}
        run_points = points.get(run_id, []) + system.get(run_id, [])
        yield _run(file, project, run_id, name or run_id, config, created, run_points)


def _system_metrics(connection: sqlite3.Connection) -> dict[str, list[tuple[str, int, float, str]]]:
    found: dict[str, list[tuple[str, int, float, str]]] = {}
    counts: dict[tuple[str, str], int] = {}
    for run_id, stamp, data in connection.execute(
        "SELECT run_id, timestamp, metrics FROM system_metrics ORDER BY id"
    ):
        for key, value in _numbers(_json(data) or {}):
            step = counts.get((run_id, key), 0)
            counts[(run_id, key)] = step + 1
            found.setdefault(run_id, []).append((f"system/{key}", step, value, stamp))
    return found


def _run(
    file: Path,
    project: str | None,
    run_id: str,
    name: str,
    config: dict[str, Any],
    created: str | None,
    points: list[tuple[str, int, float, str]],
) -> ImportedRun:
    times = [_time(stamp) for *_, stamp in points]
    created = config.get("_Created") or created
    start = min([_time(created)] if created else times, default=datetime.now(UTC))
    metrics = pa.table(
        {
            "key": [key for key, *_ in points],
            "step": [step for _, step, *_ in points],
            "value": [value for *_, value, _ in points],
            "time": times,
        },
        schema=POINT_SCHEMA,
    )
    state = json.dumps([config, len(points), points[-1] if points else None], default=str)
    group = config.get("_Group")
    return ImportedRun(
        source=f"trackio:{file.stem}:{run_id}",
        fingerprint=hashlib.sha256(state.encode()).hexdigest(),
        project=project or file.stem,
        name=name,
        status="finished",
        started_at=start,
        ended_at=max(times, default=start),
        params={key: value for key, value in config.items() if not key.startswith("_")},
        metrics=metrics,
        tags=[f"group={group}"] if group else [],
        system={
            "user": config.get("_Username"),
            "trackio": {"project": file.stem, "run_id": run_id},
        },
    )


def _json(data: str | bytes | None) -> dict[str, Any] | None:
    try:
        value = json.loads(data) if data is not None else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _numbers(values: dict[str, Any]) -> Iterator[tuple[str, float]]:
    """The numbers among logged values (media and tables are logged as objects: left out)."""
    for key, value in values.items():
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if number or (isinstance(value, str) and value.lower() in ("nan", "inf", "-inf")):
            yield key, float(value)


def _time(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
