"""The site's model of runs, projects and model versions: typed, immutable, no I/O.

Everything a page shows comes from here; :mod:`xsite.site.gather` fills it from the store.
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

from xsite.config import Direction, ProjectSettings
from xsite.site import artifacts, urls
from xsite.site.series import Summary
from xsite.store.datasets import Dataset
from xsite.store.registry import Registry


@dataclass(frozen=True)
class Artifact:
    name: str
    size: int
    sha256: str
    scriptable: bool = False
    """A browser could run it as a page: published as text only (:mod:`~xsite.site.artifacts`)."""

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
    datasets: tuple[Dataset, ...]
    """What it logged with ``Run.log_dataset``, in logging order."""

    @property
    def url(self) -> str:
        return urls.run(self.id)


@dataclass(frozen=True)
class RunRecord(RunBasics):
    """Everything the store holds about a run, for the run's own page."""

    notes: str | None
    params: dict[str, Any]
    metrics: dict[str, Summary]
    system: dict[str, Any]
    previews: dict[str, str] = field(default_factory=dict)
    """The first :data:`~xsite.site.artifacts.PREVIEW_BYTES` of each text artifact, decoded."""
    inline_images: dict[str, str] = field(default_factory=dict)
    """``data:`` URIs of images that are never published as files (SVG), for ``<img>``."""
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Logged tables (``Run.log_table``) by artifact name: ``columns``, the first
    :data:`~xsite.site.gather.TABLE_ROWS` ``rows`` and the ``total`` row count."""

    @cached_property
    def artifact_names(self) -> frozenset[str]:
        return frozenset(a.name for a in self.artifacts)


@dataclass(frozen=True)
class RunRow(RunBasics):
    """A run as lists and tables show it: its basics, last metric values and param kinds,
    and its entries in the site's JSON files, serialized once when it is read."""

    last: dict[str, float]
    """The last value of each metric."""
    param_kinds: dict[str, str | None]
    """The :func:`param_kind` of each param's value."""
    json: bytes
    """Its ``runs.json`` entry (:func:`xsite.site.data.run_entry`)."""
    cells: bytes
    """Its runs-table row (:func:`xsite.site.data.table_row`)."""

    @classmethod
    def of(cls, record: RunRecord, *, json: bytes, cells: bytes) -> RunRow:
        return cls(
            **{basic.name: getattr(record, basic.name) for basic in fields(RunBasics)},
            last={key: summary.last for key, summary in record.metrics.items()},
            param_kinds={key: param_kind(value) for key, value in record.params.items()},
            json=json,
            cells=cells,
        )

    def headline(self, key: str | None) -> float | None:
        return self.last.get(key) if key else None


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
        return urls.project(self.slug)

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
    registry: Registry = field(default_factory=lambda: Registry([], []))
    """The store's model registry: every version, and every move of an alias."""
    extensions: dict[str, Any] = field(default_factory=dict)
    """What plugins add to the model, by plugin (see :func:`xsite.hooks.xsite_model`)."""


def build_model(
    rows: list[RunRow],
    settings: Callable[[str], ProjectSettings],
    registry: Registry | None = None,
) -> SiteModel:
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
    return SiteModel(
        projects=tuple(projects), runs=tuple(rows), registry=registry or Registry([], [])
    )
