"""Shared fixtures: real stores on disk and real child processes that write to them."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty store folder; ``XSITE_DIR`` points at it, as in a training job."""
    path = tmp_path / "store"
    monkeypatch.setenv("XSITE_DIR", str(path))
    return path


def child_env(store: Path, **extra: str) -> dict[str, str]:
    return dict(os.environ, XSITE_DIR=str(store), PYTHONUNBUFFERED="1", **extra)


def start_child(code: str, store: Path, **env: str) -> subprocess.Popen[str]:
    """Start a real Python process running ``code`` against ``store``."""
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=child_env(store, **env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_child(code: str, store: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=child_env(store),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
