"""The logging API and the DataFrames it reads back, on real stores in tmp dirs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import xsite
from xsite.store.values import flatten_params

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
)
param_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4), max_leaves=8)
param_keys = st.text(
    alphabet=st.characters(blacklist_characters=".", blacklist_categories=["Cs"]),
    min_size=1,
    max_size=12,
)
# One store serves all examples of a test: runs are told apart by id, never by position.
FIXTURE_REUSED = HealthCheck.function_scoped_fixture

params_strategy = st.dictionaries(
    param_keys,
    param_values | st.dictionaries(param_keys, param_values, min_size=1, max_size=3),
    max_size=6,
)


def same(a: object, b: object) -> bool:
    """Equality where NaN equals NaN and bool is not int."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))  # type: ignore[arg-type]
    return a == b


@settings(max_examples=40, deadline=None, suppress_health_check=[FIXTURE_REUSED])
@given(params=params_strategy)
def test_params_round_trip_keeps_every_value_type(store: Path, params: dict) -> None:
    with xsite.init(project="p", params=params, capture=False, dir=store) as run:
        pass
    row = xsite.load_runs(store).set_index("run_id").loc[run.id]
    for key, value in flatten_params(params).items():
        assert same(row[f"params.{key}"], value), key


@settings(max_examples=30, deadline=None, suppress_health_check=[FIXTURE_REUSED])
@given(
    points=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=2**62),
            st.floats(allow_nan=True, allow_infinity=True) | st.integers(-(2**53), 2**53),
        ),
        min_size=1,
        max_size=50,
    )
)
def test_metrics_round_trip_in_logging_order(store: Path, points: list) -> None:
    with xsite.init(project="p", capture=False, dir=store) as run:
        for step, value in points:
            run.log({"m": value}, step=step)
    frame = xsite.load_metrics([run.id], dir=store)
    assert frame["step"].tolist() == [step for step, _ in points]
    for got, (_, want) in zip(frame["value"].tolist(), points, strict=True):
        assert same(got, float(want))


def test_quickstart_flow_from_the_issue(store: Path, tmp_path: Path) -> None:
    model = tmp_path / "model.pt"
    model.write_bytes(b"\x00weights")
    with xsite.init(
        project="mnist",
        name="cnn-baseline",
        params={"lr": 1e-3, "optimizer": {"name": "adam", "beta1": 0.9}},
        tags=["cnn", "baseline"],
        notes="Why: baseline before augmentation.",
    ) as run:
        for step in range(100):
            run.log({"train/loss": 1 / (step + 1), "val/acc": step / 100})
        run.log_artifact(model)

    runs = xsite.load_runs()
    assert list(runs.columns[:9]) == [
        "run_id",
        "project",
        "name",
        "status",
        "started_at",
        "ended_at",
        "duration_s",
        "tags",
        "notes",
    ]
    row = runs.iloc[0]
    assert (row.run_id, row.project, row["name"], row.status) == (
        run.id,
        "mnist",
        "cnn-baseline",
        "finished",
    )
    assert list(row.tags) == ["cnn", "baseline"]
    assert row["params.optimizer.name"] == "adam" and row["params.lr"] == 1e-3
    assert row["metrics.train/loss"] == pytest.approx(1 / 100)
    assert row["metrics.val/acc"] == pytest.approx(0.99)
    assert row.duration_s >= 0

    hist = xsite.load_metrics(run_ids=[run.id], keys=["val/acc"])
    assert list(hist.columns) == ["run_id", "key", "step", "value", "time"]
    assert hist["step"].tolist() == list(range(100))
    assert set(hist["key"]) == {"val/acc"}
    assert hist["time"].is_monotonic_increasing
    copied = Path(run.dir) / "artifacts" / "model.pt"
    assert copied.read_bytes() == b"\x00weights"


def test_steps_auto_increment_and_follow_explicit_steps(store: Path) -> None:
    with xsite.init(capture=False) as run:
        run.log({"a": 1.0})
        run.log({"a": 2.0})
        run.log({"a": 3.0}, step=10)
        run.log({"a": 4.0})
    assert xsite.load_metrics()["step"].tolist() == [0, 1, 10, 11]


def test_metric_that_is_not_a_number_is_refused_naming_the_key(store: Path) -> None:
    with xsite.init(capture=False) as run:
        for bad in ("0.5", None, [1.0], {"x": 1}):
            with pytest.raises(TypeError, match="'val/acc'"):
                run.log({"train/loss": 0.1, "val/acc": bad})
        with pytest.raises(TypeError, match="step"):
            run.log({"a": 1.0}, step=1.5)  # type: ignore[arg-type]
        run.log({"ok": 1.0})
    # A refused call logs nothing at all, not even its valid values.
    assert xsite.load_metrics()["key"].tolist() == ["ok"]


