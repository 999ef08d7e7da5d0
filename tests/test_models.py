"""The model registry in a real store: ``Run.log_model`` versions with their lineage,
numbered right by processes racing each other, read back by ``load_models``/``get_model``."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import pandas as pd
import pytest

import xsite
from tests.test_capture import git, make_repo
from tests.test_records import FRAME


def model_folder(tmp_path: Path, weights: bytes = b"\x00\x01weights") -> Path:
    folder = tmp_path / "model"
    (folder / "config").mkdir(parents=True, exist_ok=True)
    (folder / "weights.bin").write_bytes(weights)
    (folder / "config" / "arch.json").write_text('{"layers": 3}')
    return folder


def test_versions_keep_the_lineage_of_the_moment_they_were_logged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(name, raising=False)
    repo = make_repo(tmp_path / "repo")
    monkeypatch.chdir(repo)
    store = tmp_path / "store"
    folder = model_folder(tmp_path)
    with xsite.init(project="digits", name="cnn", params={"lr": 0.1}, dir=store) as run:
        run.log_dataset(FRAME, name="digits", split="train")
        run.log({"val/acc": 0.5}, step=0)
        first = run.log_model(folder, "digits-cnn", metadata={"framework": "numpy", "dims": [8]})
        run.log({"val/acc": 0.9}, step=5)
        run.log_params({"lr": 0.01})
        (folder / "weights.bin").write_bytes(b"better weights")
        second = run.log_model(folder, "digits-cnn")
        again = run.log_model(folder / "weights.bin", "digits-cnn")
    assert [first.version, second.version, again.version] == [1, 2, 3]
    assert first.metrics == {"val/acc": {"value": 0.5, "step": 0}}
    assert second.metrics == {"val/acc": {"value": 0.9, "step": 5}}
    assert (first.params, second.params) == ({"lr": 0.1}, {"lr": 0.01})
    assert first.git["commit"] == git(repo, "rev-parse", "HEAD") and first.git["dirty"] is False
    [dataset] = first.datasets
    assert dataset["label"] == "digits/train" and dataset["fingerprint"].startswith("sha256:")
    assert first.metadata == {"framework": "numpy", "dims": [8]}
    assert [f.file_name for f in first.files] == ["config/arch.json", "weights.bin"]
    assert first.digest != second.digest
    assert first.files[0].sha256 == second.files[0].sha256  # the unchanged file

    read = xsite.get_model("digits-cnn", 1, dir=store)
    assert read == first  # as logged, from the registry
    assert xsite.get_model("digits-cnn", dir=store).version == 3  # the latest
    out = read.download(tmp_path / "out")
    assert (out / "weights.bin").read_bytes() == b"\x00\x01weights"
    assert (out / "config" / "arch.json").read_text() == '{"layers": 3}'
    # The files are the run's artifacts too, under the model's name.
    artifacts = xsite.StoreReader(store).read("artifacts", [run.id]).column("name").to_pylist()
    assert {f.name for v in (first, second, again) for f in v.files} <= set(artifacts)

    frame = xsite.load_models(store)
    assert frame[["name", "version", "run_id", "metrics.val/acc"]].values.tolist() == [
        ["digits-cnn", 1, run.id, 0.5],
        ["digits-cnn", 2, run.id, 0.9],
        ["digits-cnn", 3, run.id, 0.9],
    ]
    assert frame.loc[0, "metadata.framework"] == "numpy"
    assert frame.loc[0, "git_commit"] == first.git["commit"]
    assert frame.loc[0, "datasets"] == [dataset["fingerprint"]]


def test_projects_number_their_models_apart_and_names_stay_in_their_folder(
    tmp_path: Path,
) -> None:
    store = tmp_path / "store"
    weights = tmp_path / "weights.bin"
    weights.write_bytes(b"w")
    for project in ("a", "b", "b"):
        with xsite.init(project=project, capture=False, dir=store) as run:
            version = run.log_model(weights, "../../escape/..")
    assert version.version == 2
    claimed = sorted((store / "models").rglob("*.json"))
    assert [path.relative_to(store).as_posix() for path in claimed] == [
        "models/a/%2E.%2F..%2Fescape%2F../v1.json",
        "models/b/%2E.%2F..%2Fescape%2F../v1.json",
        "models/b/%2E.%2F..%2Fescape%2F../v2.json",
    ]
    with pytest.raises(LookupError, match="pass project="):
        xsite.get_model("../../escape/..", dir=store)
    assert xsite.get_model("../../escape/..", project="a", dir=store).version == 1
    with pytest.raises(LookupError, match=r"has no version 7 \(it has 1, 2\)"):
        xsite.get_model("../../escape/..", 7, project="b", dir=store)
    with pytest.raises(LookupError, match="no model named 'nope'"):
        xsite.get_model("nope", dir=store)


def test_bad_input_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    store = tmp_path / "store"
    weights = tmp_path / "weights.bin"
    weights.write_bytes(b"w")
    (tmp_path / "empty").mkdir()
    with xsite.init(project="p", capture=False, dir=store) as run:
        with pytest.raises(ValueError, match="metadata of model 'm' must be JSON"):
            run.log_model(weights, "m", metadata={"when": object()})
        with pytest.raises(FileNotFoundError, match=r"missing\.pt"):
            run.log_model(tmp_path / "missing.pt", "m")
        with pytest.raises(ValueError, match="holds no files"):
            run.log_model(tmp_path / "empty", "m")
        with pytest.raises(ValueError, match="model name must be a non-empty string"):
            run.log_model(weights, " ")
    assert not (store / "models").exists()
    with pytest.raises(xsite.RunFinishedError):
        run.log_model(weights, "m")


def test_a_resumed_run_logs_its_lineage_from_the_store(tmp_path: Path) -> None:
    store = tmp_path / "store"
    weights = tmp_path / "weights.bin"
    weights.write_bytes(b"w")
    with xsite.init(project="p", params={"depth": 4}, capture=False, dir=store) as run:
        run.log({"loss": 0.3})
    with xsite.resume(run.id, dir=store) as resumed:
        version = resumed.log_model(weights, "m")
    assert version.params == {"depth": 4}
    assert version.metrics == {"loss": {"value": 0.3, "step": 0}}


RACER = """
import sys, xsite
store, index = sys.argv[1], int(sys.argv[2])
with xsite.init(project="race", name=f"writer-{index}", capture=False, dir=store) as run:
    for n in range(VERSIONS):
        run.log({"n": n})
        v = run.log_model(sys.argv[3], "shared", metadata={"writer": index, "n": n})
        print(v.version, flush=True)
