"""The store is an open format: DuckDB, pandas, Polars and pyarrow read it as documented in
docs/store-format.md, and the environment of each run is captured with it."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import duckdb
import pandas as pd
import polars as pl
import pyarrow.dataset as ds
import pytest
from typer.testing import CliRunner

import xsite
from xsite.cli import app

DOCS = Path(__file__).parent.parent / "docs" / "store-format.md"


@pytest.fixture
def sweep(store: Path) -> list[str]:
    ids = []
    for lr in (0.1, 0.01, 0.001):
        with xsite.init(project="mnist", params={"lr": lr}, capture=False) as run:
            for step in range(20):
                run.log({"val/acc": lr * step, "train/loss": 1 - lr * step}, step=step)
        ids.append(run.id)
    return ids


def documented_sql(name: str, doc: Path = DOCS) -> str:
    """A SQL block from the docs, marked with ``<!-- sql: name -->`` before its fence."""
    text = doc.read_text()
    match = re.search(rf"<!-- sql: {name} -->\s*```sql\n(.*?)```", text, re.S)
    assert match, f"{doc.name} has no sql block named {name}"
    return match.group(1)


def test_documented_duckdb_queries_work(
    store: Path, sweep: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(store)  # the docs' queries use paths relative to the store folder
    best = duckdb.sql(documented_sql("best-runs")).df()
    assert best["lr"].tolist() == [0.1, 0.01, 0.001]
    assert best["best_acc"].tolist() == pytest.approx([1.9, 0.19, 0.019])
    latest = duckdb.sql(documented_sql("latest-status")).df()
    assert sorted(latest["run_id"]) == sorted(sweep)
    assert set(latest["status"]) == {"finished"}


def test_pandas_polars_and_pyarrow_read_the_parts(store: Path, sweep: list[str]) -> None:
    parts = sorted(str(p) for p in store.glob("runs/*/metrics-*.parquet"))
    assert len(pd.concat(pd.read_parquet(p) for p in parts)) == 3 * 20 * 2
    assert pl.read_parquet(f"{store}/runs/*/metrics-*.parquet").height == 120
    assert ds.dataset(parts, format="parquet").count_rows() == 120


def test_git_state_is_captured_and_the_diff_saved_as_artifact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@e", "-c", "commit.gpgsign=false"]
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=repo, check=True)
    (repo / "train.py").write_text("lr = 0.1\n")
    subprocess.run([*git, "add", "."], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "init"], cwd=repo, check=True)
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()
    monkeypatch.chdir(repo)
    store = tmp_path / "store"

    with xsite.init(dir=store) as clean:
        pass
    (repo / "train.py").write_text("lr = 0.2\n")
    with xsite.init(dir=store) as dirty:
        pass

    reader = xsite.StoreReader(store)
    systems = {row["run_id"]: json.loads(row["system"]) for row in reader.snapshots().to_pylist()}
    assert systems[clean.id]["git"]["commit"] == commit
    assert systems[clean.id]["git"]["dirty"] is False
    assert systems[clean.id]["git"]["branch"] == "main"
    assert systems[dirty.id]["git"]["dirty"] is True
    assert not (Path(clean.dir) / "artifacts" / "git.diff").exists()
    diff = (Path(dirty.dir) / "artifacts" / "git.diff").read_text()
    assert "-lr = 0.1" in diff and "+lr = 0.2" in diff
    assert systems[dirty.id]["command"][0]
    assert systems[dirty.id]["python"]


def test_capture_can_be_turned_off(store: Path) -> None:
    with xsite.init(capture=False):
        pass
    assert xsite.StoreReader(store).snapshots().to_pylist()[0]["system"] is None


def test_cli_ls_lists_runs_and_explains_errors(store: Path, sweep: list[str]) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["ls", str(store)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for run_id in sweep:
        assert run_id in result.output
    assert "finished" in result.output and "val/acc" in result.output
    missing = runner.invoke(app, ["ls", str(store / "nope")])
    assert missing.exit_code == 1
    assert "no store at" in missing.output
    assert "Traceback" not in missing.output


def test_load_runs_and_ls_take_a_query(store: Path, sweep: list[str]) -> None:
    runs = xsite.load_runs(query="params.lr >= 0.001 and metrics.val/acc > 0.1")
    assert list(runs["run_id"]) == sweep[:2]  # val/acc ends at 1.9, 0.19 and 0.019
    assert list(xsite.load_runs(query="params.lr in (0.01, 0.001)")["run_id"]) == sweep[1:]
    with pytest.raises(xsite.XsiteError, match="position 11"):
        xsite.load_runs(query="params.lr >")

    runner = CliRunner()
    result = runner.invoke(app, ["ls", "-q", "params.lr < 0.05"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert [run_id in result.output for run_id in sweep] == [False, True, True]
    none = runner.invoke(app, ["ls", "--query", "params.lr > 9"])
    assert none.exit_code == 0 and "No run matches the query" in none.output
    bad = runner.invoke(app, ["ls", "--query", "params.lr >"])
    assert bad.exit_code == 1 and "position 11" in bad.output
    assert "Traceback" not in bad.output


def test_cli_compact_reports_what_it_merged(store: Path) -> None:
    with xsite.init(capture=False) as run:
        for step in range(3):
            run.log({"a": float(step)})
            run.flush()
    result = CliRunner().invoke(app, ["compact", str(store)])
    assert result.exit_code == 0, result.output
    assert "Compacted 1 runs" in result.output
    assert xsite.load_metrics()["value"].tolist() == [0.0, 1.0, 2.0]
