"""``xsite import``: stores written by the real tools (MLflow's client, tensorboardX), imported,
and compared param by param and point by point."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import xsite
from xsite.importers import SourceError, import_runs
from xsite.store.imported import imported_run_id

MLFLOW_RUNS = [
    {"name": "lr-0.1", "params": {"lr": "0.1", "opt": "adam", "layers": "3"}, "status": "FINISHED"},
    {"name": "lr-0.01", "params": {"lr": "0.01", "opt": "sgd", "layers": "4"}, "status": "FAILED"},
    {"name": "doomed", "params": {"lr": "1"}, "status": "FINISHED"},
]


def write_mlflow(uri: str, artifact: Path) -> dict[str, str]:
    """Runs written through MLflow's own client: name → MLflow run id."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    # Artifacts beside the store: MLflow's default is ./mlruns under the working directory.
    location = (artifact.parent / "artifacts").as_uri()
    experiment = client.create_experiment("mnist", artifact_location=location)
    ids = {}
    for spec in MLFLOW_RUNS:
        run = client.create_run(experiment, run_name=spec["name"], tags={"team": "vision"})
        run_id = run.info.run_id
        for key, value in spec["params"].items():
            client.log_param(run_id, key, value)
        for step in range(6):
            client.log_metric(
                run_id, "loss", 1 / (step + 1), step=step, timestamp=1_700_000_000_000 + step
            )
            client.log_metric(
                run_id, "val/acc", step / 10, step=step, timestamp=1_700_000_000_500 + step
            )
        client.set_tag(run_id, "mlflow.note.content", "Why: a **baseline**.")
        client.log_artifact(run_id, str(artifact), artifact_path="models")
        client.set_terminated(run_id, spec["status"])
        ids[spec["name"]] = run_id
    client.delete_run(ids.pop("doomed"))
    return ids


