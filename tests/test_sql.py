"""``xsite query`` and ``xsite.sql``: read-only SQL over a real store, and ``xsite ls --json``."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import xsite
from xsite.store.sql import SQLError


@pytest.fixture
def sweep(tmp_path: Path) -> Path:
    store = tmp_path / "store"
    for lr in (0.1, 0.01, 0.001):
        with xsite.init(project="mnist", params={"lr": lr}, tags=["sweep"], capture=False,
                        dir=store) as run:  # fmt: skip
            for step in range(20):
                run.log({"val/acc": lr * step, "train/loss": 1 - lr * step}, step=step)
            run.flush()  # two metrics parts: the view reads every part
            run.log({"val/acc": lr * 100}, step=20)
    return store


def test_the_runs_view_is_load_runs(sweep: Path) -> None:
    result = xsite.sql('SELECT * FROM runs ORDER BY "params.lr" DESC', sweep)
    expected = xsite.load_runs(sweep).sort_values("params.lr", ascending=False)
    assert result["run_id"].tolist() == expected["run_id"].tolist()
    assert list(result.columns) == list(expected.columns)
    assert result["metrics.val/acc"].tolist() == [10.0, 1.0, 0.1]


def test_the_metrics_view_holds_every_point(sweep: Path) -> None:
    result = xsite.sql(
        "SELECT run_id, key, count(*) AS points, max(value) AS best "
        "FROM metrics GROUP BY ALL ORDER BY run_id, key",
        sweep,
    )
    points = xsite.load_metrics(dir=sweep)
    expected = (
        points.groupby(["run_id", "key"])["value"]
        .agg(points="count", best="max")
        .reset_index()
        .sort_values(["run_id", "key"], ignore_index=True)
    )
    pd.testing.assert_frame_equal(result, expected, check_dtype=False)
    joined = xsite.sql(
        'SELECT r."params.lr" AS lr, max(m.value) AS best FROM metrics m '
        "JOIN runs r USING (run_id) WHERE m.key = 'val/acc' GROUP BY lr ORDER BY lr",
        sweep,
    )
    assert joined.values.tolist() == [[0.001, 0.1], [0.01, 1.0], [0.1, 10.0]]


@pytest.mark.parametrize(
    "statement",
    [
        "DELETE FROM runs",
        "CREATE TABLE t AS SELECT 1",
        "COPY (SELECT 1) TO 'copied.csv'",
        "ATTACH 'other.db'",
        "INSTALL httpfs",
        "SET threads = 1",
        "SELECT 1; DROP VIEW runs",
    ],
)
def test_anything_but_one_query_is_refused(
    sweep: Path, statement: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    with pytest.raises(SQLError, match=r"only queries|one query at a time"):
        xsite.sql(statement, sweep)
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before


def test_mistakes_and_an_empty_store(sweep: Path, tmp_path: Path) -> None:
    with pytest.raises(SQLError, match="nope"):
        xsite.sql("SELECT nope FROM runs", sweep)
    xsite.init(project="p", capture=False, dir=tmp_path / "empty").finish()
    assert xsite.sql("SELECT count(*) AS n FROM metrics", tmp_path / "empty")["n"].item() == 0


def test_the_command_line_forms(sweep: Path) -> None:
    def xsite_cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "xsite.cli", *args], capture_output=True, text=True
        )

    query = 'SELECT name, "params.lr" AS lr, tags FROM runs ORDER BY lr'
    rows = json.loads(xsite_cli("query", query, str(sweep), "--json").stdout)
    assert [row["lr"] for row in rows] == [0.001, 0.01, 0.1] and rows[0]["tags"] == ["sweep"]
    table = list(csv.DictReader(io.StringIO(xsite_cli("query", query, str(sweep), "--csv").stdout)))
    assert [row["lr"] for row in table] == ["0.001", "0.01", "0.1"]
    shown = xsite_cli("query", query, str(sweep)).stdout
    assert "3 rows" in shown and "sweep" in shown
    refused = xsite_cli("query", "DELETE FROM runs", str(sweep))
    assert refused.returncode == 1 and "only queries" in refused.stderr

    listed = json.loads(xsite_cli("ls", str(sweep), "--json").stdout)
    expected = xsite.load_runs(sweep)
    assert [run["run_id"] for run in listed] == expected["run_id"].tolist()
    assert listed[0]["params.lr"] == expected["params.lr"][0] and listed[0]["status"] == "finished"
