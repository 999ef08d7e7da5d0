"""TensorBoard → xsite: each folder of event files under the log directory is a run, named
by its path; its scalars keep their steps and wall times, and its hparams become params.

Event files are read with TensorBoard's own ``EventAccumulator``. ``add_hparams`` of
tensorboardX and PyTorch writes the hparams into a subfolder of the run's folder; such a
subfolder joins its parent run rather than making a run of its own. Scalars written as
tensors (TensorFlow 2's ``tf.summary.scalar``) are read too. TensorBoard keeps no status: an
imported run is ``finished``, from its first event to its last.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2
from tensorboard.util import tensor_util

from xsite.importers import Skipped, SourceError
from xsite.store.imported import ImportedRun
from xsite.store.schema import TIMESTAMP

EVENT_FILE: Final = "events.out.tfevents."
_HPARAMS_TAG: Final = "_hparams_/session_start_info"
_EVERYTHING: Final = {"scalars": 0, "tensors": 0}


@dataclass
class _Folder:
    path: Path
    points: list[tuple[float, int, str, float]] = field(default_factory=list)
    """(wall time, step, tag, value) of every scalar."""
    hparams: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def read(source: str, project: str | None) -> Iterator[ImportedRun | Skipped]:
    root = Path(source).resolve()
    if not root.is_dir():
        raise SourceError(f"no TensorBoard log directory at {source}")
    folders = sorted({path.parent for path in root.rglob(f"{EVENT_FILE}*") if path.is_file()})
    if not folders:
        raise SourceError(f"{source} holds no TensorBoard event files ({EVENT_FILE}*)")
    runs: dict[Path, list[_Folder]] = {}
    for path in folders:
        folder = _read_folder(path)
        # A folder of hparams only, inside a run's folder, belongs to that run.
        if folder.hparams and path.parent in runs:
            runs[path.parent].append(folder)
        else:
            runs[path] = [folder]
    for path, parts in runs.items():
        name = path.relative_to(root).as_posix() if path != root else root.name
        yield from (Skipped(f"{name}: {problem}", "part of its events unreadable")
                    for part in parts for problem in part.problems)  # fmt: skip
        yield from _run(root, path, name, parts, project)


def _read_folder(path: Path) -> _Folder:
    folder = _Folder(path)
    accumulator = EventAccumulator(str(path), size_guidance=_EVERYTHING)
    try:
        accumulator.Reload()
    except Exception as error:  # a damaged file raises anything, from protobuf or IO
        folder.problems.append(f"{type(error).__name__}: {error}")
    tags = accumulator.Tags()
    for tag in tags.get("scalars", []):
        folder.points.extend((e.wall_time, e.step, tag, e.value) for e in accumulator.Scalars(tag))
    for tag in tags.get("tensors", []):
        for event in accumulator.Tensors(tag):
            value = tensor_util.make_ndarray(event.tensor_proto)
            if value.size == 1 and value.dtype.kind in "fiu":
                folder.points.append((event.wall_time, event.step, tag, float(value.item())))
    try:
        content = accumulator.PluginTagToContent("hparams").get(_HPARAMS_TAG)
    except KeyError:
        content = None
    if content:
        start = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info
        folder.hparams = {key: _hparam(value) for key, value in start.hparams.items()}
    return folder


def _hparam(value: Any) -> Any:
    kind = value.WhichOneof("kind")
    number = getattr(value, kind) if kind else None
    if kind == "number_value" and number is not None and float(number).is_integer():
        return int(number)
    return number


def _run(
    root: Path, path: Path, name: str, parts: list[_Folder], project: str | None
) -> Iterator[ImportedRun | Skipped]:
    points = sorted(point for part in parts for point in part.points)
    if not points:
        yield Skipped(name, "no scalars in its event files")
        return
    times, steps, tags, values = zip(*points, strict=True)
    metrics = pa.table(
        {
            "key": pa.array(tags, pa.string()),
            "step": pa.array(steps, pa.int64()),
            "value": pa.array(values, pa.float64()),
            "time": pa.array([round(t * 1e6) for t in times], pa.int64()).cast(TIMESTAMP),
        }
    )
    files = sorted(p for part in parts for p in part.path.glob(f"{EVENT_FILE}*"))
    state = [(f.relative_to(root).as_posix(), f.stat().st_size) for f in files]
    yield ImportedRun(
        source=f"tensorboard:{path}",
        fingerprint=hashlib.sha256(json.dumps(state).encode()).hexdigest(),
        project=project or root.name,
        name=name,
        status="finished",
        started_at=datetime.fromtimestamp(min(times), UTC),
        ended_at=datetime.fromtimestamp(max(times), UTC),
        params={key: value for part in parts for key, value in part.hparams.items()},
        metrics=metrics,
        system={"tensorboard": {"logdir": str(path)}},
    )
