"""``--redact``: a site that does not say who ran the experiments, or where.

For double-blind review. Removed from every run before anything is made of it (pages,
JSON, search index, text artifacts):
- the user name and host name captured with the run (the fields go, and the names go from
  every other text), and the git remote and checkout folder;
- absolute paths (``/home/alice/data``, ``C:\\Users\\alice``, ``file://`` URLs), e-mail
  addresses and ``git@host:org/repo`` remotes, wherever they appear: params, notes, tags,
  names, the command line, package lists, text artifacts.

The names of this machine's user and host are removed too, from notes as well.
"""

from __future__ import annotations

import getpass
import os
import re
import socket
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from xsite.site.model import RunRecord
from xsite.store.registry import Registry

USER, HOST, PATH, EMAIL, REMOTE = (
    "[redacted-user]",
    "[redacted-host]",
    "[redacted-path]",
    "[redacted-email]",
    "[redacted-remote]",
)
_PATTERNS = (
    (re.compile(r"file://\S+"), PATH),
    (re.compile(r"\b[\w.-]+@[\w.-]+:[\w./~-]+"), REMOTE),
    (re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b"), EMAIL),
    (re.compile(r"\b[A-Za-z]:\\[^\s\"'<>|]*"), PATH),
    # An absolute path: not part of a URL (://host/...) or of a word (val/acc, 1/2).
    (re.compile(r"(?<![\w.~:/\-])/(?:[^\s/\"'<>:;,()\[\]{}`]+/)*[^\s/\"'<>:;,()\[\]{}`]+/?"), PATH),
)
_REPEATED = re.compile(r"(\[redacted-[a-z]+\])\1+")
_DROPPED_SYSTEM = ("user", "hostname", "cwd")
_DROPPED_GIT = ("remote", "root")


class Redactor:
    """Removes identities and locations from text: known remotes and paths (longest first),
    everything that looks like a path, an e-mail address or a git remote, then known user
    and host names."""

    def __init__(self, known: Iterable[tuple[str, str]] = ()) -> None:
        self.known = sorted(
            {(text, label) for text, label in known if text and len(text) >= 2},
            key=lambda pair: -len(pair[0]),
        )
        # Names are replaced as whole words ("ann" leaves "annealing" alone); paths and
        # remotes wherever they appear.
        self._known = [
            (re.compile(re.escape(text)), label)
            for text, label in self.known
            if label not in (USER, HOST)
        ]
        self._names = [
            (re.compile(rf"\b{re.escape(text)}\b"), label)
            for text, label in self.known
            if label in (USER, HOST)
        ]

    @classmethod
    def of_this_machine(cls) -> Redactor:
        return cls(_machine_identities())

    def text(self, value: str) -> str:
        for pattern, label in (*self._known, *_PATTERNS, *self._names):
            value = pattern.sub(label, value)
        return _REPEATED.sub(r"\1", value)  # a known folder, then the rest of its path

    def value(self, value: Any) -> Any:
        """Every string in a JSON-like value, redacted."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list | tuple):
            return type(value)(self.value(item) for item in value)
        if isinstance(value, dict):
            return {key: self.value(item) for key, item in value.items()}
        return value

    def for_run(self, record: RunRecord) -> Redactor:
        """This redactor, knowing also the identities the run captured (for its record and
        its text artifacts)."""
        return self.for_system(record.system)

    def for_system(self, system: dict[str, Any]) -> Redactor:
        """This redactor, knowing also the identities in a run's captured ``system``."""
        git = system.get("git") or {}
        return Redactor(
            [
                *self.known,
                (str(system.get("user") or ""), USER),
                (str(system.get("hostname") or ""), HOST),
                (str(git.get("remote") or ""), REMOTE),
                (str(git.get("root") or ""), PATH),
                (str(system.get("cwd") or ""), PATH),
            ]
        )

    def record(self, record: RunRecord) -> RunRecord:
        """The run without its identities; call it on :meth:`for_run`'s redactor."""
        system, git = record.system, record.system.get("git") or {}
        kept = {key: value for key, value in system.items() if key not in _DROPPED_SYSTEM}
        if git:
            kept["git"] = {key: value for key, value in git.items() if key not in _DROPPED_GIT}
        return replace(
            record,
            name=self.text(record.name),
            tags=tuple(self.text(tag) for tag in record.tags),
            notes=self.text(record.notes) if record.notes else record.notes,
            params=self.value(record.params),
            system=self.value(kept),
            previews={name: self.text(text) for name, text in record.previews.items()},
            datasets=tuple(
                replace(d, source=self.text(d.source) if d.source else None)
                for d in record.datasets
            ),
        )

    def registry(self, registry: Registry, systems: Callable[[str], dict[str, Any]]) -> Registry:
        """The model registry without identities: each version redacted as its run is
        (knowing the identities ``systems(run_id)`` gives: the run's captured ``system``),
        its git remote dropped; the notes of alias moves redacted."""
        redactors: dict[str, Redactor] = {}

        def of(run_id: str) -> Redactor:
            if run_id not in redactors:
                redactors[run_id] = self.for_system(systems(run_id))
            return redactors[run_id]

        return Registry(
            [
                replace(
                    v,
                    run_name=of(v.run_id).text(v.run_name),
                    params=of(v.run_id).value(v.params),
                    metadata=of(v.run_id).value(v.metadata),
                    git={
                        key: of(v.run_id).value(value)
                        for key, value in v.git.items()
                        if key not in _DROPPED_GIT
                    },
                )
                for v in registry.versions
            ],
            [
                replace(c, note=self.text(c.note) if c.note else c.note)
                for c in registry.alias_changes
            ],
        )


def _machine_identities() -> list[tuple[str, str]]:
    found = []
    for read, label in ((getpass.getuser, USER), (socket.gethostname, HOST)):
        try:
            found.append((read(), label))
        except (OSError, KeyError):
            continue
    home = os.path.expanduser("~")
    if home not in ("~", "/"):
        found.append((str(Path(home)), PATH))
    return found