def test_numpy_values_and_non_finite_values_are_kept(store: Path) -> None:
    with xsite.init(capture=False) as run:
        run.log(
            {
                "f32": np.float32(0.5),
                "i64": np.int64(7),
                "arr": np.array(2.5),
                "nan": float("nan"),
                "inf": math.inf,
                "ninf": -math.inf,
                "flag": True,
            }
        )
    values = dict(zip(*[xsite.load_metrics()[c].tolist() for c in ("key", "value")], strict=True))
    assert values["f32"] == 0.5 and values["i64"] == 7.0 and values["arr"] == 2.5
    assert math.isnan(values["nan"]) and values["inf"] == math.inf and values["ninf"] == -math.inf
    assert values["flag"] == 1.0
    runs = xsite.load_runs()
    assert math.isnan(runs.loc[0, "metrics.nan"]) and runs.loc[0, "metrics.inf"] == math.inf


def test_exception_in_block_marks_failed_and_reraises(store: Path) -> None:
    with pytest.raises(ZeroDivisionError), xsite.init(capture=False) as run:
        run.log({"a": 1.0})
        _ = 1 / 0
    assert xsite.load_runs().loc[0, "status"] == "failed"
    with pytest.raises(xsite.RunFinishedError):
        run.log({"a": 2.0})


def test_finish_without_with_and_params_added_later(store: Path) -> None:
    run = xsite.init(params={"lr": 0.1}, capture=False)
    run.log_params({"lr": 0.2, "schedule": {"warmup": 5}})
    run.add_tags("late")
    run.finish()
    run.finish()  # idempotent
    row = xsite.load_runs().iloc[0]
    assert row["params.lr"] == 0.2 and row["params.schedule.warmup"] == 5
    assert row.status == "finished" and list(row.tags) == ["late"]


def test_resume_appends_evaluations_after_training(store: Path) -> None:
    with xsite.init(project="p", name="train", capture=False) as run:
        for _ in range(5):
            run.log({"train/loss": 0.5})
    for dataset in ("cifar10-test", "cifar10.1"):
        with xsite.resume(run.id) as again:
            again.log({f"test/{dataset}/acc": 0.9})
    metrics = xsite.load_metrics([run.id])
    assert metrics["step"].tolist() == [0, 1, 2, 3, 4, 5, 6]
    row = xsite.load_runs().iloc[0]
    assert row.status == "finished" and row["name"] == "train"
    assert row["metrics.test/cifar10.1/acc"] == 0.9
    with pytest.raises(xsite.StoreError, match="no run"):
        xsite.resume("doesnotexist")


def test_artifacts_files_folders_and_names_that_try_to_escape(store: Path, tmp_path: Path) -> None:
    folder = tmp_path / "ckpt"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("a")
    (folder / "sub" / "b.txt").write_text("b")
    with xsite.init(capture=False) as run:
        assert run.log_artifact(folder) == "ckpt"
        assert run.log_artifact(folder / "a.txt", name="renamed/a.txt") == "renamed/a.txt"
        for bad in ("../evil", "/etc/passwd", "a/../../b", "", "x\\..\\y"):
            with pytest.raises(ValueError, match="invalid artifact name"):
                run.log_artifact(folder / "a.txt", name=bad)
        with pytest.raises(FileNotFoundError):
            run.log_artifact(tmp_path / "missing.bin")
    root = Path(run.dir) / "artifacts"
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) == [
        "ckpt/a.txt",
        "ckpt/sub/b.txt",
        "renamed/a.txt",
    ]
    table = xsite.StoreReader(store).read("artifacts", [run.id]).to_pylist()
    assert {(r["name"], r["size"]) for r in table} == {
        ("ckpt/a.txt", 1),
        ("ckpt/sub/b.txt", 1),
        ("renamed/a.txt", 1),
    }


def test_store_location_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("XSITE_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    with xsite.init(capture=False) as run:
        run.log({"a": 1.0})
    assert (tmp_path / "xsite-runs" / "runs" / run.id).is_dir()
    marker = json.loads((tmp_path / "xsite-runs" / "xsite-store.json").read_text())
    assert marker == {"format": "xsite-store", "version": xsite.STORE_VERSION}
    monkeypatch.setenv("XSITE_DIR", str(tmp_path / "elsewhere"))
    with xsite.init(capture=False) as other:
        pass
    assert (tmp_path / "elsewhere" / "runs" / other.id).is_dir()


def test_newer_store_format_is_refused_with_advice(store: Path) -> None:
    with xsite.init(capture=False):
        pass
    (store / "xsite-store.json").write_text('{"format": "xsite-store", "version": 99}')
    with pytest.raises(xsite.StoreError, match="upgrade xsite"):
        xsite.load_runs()


def test_missing_store_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(xsite.StoreError, match=r"no store at .*xsite\.init"):
        xsite.load_runs(tmp_path / "nope")


def test_load_runs_sorted_by_start_and_filtered_by_project(store: Path) -> None:
    ids = []
    for project in ("a", "b", "a"):
        with xsite.init(project=project, capture=False) as run:
            ids.append(run.id)
    assert xsite.load_runs()["run_id"].tolist() == ids
    assert xsite.load_runs(project="a")["run_id"].tolist() == [ids[0], ids[2]]
    assert isinstance(xsite.load_runs(project="zzz"), pd.DataFrame)
