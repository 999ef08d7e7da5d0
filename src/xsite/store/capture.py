"""Best-effort capture of the environment a training run was launched from.

Records what is needed to reproduce or debug a run later: the git state of the
code (commit, branch, remote, uncommitted diff), the command line, the host,
the Python interpreter, installed packages and NVIDIA GPUs.  Every probe is
optional: one that fails leaves its field ``None`` (or empty) instead of
raising, because losing a run to its own bookkeeping is worse than losing the
bookkeeping.
"""

from __future__ import annotations

import getpass
import importlib.metadata
import os
import platform
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO, NamedTuple, TypeVar, cast

_TIMEOUT_S = 3.0
_MAX_OUTPUT_BYTES = 5 * 1024 * 1024
_MAX_UNTRACKED = 1000
# The userinfo of an http(s) URL ("user:password@" or a bare "token@"), which
# git accepts as stored credentials; it must not end up in experiment records.
_URL_CREDENTIALS = re.compile(r"^(https?://)[^/]*@", re.IGNORECASE)

T = TypeVar("T")


@dataclass(frozen=True)
class Capture:
    """The environment of a run: JSON-serialisable ``system`` info and the diff."""

    system: dict[str, object]
    git_diff: str | None


class _Output(NamedTuple):
    data: bytes
    truncated: bool


def capture(
    cwd: str | os.PathLike[str] | None = None, command: Sequence[str] | None = None
) -> Capture:
    """Capture the environment of a run started in ``cwd`` (default: the current dir) by
    ``command`` (default: this process's command line).

    Never raises: anything that cannot be found is simply absent (or None).
    """
    where = _safely(lambda: os.path.abspath(os.getcwd() if cwd is None else os.fsdecode(cwd)))
    git, diff = _git(where) if where is not None else (None, None)
    system: dict[str, object] = {
        "git": git,
        "command": (list(command) if command is not None else [sys.executable or "", *sys.argv]),
        "cwd": where,
        "user": _safely(getpass.getuser),
        "hostname": _safely(socket.gethostname),
        "os": _safely(platform.platform),
        "python": _safely(platform.python_version),
        "python_implementation": _safely(platform.python_implementation),
        "cpu_count": _safely(os.cpu_count),
        "memory_bytes": _safely(_memory_bytes),
        "gpus": _gpus(where),
        "packages": _safely(_packages) or [],
    }
    return Capture(system=system, git_diff=diff)


def _safely(probe: Callable[[], T]) -> T | None:
    # Platform probes fail in odd environments (no passwd entry for the uid, a
    # deleted cwd, no sysconf on Windows, broken package metadata); any such
    # failure only costs that one field.
    try:
        return probe()
    except Exception:
        return None


def _memory_bytes() -> int | None:
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return total if total > 0 else None


def _packages() -> list[str]:
    by_name: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        meta = dist.metadata  # an email.message.Message, whose .get the protocol leaves out
        name, version = meta.get("Name"), meta.get("Version")  # type: ignore[attr-defined]
        if name and version:
            # Distributions come in sys.path order, so the first one seen is
            # the one `import` actually resolves to.
            key = re.sub(r"[-_.]+", "-", name).lower()
            by_name.setdefault(key, f"{name}=={version}")
    return [by_name[key] for key in sorted(by_name)]


def _gpus(cwd: str | None) -> list[dict[str, object]]:
    query = "--query-gpu=name,memory.total,driver_version"
    out = _run(["nvidia-smi", query, "--format=csv,noheader,nounits"], cwd)
    if out is None:
        return []
    gpus: list[dict[str, object]] = []
    for line in out.data.decode(errors="replace").splitlines():
        fields = [field.strip() for field in line.rsplit(",", 2)]
        if len(fields) == 3:
            name, memory, driver = fields
            memory_mib = int(memory) if memory.isdigit() else None  # "[N/A]"
            gpus.append({"name": name, "memory_total_mib": memory_mib, "driver": driver})
    return gpus


