"""Metrics read from what a command prints, line by line, for ``xsite run``.

Three forms are understood by default:

- a JSON object on a line of its own: ``{"step": 10, "loss": 0.31, "acc": 0.9}``; every
  number in it is a metric, but ``step`` (or ``epoch``, when there is no ``step``), which
  is the step;
- ``key=value`` pairs anywhere in a line: ``step 10: loss=0.31 acc=0.9`` or
  ``epoch=3 val/loss=0.25``;
- a line that is only ``key: value``: ``loss: 0.31``, ``step: 10``.

A step is read from ``step N``, ``step=N`` or ``step: N`` (else ``epoch``) in the same line;
a line without one takes the last step seen. Before any step is seen, each key's values are
numbered 0, 1, 2… as they come. Keys that name a step or epoch are not metrics.

Patterns of one's own (``--pattern``) are regular expressions searched in each line: either
with groups named ``key`` and ``value`` (every match is a metric), or with a group per
metric, named after it (``loss=(?P<loss>\\S+)``); a group named ``step`` gives the step.
When patterns are given, they replace the default forms.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

NUMBER: Final = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf)"
KEY: Final = r"[A-Za-z_][\w./@-]*"
_PAIR: Final = re.compile(rf"(?<![\w./@-])(?P<key>{KEY})=(?P<value>{NUMBER})(?![\w.])")
_ALONE: Final = re.compile(rf"^\s*(?P<key>{KEY})\s*:\s*(?P<value>{NUMBER})\s*$")
_STEP: Final = re.compile(r"\b(?P<name>step|epoch)\b\s*[=:]?\s*(?P<value>\d+)\b", re.IGNORECASE)
_STEP_KEYS: Final = frozenset({"step", "epoch", "global_step"})


class PatternError(ValueError):
    """A ``--pattern`` that is no regular expression, or has no group to read."""


@dataclass(frozen=True)
class Reading:
    """The metrics read from one line, and their step (None: the scraper's current step)."""

    metrics: dict[str, float]
    step: int | None


def compile_patterns(patterns: Iterable[str]) -> list[re.Pattern[str]]:
    """The user's ``--pattern`` expressions, checked."""
    compiled = []
    for text in patterns:
        try:
            pattern = re.compile(text)
        except re.error as error:
            raise PatternError(f"--pattern {text!r} is not a regular expression: {error}") from None
        names = set(pattern.groupindex)
        if not names or ("key" in names) != ("value" in names):
            raise PatternError(
                f"--pattern {text!r} has no named group to read: name groups `key` and "
                "`value`, or one group per metric, e.g. 'loss=(?P<loss>\\S+)', or `step`"
            )
        compiled.append(pattern)
    return compiled


def read_line(line: str, patterns: list[re.Pattern[str]] | None = None) -> Reading | None:
    """The metrics in one line of output, or None when it holds none."""
    if patterns:
        return _read_with(line, patterns)
    stripped = line.strip()
    if stripped.startswith("{") and stripped.endswith("}"):
        return _read_json(stripped)
    pairs = {match["key"]: match["value"] for match in _PAIR.finditer(line)}
    if not pairs and (alone := _ALONE.match(line)):
        pairs = {alone["key"]: alone["value"]}
    if not pairs:
        return None
    step = _step_of(line, pairs)
    metrics = {key: float(value) for key, value in pairs.items() if key.lower() not in _STEP_KEYS}
    if not metrics and step is None:
        return None
    return Reading(metrics, step)


def _read_with(line: str, patterns: list[re.Pattern[str]]) -> Reading | None:
    metrics: dict[str, float] = {}
    step = None
    for pattern in patterns:
        for match in pattern.finditer(line):
            groups = {k: v for k, v in match.groupdict().items() if v is not None}
            if "step" in groups:
                step = _int(groups.pop("step"))
            if "key" in groups and "value" in groups:
                if (value := _float(groups["value"])) is not None:
                    metrics[groups["key"]] = value
                continue
            for key, text in groups.items():
                if key not in ("key", "value") and (value := _float(text)) is not None:
                    metrics[key] = value
    if not metrics and step is None:
        return None
    return Reading(metrics, step)


def _read_json(text: str) -> Reading | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    numbers = {
        str(key): float(value)
        for key, value in data.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }
    step_key = next((key for key in ("step", "global_step", "epoch") if key in numbers), None)
    step = None
    if step_key is not None and float(numbers[step_key]).is_integer():
        step = int(numbers[step_key])
    metrics = {key: value for key, value in numbers.items() if key.lower() not in _STEP_KEYS}
    if not metrics and step is None:
        return None
    return Reading(metrics, step)


def _step_of(line: str, pairs: dict[str, str]) -> int | None:
    for key in ("step", "global_step", "epoch"):
        if key in pairs and (step := _int(pairs[key])) is not None:
            return step
    found = {match["name"].lower(): int(match["value"]) for match in _STEP.finditer(line)}
    return found.get("step", found.get("epoch"))


def _int(text: str) -> int | None:
    value = _float(text)
    return int(value) if value is not None and value.is_integer() else None


def _float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


@dataclass
class Scraper:
    """Turns lines into ``(step, metrics)`` to log, keeping the step across lines."""

    patterns: list[re.Pattern[str]] | None = None
    step: int | None = None
    """The last step seen."""
    counts: dict[str, int] = field(default_factory=dict)
    """Values seen per key, which number them while no step has been seen."""

    def feed(self, line: str) -> list[tuple[int, dict[str, float]]]:
        reading = read_line(line, self.patterns)
        if reading is None:
            return []
        if reading.step is not None:
            self.step = reading.step
        if not reading.metrics:
            return []
        if self.step is not None:
            return [(self.step, reading.metrics)]
        # No step yet: each key's n-th value is at step n, so one metric per line still
        # makes a series.
        logged: dict[int, dict[str, float]] = {}
        for key, value in reading.metrics.items():
            index = self.counts.get(key, 0)
            self.counts[key] = index + 1
            logged.setdefault(index, {})[key] = value
        return sorted(logged.items())
