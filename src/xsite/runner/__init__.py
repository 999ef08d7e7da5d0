"""``xsite run -- COMMAND``: record a run of any command, without changing its code.

The command runs as a child process. Its output goes through to the terminal as it comes
and into the run's ``output.log`` artifact; metrics are read from it as it runs
(:mod:`xsite.runner.scrape`). Inside the command, ``xsite.init()`` joins this run rather
than starting another (``$XSITE_RUN_ID``). The run ends ``finished`` when the command exits
0, ``failed`` on another exit status, and ``killed`` when a signal stopped it: Ctrl-C,
SIGTERM and SIGHUP sent to ``xsite run`` are passed on to the command.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO, Any, Final

from xsite.runner.scrape import Scraper, compile_patterns
from xsite.store.capture import capture as capture_environment
from xsite.store.fs import STORE_ENV_VAR, resolve_location
from xsite.store.reader import StoreReader
from xsite.store.values import parse_value
from xsite.store.writer import RUN_ID_ENV_VAR, Run, RunStatus, start_run

LOG_ARTIFACT: Final = "output.log"
FORWARDED_SIGNALS: Final = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
_CHUNK: Final = 1 << 16
_FLAG: Final = re.compile(r"^--?(?P<key>[A-Za-z_][\w.-]*)(?:=(?P<value>.*))?$", re.DOTALL)


@dataclass(frozen=True)
class CommandRun:
    """What :func:`run_command` recorded."""

    run: Run
    exit_code: int
    """The command's exit status; 128 + N when signal N stopped it, as a shell reports."""


def run_command(
    command: Sequence[str],
    *,
    project: str = "default",
    name: str | None = None,
    tags: Sequence[str] = (),
    params: Mapping[str, Any] | None = None,
    params_from_args: bool = False,
    scrape: bool = True,
    patterns: Sequence[str] = (),
    dir: str | os.PathLike[str] | None = None,
    capture: bool = True,
    stdout: IO[bytes] | None = None,
    stderr: IO[bytes] | None = None,
) -> CommandRun:
    """Run ``command`` and record it as a run; returns the run and the exit status.

    ``params_from_args`` adds the command's own ``--flag value`` and ``--flag=value``
    arguments to ``params``, typed by :func:`parse_value`. Metrics are read from the
    output unless ``scrape`` is false: in the built-in forms, or by ``patterns``
    (:mod:`xsite.runner.scrape`). Output is copied to ``stdout`` and ``stderr`` (default:
    this process's). Raises :class:`~xsite.runner.scrape.PatternError` for a bad pattern
    and :class:`FileNotFoundError` when the command cannot be started.
    """
    if not command:
        raise ValueError("no command to run: put it after `--`, e.g. xsite run -- python train.py")
    if shutil.which(command[0]) is None:
        raise FileNotFoundError(f"cannot run {command[0]!r}: no such program (looked in $PATH)")
    scraper = Scraper(compile_patterns(patterns)) if scrape else None
    location = resolve_location(dir)
    all_params = {**(args_params(command[1:]) if params_from_args else {}), **(params or {})}
    run = start_run(
        project,
        name or _default_name(command),
        params=all_params,
        tags=tags,
        notes=None,
        dir=location,
        captured=capture_environment(command=command) if capture else None,
    )
    env = {
        **os.environ,
        RUN_ID_ENV_VAR: run.id,
        STORE_ENV_VAR: location,
        "PYTHONUNBUFFERED": "1",  # a Python child writes its lines as they come, not at exit
    }
    try:
        # Its own process group: Ctrl-C reaches xsite run only, which passes it on once.
        child = subprocess.Popen(
            list(command),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            env=env,
            process_group=0,
        )
    except OSError as error:  # found, but not runnable after all (permissions, format)
        run.finish("failed")
        raise FileNotFoundError(f"cannot run {command[0]!r}: {error.strerror}") from error
    signalled: list[int] = []
    with _PassSignalsOn(child, signalled), tempfile.TemporaryDirectory() as folder:
        log_path = Path(folder, LOG_ARTIFACT)
        with log_path.open("wb") as log:
            lock = threading.Lock()
            pumps = [
                _pump(child.stdout, stdout or sys.stdout.buffer, (log, lock), run, scraper),
                _pump(child.stderr, stderr or sys.stderr.buffer, (log, lock), run, scraper),
            ]
            returncode = child.wait()
            for pump in pumps:
                pump.join()
        run.log_artifact(log_path)
    _take_changes_of_the_command(run, location)
    run.finish(_status(returncode, signalled))
    return CommandRun(run, 128 - returncode if returncode < 0 else returncode)