def _git(cwd: str) -> tuple[dict[str, object] | None, str | None]:
    toplevel = _run(["git", "rev-parse", "--show-toplevel"], cwd)
    if toplevel is None:  # not in a work tree, or git is missing or unusable
        return None, None
    # Later commands run at the top level, where path-relative config such as
    # diff.relative cannot narrow their output; the raw bytes are used as the
    # cwd so that a path that is not valid UTF-8 still works.
    root = toplevel.data.rstrip(b"\n")
    commit = _git_text(["rev-parse", "--verify", "-q", "HEAD"], root)
    # If status fails (e.g. times out on a huge tree) the diff is still tried,
    # and then decides on its own whether the repo is dirty.
    status = _status(root)
    tracked_changes, untracked = status if status is not None else (None, [])
    diff, truncated = _diff(root, commit) if tracked_changes is not False else (None, False)
    info: dict[str, object] = {
        "commit": commit,
        "branch": _git_text(["symbolic-ref", "--short", "-q", "HEAD"], root),
        "remote": _remote(root),
        "dirty": bool(tracked_changes or untracked or diff),
        "untracked": untracked,
        "root": root.decode(errors="replace"),
        "diff_truncated": truncated,
    }
    return info, diff


def _git_text(args: list[str], cwd: bytes) -> str | None:
    out = _run(["git", *args], cwd)
    text = out.data.decode(errors="replace").rstrip("\n") if out is not None else ""
    return text or None


def _remote(cwd: bytes) -> str | None:
    url = _git_text(["remote", "get-url", "origin"], cwd)
    if url is None:
        names = (_git_text(["remote"], cwd) or "").split()
        url = _git_text(["remote", "get-url", names[0]], cwd) if names else None
    return _URL_CREDENTIALS.sub(r"\1", url) if url else None


def _status(cwd: bytes) -> tuple[bool, list[str]] | None:
    """Whether tracked files changed, and the (capped) untracked paths."""
    out = _run(["git", "status", "--porcelain", "--untracked-files=all", "-z"], cwd)
    if out is None:
        return None
    fields = out.data.decode(errors="replace").split("\0")
    if out.truncated:
        fields.pop()  # cut off mid-path
    tracked_changes = False
    untracked: list[str] = []
    entries = iter(fields)
    for entry in entries:
        code, path = entry[:2], entry[3:]
        if code == "??":
            if len(untracked) < _MAX_UNTRACKED:
                untracked.append(path)
        elif code:
            tracked_changes = True
            if "R" in code or "C" in code:
                next(entries, None)  # with -z the source path is a field of its own
    return tracked_changes, untracked


def _diff(cwd: bytes, commit: str | None) -> tuple[str | None, bool]:
    # Diffing against the sha already recorded (not "HEAD") keeps the two
    # consistent if HEAD moves meanwhile; without commits, diff the empty tree
    # (hashed by git so it matches the repo's object format).
    base = commit or _git_text(["hash-object", "-t", "tree", "--stdin"], cwd)
    if base is None:
        return None, False
    # Pin the output format so the stored patch applies with `git apply`
    # whatever the user's diff config (external tools, colour, prefixes).
    args = ["diff", "--no-color", "--no-ext-diff", "--no-textconv"]
    prefixes = ["--src-prefix=a/", "--dst-prefix=b/"]
    out = _run(["git", *args, *prefixes, base], cwd)
    if out is None or not out.data:
        return None, False
    return out.data.decode(errors="replace"), out.truncated


def _run(args: list[str], cwd: str | bytes | None) -> _Output | None:
    """Stdout of a command, cut at the size cap; None if it failed or hung."""
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    # A run must not take index.lock and so break the user's concurrent git use.
    env["GIT_OPTIONAL_LOCKS"] = "0"
    try:
        proc = subprocess.Popen(
            args,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # unread, so a pipe could fill and block
        )
    except (OSError, ValueError, subprocess.SubprocessError):
        return None
    # A kill timer rather than run(timeout=...): reading can then stop at the
    # cap instead of buffering a multi-gigabyte diff only to discard most of it.
    timer = threading.Timer(_TIMEOUT_S, proc.kill)
    timer.start()
    stdout = cast(IO[bytes], proc.stdout)
    try:
        data = stdout.read(_MAX_OUTPUT_BYTES + 1)
        truncated = len(data) > _MAX_OUTPUT_BYTES
        if truncated:
            proc.kill()
        returncode = proc.wait()
    except OSError:
        proc.kill()
        proc.wait()
        return None
    finally:
        timer.cancel()
        stdout.close()
    if truncated:
        return _Output(data[:_MAX_OUTPUT_BYTES], truncated=True)
    return _Output(data, truncated=False) if returncode == 0 else None
