"""The example GitHub workflows: valid YAML of the documented shape, and every xsite command
in them runs as written (GitHub's ${{ }} expressions filled in) on a real store in a real
checkout, and is the command docs/publishing.md shows."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

import xsite
from tests.test_capture import git, isolated_git, make_repo, requires_git

__all__ = ["isolated_git"]  # autouse: no git config of the machine leaks into these tests

ROOT = Path(__file__).resolve().parent.parent
EXPRESSIONS = {
    "steps.pages.outputs.base_url": "https://me.github.io/digits",
    "github.base_ref": "main",
    "github.event.pull_request.number": "7",
    "github.token": "token",
    "steps.deployment.outputs.page_url": "https://me.github.io/digits/",
}


def workflow(name: str) -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "examples" / name).read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads a bare `on` as true
    return data


def steps(data: dict[str, Any], job: str) -> list[dict[str, Any]]:
    return data["jobs"][job]["steps"]


def xsite_commands(data: dict[str, Any]) -> list[str]:
    return [
        step["run"]
        for job in data["jobs"].values()
        for step in job.get("steps", [])
        if step.get("run", "").startswith("xsite ")
    ]


def filled(command: str) -> str:
    return re.sub(r"\$\{\{\s*([\w.]+)\s*\}\}", lambda m: EXPRESSIONS[m.group(1)], command)


def test_the_pages_workflow_has_the_official_shape() -> None:
    data = workflow("github-pages.yml")
    assert set(data["on"]) == {"push", "schedule", "workflow_dispatch"}
    assert data["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    assert data["concurrency"]["group"] == "pages"
    uses = [step.get("uses", "").split("@")[0] for step in steps(data, "build")]
    assert uses.index("actions/configure-pages") < uses.index("actions/upload-pages-artifact")
    upload = next(s for s in steps(data, "build") if "upload-pages-artifact" in s.get("uses", ""))
    assert upload["with"] == {"path": "site", "include-hidden-files": True}
    assert data["jobs"]["deploy"]["environment"]["name"] == "github-pages"
    assert steps(data, "deploy")[0]["uses"].startswith("actions/deploy-pages@")
    assert xsite_commands(data) == [
        'xsite build --strict --base-url "${{ steps.pages.outputs.base_url }}/"'
    ]


def test_the_pull_request_workflow_comments_then_gates() -> None:
    data = workflow("pull-request-report.yml")
    assert set(data["on"]) == {"pull_request"}
    assert data["permissions"]["pull-requests"] == "write"
    checkout = steps(data, "report")[0]
    assert checkout["with"]["fetch-depth"] == 0  # the base branch, for --against
    runs = [step.get("run", "") for step in steps(data, "report")]
    assert [r.split()[0] for r in runs if r][-3:] == ["xsite", "gh", "xsite"]


def test_the_documented_commands_are_the_workflows_commands() -> None:
    documented = (ROOT / "docs/publishing.md").read_text()
    for name in ("github-pages.yml", "pull-request-report.yml"):
        for command in xsite_commands(workflow(name)):
            assert command in documented, command


@requires_git
@pytest.mark.parametrize("name", ["github-pages.yml", "pull-request-report.yml"])
def test_every_xsite_command_of_the_workflows_runs(tmp_path: Path, name: str, monkeypatch) -> None:
    checkout = make_repo(tmp_path / "checkout")
    monkeypatch.chdir(checkout)
    with xsite.init(project="digits", name="baseline", dir="xsite-runs") as run:
        run.log({"val/acc": 0.91})
    git(checkout, "update-ref", "refs/remotes/origin/main", "HEAD")  # the base branch
    (checkout / "train.py").write_text("lr = 0.05\n")
    git(checkout, "commit", "-qam", "the pull request's change")
    with xsite.init(project="digits", name="candidate", dir="xsite-runs") as run:
        run.log({"val/acc": 0.95})
    for command in xsite_commands(workflow(name)):
        words = shlex.split(filled(command))
        output = None
        if ">" in words:
            output = checkout / words[words.index(">") + 1]
            words = words[: words.index(">")]
        result = subprocess.run(
            [sys.executable, "-m", "xsite.cli", *words[1:]],
            cwd=checkout,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
        if output is not None:
            output.write_text(result.stdout)
    if name == "github-pages.yml":
        assert (checkout / "site/.nojekyll").is_file()
        assert "https://me.github.io/digits/runs/" in (checkout / "site/sitemap.xml").read_text()
    else:
        report = (checkout / "report.md").read_text()
        assert "runs at `origin/main`" in report and "better" in report
