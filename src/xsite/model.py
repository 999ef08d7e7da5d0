"""The site's model of runs and projects: typed, immutable, no I/O.

Everything a page shows comes from here; :mod:`xsite.gather` fills it from the store.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from xsite.config import Direction, ProjectSettings
from xsite.series import Summary

PREVIEW_BYTES = 64 * 1024
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg"})
TEXT_SUFFIXES = frozenset(
    {
        ".txt",
        ".md",
        ".log",
        ".json",
        ".yaml",
        ".yml",
        ".toml",
        ".csv",
        ".tsv",
        ".py",
        ".diff",
        ".patch",
        ".cfg",
        ".ini",
        ".sh",
        ".xml",
        ".html",
    }
)


# Opened as a page, these run script in the site's origin, which on GitHub Pages is shared
# by all of an account's project sites: the site offers them as downloads instead.
ACTIVE_SUFFIXES = frozenset({".html", ".htm", ".xhtml", ".svg", ".xml"})


@dataclass(frozen=True)
class Artifact:
    name: str
    size: int
    sha256: str

    @property
    def suffix(self) -> str:
        return "." + self.name.rsplit(".", 1)[-1].lower() if "." in self.name else ""

    @property
    def active(self) -> bool:
        return self.suffix in ACTIVE_SUFFIXES

    @property
    def kind(self) -> str:
        """``image`` (shown inline), ``text`` (previewed) or ``file`` (linked)."""
        if self.suffix in IMAGE_SUFFIXES:
            return "image"
        if self.suffix in TEXT_SUFFIXES:
            return "text"
        return "file"


@dataclass(frozen=True)
class RunRecord:
    id: str
    project: str
    name: str
    status: str
    started_at: datetime
    ended_at: datetime | None
    duration_s: float
    tags: tuple[str, ...]
    notes: str | None
    params: dict[str, Any]
    metrics: dict[str, Summary]
    system: dict[str, Any]
    artifacts: tuple[Artifact, ...]
    previews: dict[str, str] = field(default_factory=dict)
    """The first :data:`PREVIEW_BYTES` of each text artifact, decoded."""

    @property
    def url(self) -> str:
        return f"runs/{self.id}/"

    @cached_property
    def artifact_names(self) -> frozenset[str]:
        return frozenset(a.name for a in self.artifacts)

    def headline(self, key: str | None) -> float | None:
        summary = self.metrics.get(key) if key else None
        return None if summary is None else summary.last


@dataclass(frozen=True)
class Project:
    name: str
    slug: str
    runs: tuple[RunRecord, ...]  # newest first
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
    def best_run(self) -> RunRecord | None:
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
    runs: tuple[RunRecord, ...]  # newest first


def build_model(records: list[RunRecord], settings: Callable[[str], ProjectSettings]) -> SiteModel:
    """Group runs (newest first) into projects, in name order, with their settings."""
    by_project: dict[str, list[RunRecord]] = {}
    for record in records:
        by_project.setdefault(record.project, []).append(record)
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
    return SiteModel(projects=tuple(projects), runs=tuple(records))
