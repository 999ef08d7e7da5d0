"""A real ``xsite serve`` process on a free port, and what it prints."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import xsite


def log_runs(store: Path, *names: str, project: str = "mnist") -> list[str]:
    ids = []
    for name in names:
        with xsite.init(project=project, name=name, capture=False, dir=store) as run:
            run.log({"val/acc": 0.5, "train/loss": 1.0}, step=0)
            run.log({"val/acc": 0.7, "train/loss": 0.5}, step=1)
        ids.append(run.id)
    return ids


class Preview:
    """``xsite serve`` in a child process (as a user starts it), in folder ``cwd``."""

    def __init__(self, cwd: Path, *args: str) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "xsite.cli", "serve", "--port", "0", *args],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "250", "TERM": "dumb"},
        )
        threading.Thread(target=self._read, daemon=True).start()
        line = self.wait_for(r"Serving (http://\S+)", timeout=60)
        self.url = (
            re.search(r"Serving (http://\S+)", line).group(1).replace("localhost", "127.0.0.1")
        )

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            self.lines.put(line)

    def wait_for(self, pattern: str, timeout: float = 15) -> str:
        """The next printed line that matches ``pattern``."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no line matching {pattern!r} in:\n{''.join(self.output)}")
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if re.search(pattern, line):
                return line

    def builds(self) -> int:
        return sum(1 for line in self.output if line.startswith("Built "))

    def stop(self) -> int:
        """Ctrl-C, as a user stops it; the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                return self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                raise
        return self.process.returncode
