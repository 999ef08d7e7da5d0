"""Comparison pages: runs side by side (a built-in plugin).

Three kinds, one template (``compare.html``) and one script (``compare.js``):
- the ad-hoc comparison at ``compare/``, whose runs come from the URL
  (``#runs=<id>,<id>``), so a selection in the runs table can be shared as a link;
- named comparisons declared in config (``[[comparisons]]``), at ``compare/<slug>/``,
  linked from the home page and from each run they include;
- each project's comparison of all its runs, at ``projects/<slug>/compare/``.

The page holds only run ids and settings: the browser reads each run's ``run.json`` and
``metrics.json``, the same files its run page uses.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import orjson

from xsite.config import ComparisonSettings, Direction, SiteConfig
from xsite.hooks import hookimpl
from xsite.site import urls
from xsite.site.model import Project, RunRow, SiteModel, slugify
from xsite.site.pages import Page
from xsite.site.select import selector_of

MAX_PROJECT_RUNS = 1000
"""A project's all-runs comparison shows at most this many of its newest runs."""


@dataclass(frozen=True)
class Comparison:
    """A comparison page: its runs, the metrics to show and which way each is better."""

    kind: str
    """``adhoc``, ``named`` or ``project``."""
    title: str
    url: str
    runs: tuple[RunRow, ...] = ()
    metrics: tuple[str, ...] = ()
    directions: dict[str, Direction] = field(default_factory=dict)
    headline: str | None = None
    description: str | None = None
    note: str | None = None
    origin: tuple[str, str] | None = None
    """The title and URL of the note whose ``runs:`` made this comparison."""

    @property
    def settings(self) -> dict[str, Any]:
        """What ``compare.js`` reads from the page."""
        return {
            "runs": [run.id for run in self.runs] if self.kind != "adhoc" else None,
            "metrics": list(self.metrics),
            "directions": self.directions,
            "headline": self.headline,
        }


@dataclass(frozen=True)
class Comparisons:
    adhoc: Comparison
    named: tuple[Comparison, ...]
    projects: dict[str, Comparison]
    """By project name."""

    def including(self, run_id: str) -> list[Comparison]:
        return self._by_run.get(run_id, [])

    @cached_property
    def _by_run(self) -> dict[str, list[Comparison]]:
        by_run: dict[str, list[Comparison]] = {}
        for comparison in self.named:
            for run in comparison.runs:
                by_run.setdefault(run.id, []).append(comparison)
        return by_run


@hookimpl
def xsite_model(model: SiteModel, config: SiteConfig) -> None:
    directions: dict[str, Direction] = {}
    for project in model.projects:
        for key in sorted({key for run in project.runs for key in run.last}):
            directions.setdefault(key, config.project(project.name).direction_of(key))
    slugs: set[str] = set()
    model.extensions["compare"] = Comparisons(
        adhoc=Comparison("adhoc", "Compare runs", urls.COMPARE, directions=directions),
        named=tuple(
            _named(settings, model, config, directions, slugs) for settings in config.comparisons
        ),
        projects={p.name: _project_comparison(p, config) for p in model.projects},
    )


@hookimpl
def xsite_pages(model: SiteModel) -> Iterator[Page]:
    comparisons: Comparisons = model.extensions["compare"]
    for comparison in (comparisons.adhoc, *comparisons.named, *comparisons.projects.values()):
        yield Page(urls.page(comparison.url), "compare.html", _context(comparison))


@hookimpl
def xsite_page_key(page: Page, model: SiteModel) -> object | None:
    if page.run_id is None:
        return None
    return [(c.url, c.title) for c in model.extensions["compare"].including(page.run_id)]


@hookimpl
def xsite_page_context(page: Page, context: dict[str, Any], model: SiteModel) -> None:
    comparisons: Comparisons = model.extensions["compare"]
    if page.run_id is not None:
        context["comparisons"] = comparisons.including(page.run_id)
    elif page.template == "home.html":
        context["comparisons"] = list(comparisons.named)
    elif page.template == "project.html":
        context["comparison"] = comparisons.projects[context["project"].name]


def _context(comparison: Comparison) -> Any:
    return lambda: {
        "comparison": comparison,
        "settings": orjson.loads(orjson.dumps(comparison.settings, option=orjson.OPT_SORT_KEYS)),
    }


def add_comparison(
    model: SiteModel,
    config: SiteConfig,
    settings: ComparisonSettings,
    origin: tuple[str, str] | None = None,
) -> Comparison:
    """Add a named comparison page (for plugins: a note's comparison of its runs).

    Raises :class:`~xsite.errors.ConfigError` when a pick of ``settings.runs`` is no run
    id, run name or query.
    """
    comparisons: Comparisons = model.extensions["compare"]
    slugs = {c.url.removeprefix(urls.COMPARE).strip("/") for c in comparisons.named}
    comparison = _named(settings, model, config, comparisons.adhoc.directions, slugs, origin)
    model.extensions["compare"] = replace(comparisons, named=(*comparisons.named, comparison))
    return comparison


def _named(
    settings: ComparisonSettings,
    model: SiteModel,
    config: SiteConfig,
    directions: dict[str, Direction],
    slugs: set[str],
    origin: tuple[str, str] | None = None,
) -> Comparison:
    runs = selector_of(model).select(settings.runs, where=f"comparison {settings.title!r}")
    slug = slugify(settings.slug or settings.title, slugs)
    return Comparison(
        "named",
        settings.title,
        urls.comparison(slug),
        runs=runs,
        metrics=settings.metrics,
        directions=directions,
        headline=_headline(runs, config),
        description=settings.description,
        note=None if runs else "No run matches this comparison's runs setting yet.",
        origin=origin,
    )


def _project_comparison(project: Project, config: SiteConfig) -> Comparison:
    runs = project.runs[:MAX_PROJECT_RUNS]
    note = None
    if len(project.runs) > MAX_PROJECT_RUNS:
        note = f"The {MAX_PROJECT_RUNS:,} newest of {len(project.runs):,} runs."
    settings = config.project(project.name)
    keys = sorted({key for run in runs for key in run.last})
    return Comparison(
        "project",
        f"All runs of {project.name}",
        urls.project_comparison(project.slug),
        runs=runs,
        metrics=project.metrics,
        directions={key: settings.direction_of(key) for key in keys},
        headline=project.headline,
        note=note,
    )


def _headline(runs: tuple[RunRow, ...], config: SiteConfig) -> str | None:
    """The headline metric of the compared runs' projects, when they agree on one."""
    headlines = {config.project(run.project).headline for run in runs}
    return headlines.pop() if len(headlines) == 1 else None
