"""Reading note files: Markdown with YAML front matter, from the notes folder.

```markdown
---
title: Does augmentation help the small CNN?
date: 2026-11-20
tags: [augmentation, decision]
runs: [cnn-baseline, "tags contains 'aug'"]
status: decided
---
Augmentation adds 1.2 points on [[cnn-baseline]] …
```
A note that cannot be read is left out with a problem that names its file and line; the
other notes and the rest of the site are built.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

STATUSES = ("draft", "open", "decided", "abandoned")
DEFAULT_STATUS = "open"
MAX_BYTES = 1_000_000
_DATED_NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})[-_ ]*(.*)$")
_HEADING = re.compile(r"^#\s+(.+?)\s*#*\s*$", re.MULTILINE)


@dataclass(frozen=True)
class NoteFile:
    """A note as its file says it."""

    path: Path
    name: str
    """Its path in the notes folder (``2026/augmentation.md``), which names it in messages."""
    title: str
    date: date | None
    tags: tuple[str, ...]
    runs: tuple[str, ...]
    """Run ids, run names or queries: the runs the note is about."""
    metrics: tuple[str, ...]
    """The metrics its comparison shows (default: all)."""
    status: str
    body: str
    body_line: int
    """The file line the body starts on."""


class NoteProblem(Exception):
    """A note file that cannot be read; the message names the file and line."""


def read_notes(folder: Path) -> tuple[list[NoteFile], list[str]]:
    """Every ``*.md`` file under ``folder`` (hidden ones aside), in path order, and a
    message for each that could not be read."""
    notes, problems = [], []
    root = folder.resolve()
    for path in sorted(folder.rglob("*.md")):
        name = path.relative_to(folder).as_posix()
        if any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue
        if not path.resolve().is_relative_to(root):
            problems.append(f"{path}: links outside the notes folder; left out")
            continue
        try:
            notes.append(read_note(path, name))
        except NoteProblem as problem:
            problems.append(str(problem))
    return notes, problems


def read_note(path: Path, name: str) -> NoteFile:
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise NoteProblem(f"{path}: cannot be read: {error.strerror or error}") from error
    if len(raw) > MAX_BYTES:
        raise NoteProblem(f"{path}: larger than {MAX_BYTES:,} bytes; left out")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise NoteProblem(f"{path}: not UTF-8 text (byte {error.start})") from error
    text = text.replace("\r\n", "\n")
    front, body, body_line = _split(path, text)
    settings, lines = _front_matter(path, front)
    return _note(path, name, settings, lines, body, body_line)


def _split(path: Path, text: str) -> tuple[str | None, str, int]:
    """Front matter (None if there is none), body, and the line the body starts on."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        return None, text, 1
    for number, line in enumerate(lines[1:], start=1):
        if line.strip() in ("---", "..."):
            return "\n".join(lines[1:number]), "\n".join(lines[number + 1 :]), number + 2
    raise NoteProblem(f"{path}:1: front matter opened with --- is never closed by ---")


def _front_matter(path: Path, front: str | None) -> tuple[dict[str, Any], dict[str, int]]:
    """The front matter's settings, and the file line of each."""
    if front is None or not front.strip():
        return {}, {}
    try:
        node = yaml.compose(front, Loader=yaml.SafeLoader)
        values = yaml.safe_load(front)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f":{mark.line + 2}" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise NoteProblem(f"{path}{line}: front matter is not valid YAML: {problem}") from error
    if not isinstance(values, dict) or not isinstance(node, yaml.MappingNode):
        raise NoteProblem(f"{path}:2: front matter must be key: value lines")
    lines = {str(key.value): key.start_mark.line + 2 for key, _ in node.value}
    return {str(key): value for key, value in values.items()}, lines


def _note(
    path: Path,
    name: str,
    settings: dict[str, Any],
    lines: dict[str, int],
    body: str,
    body_line: int,
) -> NoteFile:
    def problem(key: str, message: str) -> NoteProblem:
        return NoteProblem(f"{path}:{lines.get(key, 1)}: {key}: {message}")

    stem = name.removesuffix(".md")
    dated = _DATED_NAME.match(stem.rsplit("/", 1)[-1])

    title = settings.get("title")
    if title is None:
        heading = _HEADING.search(body)
        title = heading.group(1) if heading else _title_from(dated, stem)
    elif not isinstance(title, str | int | float) or isinstance(title, bool):
        raise problem("title", f"must be text, got {title!r}")

    when = settings.get("date")
    if isinstance(when, datetime):
        when = when.date()
    elif isinstance(when, str):
        try:
            when = date.fromisoformat(when.strip()[:10])
        except ValueError as error:
            raise problem("date", f"must be a date like 2026-11-20, got {when!r}") from error
    elif when is None and dated:
        try:
            when = date.fromisoformat(dated.group(1))
        except ValueError:
            when = None
    elif when is not None and not isinstance(when, date):
        raise problem("date", f"must be a date like 2026-11-20, got {when!r}")

    status = settings.get("status", DEFAULT_STATUS)
    if status not in STATUSES:
        raise problem("status", f"must be one of {', '.join(STATUSES)}, got {status!r}")

    return NoteFile(
        path=path,
        name=name,
        title=str(title).strip() or stem,
        date=when,
        tags=_strings(settings, "tags", problem),
        runs=_strings(settings, "runs", problem),
        metrics=_strings(settings, "metrics", problem),
        status=status,
        body=body,
        body_line=body_line,
    )


def _strings(
    settings: dict[str, Any], key: str, problem: Callable[[str, str], NoteProblem]
) -> tuple[str, ...]:
    value = settings.get(key)
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return tuple(str(v) for v in value)
    raise problem(key, f"must be a text or a list of texts, got {value!r}")


def _title_from(dated: re.Match[str] | None, stem: str) -> str:
    words = (dated.group(2) if dated and dated.group(2) else stem.rsplit("/", 1)[-1]).replace(
        "-", " "
    )
    return words.replace("_", " ").strip().capitalize() or stem
