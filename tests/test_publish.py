"""Publishing: ``--select`` and ``--redact`` on runs captured in a real git checkout by a
real training process; ``xsite check`` and ``xsite report`` for CI; ``xsite deploy`` to a
real bare repository."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import xsite
from tests.test_capture import git, isolated_git, make_repo, requires_git
from xsite.cli import app

__all__ = ["isolated_git"]  # autouse: no git config of the machine leaks into these tests

USER = "alicedoe42"
EMAIL = "alice.doe@uni-example.org"
REMOTE = "git@github.com:alice-lab/secret-project.git"
TRAIN = f"""
import sys, xsite
name, tags = sys.argv[1], sys.argv[2:]
params = {{"data": "/home/{USER}/datasets/train.csv", "contact": "{EMAIL}", "lr": 0.1}}
store = sys.argv[0].rsplit("/", 1)[0] + "/store"
with xsite.init(project="paper", name=name, tags=tags, dir=store, params=params,
                notes="Data from /srv/{USER}/raw, ask {EMAIL}.") as run:
    run.log({{"val/acc": 0.9}})
    with open("log.txt", "w") as log:
        log.write("loaded " + __file__ + " for {USER}\\n")
    run.log_artifact("log.txt")
    run.log_model("log.txt", "paper-model", metadata={{"trained_by": "{USER}"}})