"""
WRITERS, VERSIONS = 6, 5


def race(store: str, tmp_path: Path) -> list[list[int]]:
    """WRITERS processes logging VERSIONS versions of one model at once: what each got."""
    script = tmp_path / "racer.py"
    script.write_text(RACER.replace("VERSIONS", str(VERSIONS)))
    weights = tmp_path / "weights.bin"
    weights.write_bytes(b"w" * 1000)
    racers = [
        subprocess.Popen(
            [sys.executable, str(script), store, str(i), str(weights)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(WRITERS)
    ]
    got = []
    for racer in racers:
        out, err = racer.communicate(timeout=180)
        assert racer.returncode == 0, err[-2000:]
        got.append([int(line) for line in out.split()])
    return got


def check_race(got: list[list[int]], frame: pd.DataFrame) -> None:
    # Every version number once, none skipped; each writer's own in increasing order.
    assert sorted(v for versions in got for v in versions) == list(range(1, WRITERS * VERSIONS + 1))
    assert all(versions == sorted(versions) for versions in got)
    # The registry says which writer made each version, as each writer was told.
    assert frame["version"].tolist() == list(range(1, WRITERS * VERSIONS + 1))
    told = {v: i for i, versions in enumerate(got) for v in versions}
    assert {row.version: row["metadata.writer"] for _, row in frame.iterrows()} == told


def test_versions_are_numbered_right_when_processes_race(tmp_path: Path) -> None:
    store = tmp_path / "store"
    got = race(str(store), tmp_path)
    check_race(got, xsite.load_models(store))
    assert not [p for p in (store / "models").rglob("*") if p.name.startswith(".tmp-")]


def test_a_broken_version_file_is_named_and_the_rest_still_read(tmp_path: Path) -> None:
    store = tmp_path / "store"
    weights = tmp_path / "weights.bin"
    weights.write_bytes(b"w")
    with xsite.init(project="p", capture=False, dir=store) as run:
        run.log_model(weights, "m")
        run.log_model(weights, "m")
    broken = store / "models" / "p" / "m" / "v1.json"
    broken.write_text("{not json")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = xsite.load_models(store)
    assert frame["version"].tolist() == [2]
    assert any(str(broken) in str(w.message) for w in caught)
    with xsite.init(project="p", capture=False, dir=store) as run:
        assert run.log_model(weights, "m").version == 3  # a broken file still holds its number
