"""MLflow → xsite: experiments become projects; runs keep their params, tags, full metric
histories (every step, with its time), status, times and artifacts.

The source is read through MLflow's own client, so every store it reads works: an
``mlruns`` folder (the file store), an ``mlflow.db`` file (the SQLite store recent MLflow
versions make by default), or a tracking URI (``sqlite:///…``, ``file:///…``).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import pyarrow as pa
from mlflow.artifacts import download_artifacts
from mlflow.entities import Experiment, Run, ViewType
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from xsite.importers import Skipped, SourceError
from xsite.store.imported import ImportedRun
from xsite.store.schema import TIMESTAMP
from xsite.store.values import parse_value

STATUS: Final = {"FINISHED": "finished", "FAILED": "failed", "KILLED": "killed"}
"""MLflow's run statuses in xsite's words; the others (RUNNING, SCHEDULED) are running."""
_SYSTEM_TAGS: Final = {
    "mlflow.user": "user",
    "mlflow.source.name": "source",
    "mlflow.source.git.commit": "git_commit",
    "mlflow.source.git.branch": "git_branch",
}


def read(source: str, project: str | None) -> Iterator[ImportedRun | Skipped]:
    uri = tracking_uri(source)
    if uri.startswith("file:"):
        # MLflow 3 refuses its file store unless asked; reading one is what importing is for.
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    client = MlflowClient(tracking_uri=uri)
    try:
        experiments = client.search_experiments(view_type=ViewType.ALL)
    except MlflowException as error:
        raise SourceError(f"{source} is not an MLflow tracking store: {error}") from error
    for experiment in experiments:
        token = None
        while True:
            page = client.search_runs(
                [experiment.experiment_id], run_view_type=ViewType.ALL, page_token=token
            )
            for run in page:
                yield from _run(client, uri, experiment, run, project)
            token = page.token
            if not token:
                break


def tracking_uri(source: str) -> str:
    """A tracking URI for ``source``: a URI as it is, an ``.db`` file as SQLite, a folder
    as the file store."""
    if "://" in source or source.startswith("sqlite:"):
        return source
    path = Path(source).resolve()
    if not path.exists():
        raise SourceError(f"no MLflow store at {source}: no such file or folder")
    if path.is_file():
        return f"sqlite:///{path}"
    return path.as_uri()


def _run(
    client: MlflowClient, uri: str, experiment: Experiment, run: Run, project: str | None
) -> Iterator[ImportedRun | Skipped]:
    info, data = run.info, run.data
    what = f"{experiment.name}/{info.run_name or info.run_id}"
    if info.lifecycle_stage == "deleted":
        yield Skipped(what, "deleted in MLflow")
        return
    try:
        metrics = _histories(client, info.run_id, sorted(data.metrics))
    except MlflowException as error:
        yield Skipped(what, f"metric history unreadable: {error}")
        return
    user_tags = {k: v for k, v in data.tags.items() if not k.startswith("mlflow.")}
    with tempfile.TemporaryDirectory(prefix="xsite-mlflow-") as folder:
        artifacts: list[tuple[str, Path]] = []
        try:
            if client.list_artifacts(info.run_id):
                downloaded = download_artifacts(
                    run_id=info.run_id, dst_path=folder, tracking_uri=uri
                )
                root = Path(downloaded)
                artifacts = [
                    (path.relative_to(root).as_posix(), path)
                    for path in sorted(root.rglob("*"))
                    if path.is_file()
                ]
        except (MlflowException, OSError) as error:
            yield Skipped(f"{what} artifacts", str(error))
        yield ImportedRun(
            source=f"mlflow:{info.run_id}",
            fingerprint=_fingerprint(run, metrics, artifacts),
            project=project or experiment.name,
            name=info.run_name or data.tags.get("mlflow.runName") or info.run_id[:8],
            status=STATUS.get(info.status, "running"),
            started_at=_time(info.start_time),
            ended_at=_time(info.end_time) if info.end_time else None,
            params={key: parse_value(value) for key, value in data.params.items()},
            metrics=metrics,
            tags=[f"{k}={v}" if v else k for k, v in sorted(user_tags.items())],
            notes=data.tags.get("mlflow.note.content"),
            system=_system(experiment, run),
            artifacts=artifacts,
        )


def _histories(client: MlflowClient, run_id: str, keys: list[str]) -> pa.Table:
    """Every point of every metric, in logging order (time, then step)."""
    points = [
        (metric.timestamp, metric.step, key, metric.value)
        for key in keys
        for metric in client.get_metric_history(run_id, key)
    ]
    points.sort(key=lambda point: (point[0], point[1]))
    times, steps, names, values = zip(*points, strict=True) if points else ((), (), (), ())
    return pa.table(
        {
            "key": pa.array(names, pa.string()),
            "step": pa.array(steps, pa.int64()),
            "value": pa.array(values, pa.float64()),
            "time": pa.array([t * 1000 for t in times], pa.int64()).cast(TIMESTAMP),
        }
    )


def _system(experiment: Experiment, run: Run) -> dict[str, Any]:
    tags = run.data.tags
    system: dict[str, Any] = {
        "mlflow": {
            "experiment": experiment.name,
            "run_id": run.info.run_id,
            "artifact_uri": run.info.artifact_uri,
        }
    }
    for tag, name in _SYSTEM_TAGS.items():
        if tag in tags:
            system["mlflow"][name] = tags[tag]
    if "mlflow.source.git.commit" in tags:
        system["git"] = {"commit": tags["mlflow.source.git.commit"]}
        if "mlflow.source.git.branch" in tags:
            system["git"]["branch"] = tags["mlflow.source.git.branch"]
    if "mlflow.user" in tags:
        system["user"] = tags["mlflow.user"]
    return system


def _fingerprint(run: Run, metrics: pa.Table, artifacts: list[tuple[str, Path]]) -> str:
    state = {
        "status": run.info.status,
        "end": run.info.end_time,
        "name": run.info.run_name,
        "params": run.data.params,
        "tags": run.data.tags,
        "points": metrics.num_rows,
        "last": run.data.metrics,
        "artifacts": [(name, path.stat().st_size) for name, path in artifacts],
    }
    return hashlib.sha256(json.dumps(state, sort_keys=True, default=str).encode()).hexdigest()


def _time(milliseconds: int) -> datetime:
    return datetime.fromtimestamp(milliseconds / 1000, UTC)