def args_params(args: Sequence[str]) -> dict[str, Any]:
    """``--flag value``, ``--flag=value`` and bare ``--flag`` (True) as params, typed."""
    params: dict[str, Any] = {}
    index = 0
    while index < len(args):
        match = _FLAG.match(args[index])
        index += 1
        if match is None or match["key"].isdigit():
            continue
        key, value = match["key"].replace("-", "_"), match["value"]
        if value is None:
            if index < len(args) and not args[index].startswith("-"):
                value = args[index]
                index += 1
            else:
                params[key] = True
                continue
        params[key] = parse_value(value)
    return params


def _pump(
    source: IO[bytes] | None,
    echo: IO[bytes],
    shared_log: tuple[IO[bytes], threading.Lock],
    run: Run,
    scraper: Scraper | None,
) -> threading.Thread:
    """A thread copying ``source`` to ``echo`` and to the log (shared by both outputs) as
    it comes, and logging the metrics of each line."""
    assert source is not None
    log, lock = shared_log

    def pump() -> None:
        pending = b""
        fd = source.fileno()
        while chunk := os.read(fd, _CHUNK):
            echo.write(chunk)
            echo.flush()
            with lock:
                log.write(chunk)
            if scraper is None:
                continue
            # A line ends at \n, or at \r, which progress bars use to redraw theirs.
            *lines, pending = re.split(rb"\r\n|\r|\n", pending + chunk)
            for line in lines:
                _log_line(run, scraper, line)
        if scraper is not None and pending:
            _log_line(run, scraper, pending)
        source.close()

    thread = threading.Thread(target=pump, daemon=True)
    thread.start()
    return thread


def _log_line(run: Run, scraper: Scraper, line: bytes) -> None:
    for step, metrics in scraper.feed(line.decode("utf-8", "replace")):
        try:
            run.log(metrics, step=step)
        except (TypeError, ValueError) as error:  # keep the output flowing, whatever a line says
            sys.stderr.write(f"xsite: metrics of a line left out: {error}\n")


class _PassSignalsOn:
    """Pass the signals a user sends ``xsite run`` on to the command, noting them."""

    def __init__(self, child: subprocess.Popen[bytes], signalled: list[int]) -> None:
        self.child = child
        self.signalled = signalled
        self.previous: dict[int, Callable[[int, FrameType | None], Any] | int | None] = {}

    def __enter__(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return  # signal handlers can only be set from the main thread
        for signum in FORWARDED_SIGNALS:
            self.previous[signum] = signal.signal(signum, self._forward)

    def _forward(self, signum: int, frame: FrameType | None) -> None:
        self.signalled.append(signum)
        if self.child.poll() is None:
            self.child.send_signal(signum)

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)


def _take_changes_of_the_command(run: Run, location: str) -> None:
    """Tags and notes the command itself set through ``xsite.init()``, so that the final
    record keeps them."""
    record = StoreReader(location).run_snapshot(run.id)
    run.tags = list(dict.fromkeys([*run.tags, *record["tags"]]))
    run.notes = record["notes"]


def _status(returncode: int, signalled: list[int]) -> RunStatus:
    if returncode == 0:
        return "finished"
    if returncode < 0 or signalled:
        return "killed"
    return "failed"


def _default_name(command: Sequence[str]) -> str:
    """The script a command runs (``train`` for ``python train.py --lr 0.1``), else the
    program's name."""
    for arg in command[1:]:
        if not arg.startswith("-") and Path(arg).suffix:
            return Path(arg).stem
    return Path(command[0]).name
