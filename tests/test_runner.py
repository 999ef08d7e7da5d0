"""``xsite run -- COMMAND``: real child commands run through the real ``xsite`` command, and
the runs they leave in a real store."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import xsite
from xsite.runner import args_params
from xsite.runner.scrape import PatternError, Scraper, compile_patterns, read_line
from xsite.store.values import parse_value

TRAIN = """
import json, sys, time
print("starting", flush=True)
for step in range(4):
    print(f"step {step}: loss={1 / (step + 1):.3f} acc={step / 10}")
print(json.dumps({"step": 4, "val/acc": 0.77, "note": "text is no metric"}))
print("a warning", file=sys.stderr)
if "--fail" in sys.argv:
    sys.exit(3)
"""

ATTACHED = """
import xsite
run = xsite.init(project="ignored", params={"inner": 3}, tags=["from-child"])
run.log({"child/metric": 1.5}, step=2)
run.log_artifact_bytes("model.txt", b"weights")
print("loss: 0.5")
"""

SLOW = """
import time
print("step 0: loss=1.0", flush=True)
time.sleep(60)
"""


def xsite_run(
    store: Path, *args: str, script: str, cwd: Path, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    (cwd / "train.py").write_text(script)
    return subprocess.run(
        [sys.executable, "-m", "xsite.cli", "run", "--dir", str(store), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def only_run(store: Path) -> dict:
    runs = xsite.load_runs(store)
    assert len(runs) == 1
    return runs.iloc[0].to_dict()


def test_a_command_is_recorded_with_its_output_metrics_and_params(tmp_path: Path) -> None:
    store = tmp_path / "store"
    done = xsite_run(
        store,
        "--project", "mnist", "--tag", "cli", "--param", "seed=3", "--param", "opt=adam",
        "--params-from-args",
        "--", sys.executable, "train.py", "--lr", "0.01", "--layers=3", "--amp",
        script=TRAIN, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "step 3: loss=0.250" in done.stdout and "a warning" in done.stderr  # passed through
    run = only_run(store)
    assert (run["project"], run["name"], run["status"]) == ("mnist", "train", "finished")
    assert list(run["tags"]) == ["cli"]
    params = {k.removeprefix("params."): v for k, v in run.items() if k.startswith("params.")}
    assert params == {"seed": 3, "opt": "adam", "lr": 0.01, "layers": 3, "amp": True}
    points = xsite.load_metrics(dir=store)
    loss = points[points["key"] == "loss"]
    assert loss["step"].tolist() == [0, 1, 2, 3]
    assert loss["value"].tolist() == pytest.approx([1.0, 0.5, 0.333, 0.25])
    assert points.loc[points["key"] == "val/acc", ["step", "value"]].values.tolist() == [[4, 0.77]]
    assert set(points["key"]) == {"loss", "acc", "val/acc"}  # "step" and text are no metrics

    reader = xsite.StoreReader(store)
    record = reader.run_snapshot(run["run_id"])
    system = json.loads(record["system"])
    assert system["command"][1:] == ["train.py", "--lr", "0.01", "--layers=3", "--amp"]
    with reader.open_artifact(run["run_id"], "output.log") as log:
        text = log.read().decode()
    assert "starting" in text and "step 3: loss=0.250" in text and "a warning" in text


def test_a_failing_command_fails_the_run_and_its_status_is_passed_on(tmp_path: Path) -> None:
    store = tmp_path / "store"
    done = xsite_run(store, "--", sys.executable, "train.py", "--fail", script=TRAIN, cwd=tmp_path)
    assert done.returncode == 3
    run = only_run(store)
    assert run["status"] == "failed" and run["metrics.loss"] == 0.25
    assert "failed, exit status 3" in done.stderr


def test_xsite_init_inside_the_command_joins_its_run(tmp_path: Path) -> None:
    store = tmp_path / "store"
    done = xsite_run(
        store, "--name", "outer", "--", sys.executable, "train.py", script=ATTACHED, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    run = only_run(store)  # one run, not two
    assert (run["project"], run["name"], run["status"]) == ("default", "outer", "finished")
    assert list(run["tags"]) == ["from-child"] and run["params.inner"] == 3
    assert run["metrics.child/metric"] == 1.5 and run["metrics.loss"] == 0.5
    reader = xsite.StoreReader(store)
    with reader.open_artifact(run["run_id"], "model.txt") as artifact:
        assert artifact.read() == b"weights"


def test_ctrl_c_reaches_the_command_and_the_run_is_killed(tmp_path: Path) -> None:
    store = tmp_path / "store"
    (tmp_path / "train.py").write_text(SLOW)
    process = subprocess.Popen(
        [sys.executable, "-m", "xsite.cli", "run", "--dir", str(store), "--",
         sys.executable, "train.py"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    started = time.monotonic()
    assert process.stdout is not None
    # Streamed: the line arrives while the command still runs, not when it exits.
    assert process.stdout.readline() == "step 0: loss=1.0\n"
    assert time.monotonic() - started < 30 and process.poll() is None
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 128 + signal.SIGINT, stderr
    run = only_run(store)
    assert run["status"] == "killed" and run["metrics.loss"] == 1.0


def test_a_missing_command_or_a_bad_pattern_is_a_clear_error(tmp_path: Path) -> None:
    store = tmp_path / "store"
    done = xsite_run(store, "--", "no-such-program-xsite", script="", cwd=tmp_path)
    assert done.returncode == 2 and "no-such-program-xsite" in done.stderr
    bad = xsite_run(store, "--pattern", "loss=(", "--", "true", script="", cwd=tmp_path)
    assert bad.returncode == 2 and "not a regular expression" in bad.stderr
    assert not (store / "runs").exists() or not os.listdir(store / "runs")  # no run recorded


@pytest.mark.parametrize(
    ("line", "metrics", "step"),
    [
        ("step 10: loss=0.31 acc=0.9", {"loss": 0.31, "acc": 0.9}, 10),
        ("Epoch 3/10 - val/loss=0.25", {"val/loss": 0.25}, 3),
        ("loss: 0.31", {"loss": 0.31}, None),
        ("step: 7", {}, 7),
        ('{"step": 2, "loss": 1e-3, "ok": true, "name": "x"}', {"loss": 0.001}, 2),
        ("lr=1e-4 grad_norm=nan", {"lr": 0.0001, "grad_norm": float("nan")}, None),
        ("saved to model=final.pt", None, None),
        ("Loading data...", None, None),
        ("accuracy: 93%", None, None),
    ],
)
def test_the_built_in_forms(line: str, metrics: dict | None, step: int | None) -> None:
    reading = read_line(line)
    if metrics is None:
        assert reading is None
        return
    assert reading is not None and reading.step == step
    assert reading.metrics.keys() == metrics.keys()
    for key, value in metrics.items():
        assert reading.metrics[key] == pytest.approx(value, nan_ok=True)


def test_a_step_carries_over_and_before_any_each_key_counts_its_values() -> None:
    scraper = Scraper()
    fed = [scraper.feed(line) for line in ("loss: 3", "loss: 2", "acc: 0.1", "step: 5", "loss: 1")]
    assert fed == [
        [(0, {"loss": 3.0})],
        [(1, {"loss": 2.0})],
        [(0, {"acc": 0.1})],
        [],
        [(5, {"loss": 1.0})],
    ]


def test_patterns_of_ones_own() -> None:
    by_key = Scraper(compile_patterns([r"(?P<key>\w+) is (?P<value>[\d.]+)", r"it (?P<step>\d+)"]))
    assert by_key.feed("it 4: loss is 0.5, acc is 0.75") == [(4, {"loss": 0.5, "acc": 0.75})]
    by_name = Scraper(compile_patterns([r"Loss (?P<train_loss>[\d.]+)"]))
    assert by_name.feed("Epoch 1 Loss 0.25 loss=9") == [(0, {"train_loss": 0.25})]
    with pytest.raises(PatternError, match="no named group"):
        compile_patterns([r"loss=(\S+)"])


def test_command_line_values_are_typed() -> None:
    assert [parse_value(v) for v in ("32", "-1", "0.1", "1e-3", "true", "False", "adam", "1.2.3")] \
        == [32, -1, 0.1, 0.001, True, False, "adam", "1.2.3"]  # fmt: skip
    assert args_params(["data.csv", "--lr", "0.1", "--no-aug", "--depth=4", "-k", "5", "--", "x"]) \
        == {"lr": 0.1, "no_aug": True, "depth": 4, "k": 5}  # fmt: skip