@pytest.fixture(scope="session")
def mlflow_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MLflow SQLite store (what MLflow makes by default), written once."""
    folder = tmp_path_factory.mktemp("mlflow")
    (folder / "model.txt").write_text("weights")
    write_mlflow(f"sqlite:///{folder / 'mlflow.db'}", folder / "model.txt")
    return folder / "mlflow.db"


@pytest.fixture
def mlflow_copy(mlflow_db: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "mlflow.db"
    shutil.copy(mlflow_db, copy)
    return copy


def assert_same_as_mlflow(uri: str, store: Path) -> None:
    """Every param and every metric point of every live MLflow run is in the store."""
    from mlflow.entities import ViewType
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("mnist")
    runs = client.search_runs([experiment.experiment_id], run_view_type=ViewType.ACTIVE_ONLY)
    frame = xsite.load_runs(store).set_index("run_id")
    points = xsite.load_metrics(dir=store)
    assert len(frame) == len(runs) == 2
    for run in runs:
        ours = frame.loc[imported_run_id(f"mlflow:{run.info.run_id}")]
        assert ours["name"] == run.info.run_name and ours["project"] == "mnist"
        assert ours["status"] == run.info.status.lower()
        assert ours["notes"] == "Why: a **baseline**." and list(ours["tags"]) == ["team=vision"]
        for key, value in run.data.params.items():
            assert str(ours[f"params.{key}"]) == value  # typed: "3" → 3, "0.1" → 0.1
        mine = points[points["run_id"] == ours.name]
        for key in run.data.metrics:
            history = client.get_metric_history(run.info.run_id, key)
            theirs = [(m.step, m.value, m.timestamp) for m in history]
            kept = mine[mine["key"] == key]
            stamps = kept["time"].dt.as_unit("ms").astype("int64").tolist()
            assert sorted(zip(kept["step"], kept["value"], stamps, strict=True)) == sorted(theirs)


def test_an_mlflow_sqlite_store_is_imported_whole(mlflow_copy: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    report = import_runs("mlflow", mlflow_copy, dir=store)
    assert sorted(report.imported) == ["mnist/lr-0.01", "mnist/lr-0.1"]
    assert [str(s) for s in report.skipped] == ["mnist/doomed: deleted in MLflow"]
    assert_same_as_mlflow(f"sqlite:///{mlflow_copy}", store)
    run_id = xsite.load_runs(store)["run_id"].iloc[0]
    with xsite.StoreReader(store).open_artifact(run_id, "models/model.txt") as artifact:
        assert artifact.read() == b"weights"


def test_an_mlflow_file_store_is_imported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 writes one only if asked
    (tmp_path / "model.txt").write_text("weights")
    mlruns = tmp_path / "mlruns"
    write_mlflow(mlruns.as_uri(), tmp_path / "model.txt")
    report = import_runs("mlflow", mlruns, dir=tmp_path / "store")
    assert len(report.imported) == 2
    assert_same_as_mlflow(mlruns.as_uri(), tmp_path / "store")


def test_importing_again_changes_only_what_changed(mlflow_copy: Path, tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    store = tmp_path / "store"
    import_runs("mlflow", mlflow_copy, dir=store)
    again = import_runs("mlflow", mlflow_copy, dir=store)
    assert again.imported == again.updated == [] and len(again.unchanged) == 2

    uri = f"sqlite:///{mlflow_copy}"
    client = MlflowClient(tracking_uri=uri)
    [run] = client.search_runs(
        [client.get_experiment_by_name("mnist").experiment_id], "attributes.run_name = 'lr-0.1'"
    )
    client.log_metric(run.info.run_id, "loss", 0.01, step=6, timestamp=1_700_000_001_000)
    third = import_runs("mlflow", mlflow_copy, dir=store)
    assert third.updated == ["mnist/lr-0.1"] and third.unchanged == ["mnist/lr-0.01"]
    assert_same_as_mlflow(uri, store)  # the new point is there once, no old point twice
    assert len(list((store / "runs").iterdir())) == 2
    moved = import_runs("mlflow", mlflow_copy, dir=store, project="archive")
    assert len(moved.updated) == 2 and set(xsite.load_runs(store)["project"]) == {"archive"}


def test_tensorboard_log_directories(tmp_path: Path) -> None:
    from tensorboardX import SummaryWriter

    logdir = tmp_path / "logs"
    written: dict[str, list[tuple[str, int, float]]] = {}
    for name, lr in (("cnn/lr0.1", 0.1), ("cnn/lr0.01", 0.01)):
        writer = SummaryWriter(str(logdir / name))
        writer.add_hparams({"lr": lr, "opt": "adam", "layers": 3}, {"hparam/acc": 0.9})
        for step in range(0, 50, 5):
            writer.add_scalar("train/loss", lr / (step + 1), step)
            writer.add_scalar("val/acc", step / 100, step)
            written.setdefault(name, []).extend(
                [("train/loss", step, lr / (step + 1)), ("val/acc", step, step / 100)]
            )
        writer.close()
    report = import_runs("tensorboard", logdir, dir=tmp_path / "store")
    assert sorted(report.imported) == ["logs/cnn/lr0.01", "logs/cnn/lr0.1"]  # hparams folded in
    frame = xsite.load_runs(tmp_path / "store").set_index("name")
    assert (
        frame.loc["cnn/lr0.1", "params.lr"] == 0.1 and frame.loc["cnn/lr0.1", "params.layers"] == 3
    )
    points = xsite.load_metrics(dir=tmp_path / "store")
    for name, expected in written.items():
        mine = points[
            (points["run_id"] == frame.loc[name, "run_id"]) & (points["key"] != "hparam/acc")
        ]
        got = sorted(zip(mine["key"], mine["step"], mine["value"], strict=True))
        assert [point[:2] for point in got] == [point[:2] for point in sorted(expected)]
        values = [point[2] for point in sorted(expected)]
        assert [point[2] for point in got] == pytest.approx(values, rel=1e-6)  # float32
    assert import_runs("tensorboard", logdir, dir=tmp_path / "store").unchanged


def test_a_damaged_event_file_imports_what_it_can(tmp_path: Path) -> None:
    from tensorboardX import SummaryWriter

    for name in ("good", "damaged"):
        writer = SummaryWriter(str(tmp_path / "logs" / name))
        for step in range(100):
            writer.add_scalar("loss", 1 / (step + 1), step)
        writer.close()
    [events] = (tmp_path / "logs" / "damaged").glob("events.out.tfevents.*")
    events.write_bytes(events.read_bytes()[: events.stat().st_size // 2])  # cut mid-record
    report = import_runs("tensorboard", tmp_path / "logs", dir=tmp_path / "store")
    assert sorted(report.imported) == ["logs/damaged", "logs/good"]
    frame = xsite.load_runs(tmp_path / "store").set_index("name")
    points = xsite.load_metrics(dir=tmp_path / "store")
    counts = points.groupby("run_id").size()
    assert counts[frame.loc["good", "run_id"]] == 100
    assert 0 < counts[frame.loc["damaged", "run_id"]] < 100


def test_csv_and_json_lines(tmp_path: Path) -> None:
    source = tmp_path / "tables"
    source.mkdir()
    (source / "baseline.csv").write_text(
        "step,loss,acc,params.lr,note\n0,1.0,0.1,0.1,start\n1,0.5,,0.1,x\n2,0.25,0.3\n3,0.1,0.4,0.1,y\n"
    )
    (source / "sweep.jsonl").write_text(
        '{"run": "a", "epoch": 0, "loss": 2.0, "time": "2026-11-01T10:00:00+00:00"}\n'
        '{"run": "b", "epoch": 0, "loss": 3.0, "params.seed": 7}\n'
        "not json\n"
        '{"run": "a", "epoch": 1, "loss": 1.0, "time": "2026-11-01T10:05:00+00:00"}\n'
    )
    report = import_runs("csv", source, dir=tmp_path / "store", project="hand")
    assert sorted(report.imported) == ["hand/a", "hand/b", "hand/baseline"]
    assert [str(s) for s in report.skipped] == [
        f"{source / 'baseline.csv'}:4: 3 fields where the header has 5",
        f"{source / 'sweep.jsonl'}:3: not JSON: Expecting value: line 1 column 1 (char 0)",
    ]
    frame = xsite.load_runs(tmp_path / "store").set_index("name")
    assert frame.loc["baseline", "params.lr"] == 0.1 and frame.loc["b", "params.seed"] == 7
    assert frame.loc["a", "duration_s"] == 300
    points = xsite.load_metrics(dir=tmp_path / "store")
    baseline = points[points["run_id"] == frame.loc["baseline", "run_id"]]
    assert sorted(zip(baseline["key"], baseline["step"], baseline["value"], strict=True)) == [
        ("acc", 0, 0.1), ("acc", 3, 0.4), ("loss", 0, 1.0), ("loss", 1, 0.5), ("loss", 3, 0.1)
    ]  # fmt: skip


TRACKIO = """
import trackio
for name, lr in (("r1", 0.1), ("r2", 0.01)):
    trackio.init(project="demo", name=name, config={"lr": lr, "layers": 3})
    for step in range(5):
        trackio.log({"loss": lr / (step + 1), "acc": step / 10}, step=step)
    trackio.finish()
