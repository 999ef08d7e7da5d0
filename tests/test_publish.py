"""Publishing only what you mean to: ``--select`` and ``--redact``, on runs captured in a
real git checkout by a real training process."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from tests.test_capture import git, make_repo, requires_git
from xsite.cli import app

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
    log = next(site.glob("runs/*/artifacts/log.txt")).read_text()
    assert log.startswith("loaded [redacted-path] for [redacted-user]")

    # Back to a full site: nothing redacted is left over from the cache.
    again = CliRunner().invoke(app, ["build", *base])
    assert again.exit_code == 0 and secrets_in(site, [USER])