"""


def secrets_in(site: Path, secrets: list[str]) -> list[str]:
    """Each ``secret`` found in any file of the site (compressed search files opened)."""
    found = []
    for path in sorted(p for p in site.rglob("*") if p.is_file()):
        content = path.read_bytes()
        if content[:2] == b"\x1f\x8b":
            content = gzip.decompress(content)
        text = content.decode("utf-8", errors="replace")
        found += [f"{secret} in {path.relative_to(site)}" for secret in secrets if secret in text]
    return found


@requires_git
def test_a_selected_redacted_site_holds_no_identity(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / f"checkout-of-{USER}")
    git(repo, "remote", "add", "origin", REMOTE)
    (repo / "train.py").write_text(TRAIN)  # uncommitted: a git.diff artifact too
    environment = {**os.environ, "USER": USER, "LOGNAME": USER}
    for name, tags in [("final-model", ["paper"]), ("unpublished-idea", ["scratch"])]:
        subprocess.run(
            [sys.executable, str(repo / "train.py"), name, *tags],
            cwd=repo,
            env=environment,
            check=True,
            capture_output=True,
        )
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "results.md").write_text(f"# Results\n\n[[final-model]] wins. Mail {EMAIL}.\n")
    site = tmp_path / "site"
    base = [str(repo / "store"), "--out", str(site), "--notes", str(notes)]

    plain = CliRunner().invoke(app, ["build", *base])
    assert plain.exit_code == 0, plain.output
    secrets = [USER, EMAIL, "alice-lab", "secret-project", str(tmp_path)]
    assert secrets_in(site, secrets)  # the plain site shows them all: the test can fail

    result = CliRunner().invoke(
        app, ["build", *base, "--select", "tags contains 'paper'", "--redact", "--strict"]
    )
    assert result.exit_code == 0, result.output
    assert secrets_in(site, [*secrets, "unpublished-idea"]) == []
    page = (site / "index.html").read_text()
    assert "final-model" in page
    run_json = next(site.glob("runs/*/run.json")).read_text()
    assert '"hostname"' not in run_json and '"user"' not in run_json
    assert "[redacted-path]" in run_json and "[redacted-email]" in run_json
    note = (site / "notes/results/index.html").read_text()
    assert "[redacted-email]" in note and "final-model" in note
    model = (site / "models/paper/paper-model/index.html").read_text()
    assert "final-model" in model and "unpublished-idea" not in model
    assert "[redacted-user]" in model  # the metadata, redacted as its run is
    log = next(site.glob("runs/*/artifacts/log.txt")).read_text()
    assert log.startswith("loaded [redacted-path] for [redacted-user]")

    # Back to a full site: nothing redacted is left over from the cache.
    again = CliRunner().invoke(app, ["build", *base])
    assert again.exit_code == 0 and secrets_in(site, [USER])


@pytest.fixture
def sweep(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str, str]:
    """A checkout with two commits and runs at each: the second commit's run is better.
    Returns the checkout and the two commits."""
    repo = make_repo(tmp_path / "repo")
    monkeypatch.chdir(repo)
    first = git(repo, "rev-parse", "HEAD")
    for name, acc in [("old-a", 0.70), ("old-b", 0.80)]:
        with xsite.init(project="mnist", name=name, dir=tmp_path / "store") as run:
            run.log({"val/acc": acc, "loss": 1 - acc})
    (repo / "train.py").write_text("lr = 0.05\n")
    git(repo, "commit", "-qam", "lower lr")
    second = git(repo, "rev-parse", "HEAD")
    with xsite.init(project="mnist", name="new", dir=tmp_path / "store") as run:
        run.log({"val/acc": 0.9, "loss": 0.1})
    (repo / "xsite.toml").write_text(
        f'title = "MNIST"\nstore = "{tmp_path / "store"}"\n[projects.mnist]\nheadline = "val/acc"\n'
    )
    return repo, first, second


def test_check_gates_on_a_query(sweep) -> None:
    runner = CliRunner()
    passed = runner.invoke(app, ["check", "metrics.val/acc >= 0.9"])
    assert passed.exit_code == 0 and "1 run(s) match: new" in passed.output
    failed = runner.invoke(app, ["check", "metrics.val/acc >= 0.95"])
    assert failed.exit_code == 1 and "No run matches" in failed.output
    broken = runner.invoke(app, ["check", "metrics.val/acc >="])
    assert broken.exit_code == 2 and "position" in broken.output


def test_report_against_a_git_ref_or_a_query(sweep) -> None:
    _, first, _ = sweep
    site = "https://me.github.io/mnist/"
    result = CliRunner().invoke(app, ["report", "--against", first, "--site-url", site])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "## MNIST" and "3 runs in 1 project" in lines[2]
    best = [line for line in lines if line.startswith("| [")]
    assert best[0].startswith("| [new](https://me.github.io/mnist/runs/")
    assert f"runs at `{first}` ({first[:7]})" in result.output
    change = next(line for line in lines if line.startswith("| mnist | val/acc"))
    assert "| 0.8 ([old-b](" in change and "| 0.9 ([new](" in change
    assert change.endswith("| +0.1 (+12.5%) better |")
    loss = next(line for line in lines if line.startswith("| mnist | loss"))
    assert loss.endswith("better |")  # lower loss is better

    by_query = CliRunner().invoke(app, ["report", "--against", "name = 'old-a'"])
    assert by_query.exit_code == 0
    assert "2 runs compared with 1 baseline runs" in by_query.output
    bad = CliRunner().invoke(app, ["report", "--against", "no such ref ("])
    assert bad.exit_code == 1 and "no git ref, run id, run name or query" in bad.output


def test_deploy_pushes_the_site_to_gh_pages_and_leaves_the_work_tree(
    sweep, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, _, second = sweep
    monkeypatch.setenv("GIT_COMMITTER_NAME", "xsite test")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "test@example.org")
    runner = CliRunner()
    no_remote = runner.invoke(app, ["deploy"])
    assert no_remote.exit_code == 1 and "no git remote named 'origin'" in no_remote.output
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(repo, "remote", "add", "origin", str(remote))
    status_before = git(repo, "status", "--porcelain")

    result = runner.invoke(app, ["deploy"])
    assert result.exit_code == 0, result.output
    files = git(remote, "ls-tree", "-r", "--name-only", "gh-pages").splitlines()
    assert "index.html" in files and ".nojekyll" in files and "runs.json" in files
    assert any(f.startswith("runs/") and f.endswith("/index.html") for f in files)
    assert git(repo, "rev-parse", "HEAD") == second  # the working branch is untouched
    assert git(repo, "symbolic-ref", "--short", "HEAD") == "main"
    assert git(repo, "status", "--porcelain") == status_before
    message = git(remote, "log", "-1", "--format=%s", "gh-pages")
    assert message == f"Deploy the xsite site built from {second[:7]}"

    # Deploying again replaces the branch's files with the new site.
    with xsite.init(project="mnist", name="newest", dir=tmp_path / "store") as run:
        run.log({"val/acc": 0.95})
    assert runner.invoke(app, ["deploy"]).exit_code == 0
    assert f"runs/{run.id}/index.html" in git(remote, "ls-tree", "-r", "--name-only", "gh-pages")


def test_deploy_outside_a_repository_says_so(tmp_path: Path, monkeypatch) -> None:
    with xsite.init(project="p", name="r", dir=tmp_path / "store", capture=False) as run:
        run.log({"x": 1.0})
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["deploy", str(tmp_path / "store")])
    assert result.exit_code == 1 and "not inside a git repository" in result.output