"""


def test_a_trackio_project_file(tmp_path: Path) -> None:
    pytest.importorskip("trackio")
    data = tmp_path / "trackio"
    done = subprocess.run(
        [sys.executable, "-c", TRACKIO],
        env={**os.environ, "TRACKIO_DIR": str(data)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    report = import_runs("trackio", data, dir=tmp_path / "store")
    assert sorted(report.imported) == ["demo/r1", "demo/r2"] and report.skipped == []
    frame = xsite.load_runs(tmp_path / "store").set_index("name")
    assert frame.loc["r2", "params.lr"] == 0.01 and frame.loc["r2", "params.layers"] == 3
    points = xsite.load_metrics(dir=tmp_path / "store")
    for name, lr in (("r1", 0.1), ("r2", 0.01)):
        mine = points[(points["run_id"] == frame.loc[name, "run_id"]) & (points["key"] == "loss")]
        assert list(zip(mine["step"], mine["value"], strict=True)) == [
            (step, pytest.approx(lr / (step + 1))) for step in range(5)
        ]
    assert len(import_runs("trackio", data / "demo.db", dir=tmp_path / "store").unchanged) == 2


def test_xsite_import_on_the_command_line(mlflow_copy: Path, tmp_path: Path) -> None:
    command = [sys.executable, "-m", "xsite.cli", "import"]
    done = subprocess.run(
        [*command, "mlflow", str(mlflow_copy), "--dir", str(tmp_path / "s"), "--project", "old"],
        capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "2 runs imported, 0 updated, 0 unchanged, 1 skipped." in done.stdout
    assert "Skipped mnist/doomed: deleted in MLflow" in done.stderr
    assert set(xsite.load_runs(tmp_path / "s")["project"]) == {"old"}
    missing = subprocess.run(
        [*command, "tensorboard", str(tmp_path / "nothing"), "--dir", str(tmp_path / "s")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert missing.returncode == 1 and "no TensorBoard log directory" in missing.stderr
    with pytest.raises(SourceError, match="no importer for 'wandb'"):
        import_runs("wandb", tmp_path, dir=tmp_path / "s")
