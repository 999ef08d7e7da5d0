"""The README's demo works: the quickstart sweep trains, logs and builds a site."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import xsite

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def quickstart_runs(tmp_path: Path) -> Path:
    """The quickstart sweep's store, trained for 3 epochs (as the README runs it, shorter)."""
    store = tmp_path / "demo-runs"
    command = [sys.executable, str(ROOT / "examples/quickstart.py"), "--dir", str(store)]
    subprocess.run([*command, "--epochs", "3"], check=True, capture_output=True)
    return store


def test_quickstart_sweep_builds_the_demo_site(tmp_path: Path) -> None:
    store = quickstart_runs(tmp_path)
    runs = xsite.load_runs(store)
    assert len(runs) == 12 and set(runs["status"]) == {"finished"}
    assert runs["metrics.val/acc"].between(0, 1).all()
    assert runs["notes"].str.contains("Why:").all()
    config = xsite.load_config(
        ROOT / "examples/xsite.toml", store=str(store), out=str(tmp_path / "site")
    )
    report = xsite.build(config)
    assert report.runs == 12 and report.broken_links == [] and report.skipped == []
    assert report.warnings == []  # the example notes name real runs and valid blocks
    home = (tmp_path / "site/index.html").read_text()
    assert "Digits: a linear baseline sweep" in home and "val/acc" in home
    notes = json.loads((tmp_path / "site/notes/notes.json").read_text())["notes"]
    assert [note["status"] for note in notes] == ["decided", "abandoned", "decided"]
    assert all(note["runs"] and note["comparison"] for note in notes)
    # Each new best run logged its weights as the next version of the model, with its data.
    versions = xsite.load_models(store)
    assert versions["version"].tolist() == list(range(1, len(versions) + 1))
    best = runs.loc[runs["metrics.val/acc"].idxmax(), "run_id"]
    assert versions["run_id"].iloc[-1] == best
    assert versions["aliases"].iloc[-1] == ["production"]
    assert versions["datasets"].map(len).eq(2).all()  # the train and val splits
    assert (tmp_path / "site/models/digits/digits-softmax/index.html").is_file()
    assert (tmp_path / "site/datasets/index.html").is_file()


def test_the_mkdocs_example_builds_with_the_quickstart_runs(tmp_path: Path) -> None:
    store = quickstart_runs(tmp_path)
    project = tmp_path / "mkdocs-project"
    shutil.copytree(ROOT / "examples/mkdocs-project", project)
    config = yaml.safe_load((project / "mkdocs.yml").read_text())
    config["site_dir"] = str(tmp_path / "demo-docs")
    xsite_settings = config["plugins"][1]["xsite"]
    xsite_settings.update(store=str(store), config=str(ROOT / "examples/xsite.toml"))
    (project / "mkdocs.yml").write_text(yaml.safe_dump(config))
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(project / "mkdocs.yml")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    docs = tmp_path / "demo-docs"
    assert (docs / "experiments/notes/index.html").is_file()  # the example notes too
    assert (docs / "experiments/models/digits/digits-softmax/index.html").is_file()  # models
    results = (docs / "guide/results/index.html").read_text()
    assert results.count('class="xsite-embed"') == 2 and "softmax-lr1.0-wd0.0" in results
