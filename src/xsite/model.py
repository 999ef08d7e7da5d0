"""The site's model of runs and projects: typed, immutable, no I/O.

Everything a page shows comes from here; :mod:`xsite.gather` fills it from the store.
A run has two forms: its :class:`RunRecord` (everything the store holds, for the run's own
page) and its :class:`RunRow` (what lists and tables show). Every build needs a row of every
run but the record only of runs whose page it renders, so rows are kept small.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import datetime
from functools import cached_property
from typing import Any

import orjson

from xsite import artifacts
from xsite.config import Direction, ProjectSettings
from xsite.series import Summary, json_number


@dataclass(frozen=True)
class Artifact:
    name: str
    size: int
    sha256: str
    scriptable: bool = False
    """A browser could run it as a page: published as text only (see :mod:`xsite.artifacts`)."""

    @property
    def kind(self) -> str:
        """``image`` (shown inline), ``text`` (previewed) or ``file`` (linked)."""
        return artifacts.kind(self.name)

    @property
    def site_path(self) -> str:
        """Where the artifact is published, from its run's folder."""
        if self.scriptable:
            return f"artifacts-as-text/{self.name}.txt"
        return f"artifacts/{self.name}"

    @property
    def file_name(self) -> str:
        """The name a download of it is saved under."""
        return self.name.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class RunBasics:
    """What every form of a run carries: identity, status, times, tags and artifacts."""

    id: str
    project: str
    name: str
    status: str
    started_at: datetime
    ended_at: datetime | None
    duration_s: float
    tags: tuple[str, ...]
    artifacts: tuple[Artifact, ...]

    @property
    def url(self) -> str:
        return f"runs/{self.id}/"


@dataclass(frozen=True)
class RunRecord(RunBasics):
    """Everything the store holds about a run, for the run's own page."""

    notes: str | None
    params: dict[str, Any]
    metrics: dict[str, Summary]
    system: dict[str, Any]
    previews: dict[str, str] = field(default_factory=dict)
    """The first :data:`~xsite.artifacts.PREVIEW_BYTES` of each text artifact, decoded."""
    inline_images: dict[str, str] = field(default_factory=dict)
    """``data:`` URIs of images that are never published as files (SVG), for ``<img>``."""

    @cached_property
    def artifact_names(self) -> frozenset[str]:
        return frozenset(a.name for a in self.artifacts)

    def to_json(self) -> dict[str, Any]:
        """The run as ``runs.json`` lists it, for scripts, tools and agents."""
        git = self.system.get("git") or {}
        return {
            "id": self.id,
            "url": self.url,
            "project": self.project,
            "name": self.name,
            "status": self.status,
            "started_at": self.started_at.isoformat(),
            "ended_at": self.ended_at.isoformat() if self.ended_at else None,
            "duration_s": self.duration_s,
            "tags": list(self.tags),
            "notes": self.notes,
            "params": {key: json_value(value) for key, value in self.params.items()},
            "metrics": {
                key: {
                    "last": json_number(s.last),
                    "last_step": s.last_step,
                    "min": json_number(s.min),
                    "min_step": s.min_step,
                    "max": json_number(s.max),
                    "max_step": s.max_step,
                    "count": s.count,
                }
                for key, s in self.metrics.items()
            },
            "git": {key: value for key, value in git.items() if key != "untracked"},
            "artifacts": [
                {"name": a.name, "size": a.size, "sha256": a.sha256, "path": a.site_path}
                for a in self.artifacts
            ],
        }

    def to_cells(self) -> dict[str, Any]:
        """The run as a row of its project's runs table: metrics as ``[last, min, max]``."""
        return {
            "id": self.id,
            "url": self.url,
            "name": self.name,
            "status": self.status,
            "tags": list(self.tags),
            "started_at": self.started_at.isoformat(),
            "duration_s": self.duration_s,
            "metrics": {
                key: [json_number(s.last), json_number(s.min), json_number(s.max)]
                for key, s in self.metrics.items()
            },
            "params": {key: json_value(value) for key, value in self.params.items()},
        }


@dataclass(frozen=True)
class RunRow(RunBasics):
    """A run as lists and tables show it: its basics, last metric values and param kinds,
    and its entries in the site's JSON files, serialized once when it is read."""

    last: dict[str, float]
    """The last value of each metric."""
    param_kinds: dict[str, str | None]
    """The :func:`param_kind` of each param's value."""
    json: bytes
    """:meth:`RunRecord.to_json`, as JSON."""
    cells: bytes
    """:meth:`RunRecord.to_cells`, as JSON."""

    @classmethod
    def of(cls, record: RunRecord) -> RunRow:
        return cls(
            **{basic.name: getattr(record, basic.name) for basic in fields(RunBasics)},
            last={key: summary.last for key, summary in record.metrics.items()},
            param_kinds={key: param_kind(value) for key, value in record.params.items()},
            json=orjson.dumps(record.to_json(), option=orjson.OPT_SORT_KEYS),
            cells=orjson.dumps(record.to_cells(), option=orjson.OPT_SORT_KEYS),
        )

    def headline(self, key: str | None) -> float | None:
        return self.last.get(key) if key else None


def json_value(value: Any) -> Any:
    """A param value as JSON can hold it (non-finite floats as strings, like metrics)."""
    if isinstance(value, float):
        return json_number(value)
    if isinstance(value, list):
        return [json_value(v) for v in value]
    return value


def param_kind(value: Any) -> str | None:
    """``bool``, ``number``, ``string`` or ``json`` (lists, dicts); None for a missing value."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "json"


@dataclass(frozen=True)
class Project:
    name: str
    slug: str
    runs: tuple[RunRow, ...]  # newest first
    headline: str | None
    direction: Direction
    params: tuple[str, ...] = field(default=())
    metrics: tuple[str, ...] = field(default=())

    @property
    def url(self) -> str:
        return f"projects/{self.slug}/"

    @property
    def last_activity(self) -> datetime:
        return max((run.ended_at or run.started_at) for run in self.runs)

    @property
    def best_run(self) -> RunRow | None:
        """The run with the best last value of the headline metric (NaN never wins)."""
        scored = [
            (value, run)
            for run in self.runs
            if (value := run.headline(self.headline)) is not None and value == value
        ]
        if not scored:
            return None
        pick = max if self.direction == "max" else min
        return pick(scored, key=lambda pair: pair[0])[1]


def slugify(name: str, taken: set[str]) -> str:
    """A URL-safe folder name for ``name``, unique among ``taken`` (which it extends)."""
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "project"
    slug, n = base, 1
    while slug in taken:
        n += 1
        slug = f"{base}-{n}"
    taken.add(slug)
    return slug


@dataclass(frozen=True)
class SiteModel:
    projects: tuple[Project, ...]
    runs: tuple[RunRow, ...]  # newest first


def build_model(rows: list[RunRow], settings: Callable[[str], ProjectSettings]) -> SiteModel:
    """Group runs (newest first) into projects, in name order, with their settings."""
    by_project: dict[str, list[RunRow]] = {}
    for row in rows:
        by_project.setdefault(row.project, []).append(row)
    slugs: set[str] = set()
    projects = []
    for name in sorted(by_project):
        chosen = settings(name)
        projects.append(
            Project(
                name=name,
                slug=slugify(name, slugs),
                runs=tuple(by_project[name]),
                headline=chosen.headline,
                direction=chosen.direction,
                params=chosen.params,
                metrics=chosen.metrics,
            )
        )
    return SiteModel(projects=tuple(projects), runs=tuple(rows))
