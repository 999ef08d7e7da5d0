"""Tests for run-environment capture, against real git repositories."""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import os
import platform
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from xsite.store.capture import Capture, capture

# By name from sys.modules, in case the package ever re-exports capture().
capture_module = importlib.import_module("xsite.store.capture")

requires_git = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")

SYSTEM_KEYS = {
    "git",
    "command",
    "cwd",
    "user",
    "hostname",
    "os",
    "python",
    "python_implementation",
    "cpu_count",
    "memory_bytes",
    "gpus",
    "packages",
}
GIT_KEYS = {"commit", "branch", "remote", "dirty", "untracked", "root", "diff_truncated"}


@pytest.fixture(autouse=True)
def isolated_git(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Neither the developer's git config nor an enclosing repository (say,
    # tmp_path under a checkout) may leak into what capture() sees.
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        monkeypatch.delenv(name, raising=False)


def git(cwd: Path, *args: str) -> str:
    identity = ["-c", "user.name=t", "-c", "user.email=t@e", "-c", "commit.gpgsign=false"]
    result = subprocess.run(
        ["git", *identity, *args], cwd=cwd, check=True, capture_output=True, text=True
    )
    return result.stdout.strip()


def make_repo(path: Path, *, commit: bool = True) -> Path:
    path.mkdir()
    git(path, "-c", "init.defaultBranch=main", "init", "-q")
    if commit:
        (path / "train.py").write_text("lr = 0.1\n")
        git(path, "add", "train.py")
        git(path, "commit", "-q", "-m", "initial")
    return path


def git_info(result: Capture) -> dict[str, object]:
    info = result.system["git"]
    assert isinstance(info, dict)
    assert set(info) == GIT_KEYS
    return info


@requires_git
def test_clean_repo(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")

    result = capture(repo)

    info = git_info(result)
    assert info["commit"] == git(repo, "rev-parse", "HEAD")
    assert info["branch"] == "main"
    assert info["dirty"] is False
    assert info["untracked"] == []
    assert info["remote"] is None
    assert info["diff_truncated"] is False
    assert os.path.realpath(str(info["root"])) == os.path.realpath(repo)
    assert result.git_diff is None


@requires_git
def test_dirty_repo_records_diff_and_untracked_files(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    (repo / "train.py").write_text("lr = 0.2\n")
    (repo / "data").mkdir()
    (repo / "data" / "notes.txt").write_text("scratch\n")

    # From a subdirectory: the whole repo is still described.
    result = capture(repo / "data")

    info = git_info(result)
    assert info["dirty"] is True
    assert info["untracked"] == ["data/notes.txt"]
    assert result.git_diff is not None
    assert "-lr = 0.1" in result.git_diff
    assert "+lr = 0.2" in result.git_diff
    assert "diff --git a/train.py b/train.py" in result.git_diff


@requires_git
def test_diff_is_a_patch_that_applies(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    (repo / "train.py").write_text("lr = 0.3\nepochs = 10\n")
    diff = capture(repo).git_diff
    assert diff is not None
    git(repo, "checkout", "-q", "--", "train.py")

    subprocess.run(["git", "apply"], cwd=repo, input=diff, text=True, check=True)

    assert (repo / "train.py").read_text() == "lr = 0.3\nepochs = 10\n"


@requires_git
def test_untracked_files_alone_make_repo_dirty_without_diff(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    (repo / "scratch.py").write_text("print()\n")

    result = capture(repo)

    info = git_info(result)
    assert info["dirty"] is True
    assert info["untracked"] == ["scratch.py"]
    assert result.git_diff is None


@requires_git
def test_untracked_list_is_capped(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    for i in range(1005):
        (repo / f"f{i}.txt").touch()

    untracked = git_info(capture(repo))["untracked"]

    assert isinstance(untracked, list)
    assert len(untracked) == 1000


@requires_git
def test_large_diff_is_truncated(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    # Only added lines, so git's diff stays linear-time.
    line = "x" * 99 + "\n"
    (repo / "train.py").write_text("lr = 0.1\n" + line * 60_000)  # ~6 MB

    result = capture(repo)

    assert git_info(result)["diff_truncated"] is True
    assert result.git_diff is not None
    assert 4 * 1024 * 1024 < len(result.git_diff) <= 5 * 1024 * 1024


@requires_git
@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://user:tok@github.com/a/b.git", "https://github.com/a/b.git"),
        ("https://ghp_token@github.com/a/b.git", "https://github.com/a/b.git"),
        ("HTTP://u:p%40ss@host:8080/a/b", "HTTP://host:8080/a/b"),
        ("https://github.com/a/b.git", "https://github.com/a/b.git"),
        ("git@github.com:a/b.git", "git@github.com:a/b.git"),
        ("ssh://git@host/a/b.git", "ssh://git@host/a/b.git"),
    ],
)
def test_remote_url_has_credentials_stripped(tmp_path: Path, url: str, expected: str) -> None:
    repo = make_repo(tmp_path / "repo")
    git(repo, "remote", "add", "origin", url)

    assert git_info(capture(repo))["remote"] == expected


@requires_git
def test_origin_is_preferred_over_other_remotes(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    git(repo, "remote", "add", "aaa", "https://example.com/aaa.git")
    git(repo, "remote", "add", "origin", "https://example.com/origin.git")

    assert git_info(capture(repo))["remote"] == "https://example.com/origin.git"


@requires_git
def test_first_remote_is_used_without_origin(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    git(repo, "remote", "add", "upstream", "https://x:y@example.com/up.git")

    assert git_info(capture(repo))["remote"] == "https://example.com/up.git"


@requires_git
def test_detached_head_has_no_branch(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    git(repo, "checkout", "-q", "--detach")

    info = git_info(capture(repo))

    assert info["branch"] is None
    assert info["commit"] == git(repo, "rev-parse", "HEAD")


@requires_git
def test_repo_without_commits(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", commit=False)

    result = capture(repo)

    info = git_info(result)
    assert info["commit"] is None
    assert info["branch"] == "main"
    assert info["dirty"] is False
    assert result.git_diff is None


@requires_git
def test_repo_without_commits_diffs_staged_files_against_empty_tree(
    tmp_path: Path,
) -> None:
    repo = make_repo(tmp_path / "repo", commit=False)
    (repo / "train.py").write_text("lr = 0.1\n")
    git(repo, "add", "train.py")

    result = capture(repo)

    assert git_info(result)["dirty"] is True
    assert result.git_diff is not None
    assert "+lr = 0.1" in result.git_diff


@requires_git
def test_directory_outside_any_repo(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()

    result = capture(plain)

    assert result.system["git"] is None
    assert result.git_diff is None
    assert result.system["cwd"] == str(plain)


@requires_git
def test_git_missing_from_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = make_repo(tmp_path / "repo")
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))

    result = capture(repo)

    assert result.system["git"] is None
    assert result.git_diff is None
    assert result.system["gpus"] == []
    assert result.system["python"] == platform.python_version()
    assert result.system["packages"]


def test_nonexistent_cwd_does_not_raise(tmp_path: Path) -> None:
    result = capture(tmp_path / "missing")

    assert result.system["git"] is None
    assert result.system["cwd"] == str(tmp_path / "missing")


def test_system_has_exactly_the_documented_keys_and_is_json(tmp_path: Path) -> None:
    result = capture(tmp_path)

    assert set(result.system) == SYSTEM_KEYS
    assert json.loads(json.dumps(result.system)) == result.system


def test_default_cwd_is_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    assert capture().system["cwd"] == os.getcwd()


def test_packages_are_sorted_pins_including_pytest(tmp_path: Path) -> None:
    packages = capture(tmp_path).system["packages"]

    assert isinstance(packages, list)
    assert f"pytest=={importlib.metadata.version('pytest')}" in packages
    names = [p.split("==")[0].lower().replace("_", "-") for p in packages]
    assert names == sorted(names)
    assert len(set(names)) == len(names)


def test_command_is_interpreter_then_argv(tmp_path: Path) -> None:
    command = capture(tmp_path).system["command"]

    assert command == [sys.executable, *sys.argv]


def test_host_fields(tmp_path: Path) -> None:
    system = capture(tmp_path).system

    assert isinstance(system["hostname"], str)
    assert system["cpu_count"] == os.cpu_count()
    memory = system["memory_bytes"]
    assert memory is None or (isinstance(memory, int) and memory > 0)


def _fake_command(directory: Path, name: str, script: str) -> None:
    path = directory / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.mark.skipif(sys.platform == "win32", reason="uses a shell script")
def test_gpus_are_read_from_nvidia_smi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _fake_command(
        bin_dir,
        "nvidia-smi",
        'printf "NVIDIA A100-SXM4-80GB, 81920, 535.104.05\\nTesla K80, [N/A], 470.1\\n"\n',
    )
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")

    gpus = capture(tmp_path).system["gpus"]

    assert gpus == [
        {
            "name": "NVIDIA A100-SXM4-80GB",
            "memory_total_mib": 81920,
            "driver": "535.104.05",
        },
        {"name": "Tesla K80", "memory_total_mib": None, "driver": "470.1"},
    ]


@pytest.mark.skipif(sys.platform == "win32", reason="uses a shell script")
@pytest.mark.parametrize(
    "script",
    [
        "echo 'NVIDIA-SMI has failed'; exit 9\n",
        # exec, so that the timeout's kill reaches the process holding the pipe.
        "exec sleep 30\n",
    ],
    ids=["fails", "hangs"],
)
def test_failing_or_hanging_tool_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _fake_command(bin_dir, "nvidia-smi", script)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(capture_module, "_TIMEOUT_S", 0.2)

    start = time.monotonic()
    result = capture(tmp_path)

    assert time.monotonic() - start < 5
    assert result.system["gpus"] == []
