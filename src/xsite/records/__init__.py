"""Rich run records on the site (a built-in plugin): the datasets runs used, and the tables,
charts and images they logged.

- ``datasets/``: every dataset by fingerprint, with its profile, the runs that used it,
  the names it went by (the same bytes under other names are called out) and leakage: runs
  where two splits share rows.
- Run pages list their datasets (in the ``run_extras`` block), each with its rows, its
  fingerprint, the rows it shares with the run's other splits, and the other runs that used
  the very same data.
- Run pages show logged tables (sortable), draw logged charts with the site's Vega, and
  show logged images, a gallery with a step slider for images logged at several steps.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from xsite.hooks import hookimpl
from xsite.site import urls
from xsite.site.model import Artifact, RunRecord, RunRow, SiteModel
from xsite.site.pages import DataFile, Page
from xsite.store.datasets import Dataset
from xsite.store.records import RECORD_NAME


@dataclass
class DatasetUse:
    """One fingerprint: the runs that logged it, and under which names."""

    fingerprint: str
    first: Dataset
    """As the earliest run that logged it has it (its profile)."""
    runs: list[tuple[RunRow, Dataset]] = field(default_factory=list)

    @property
    def anchor(self) -> str:
        return "d-" + self.fingerprint.removeprefix("sha256:")[:16]

    @property
    def labels(self) -> list[str]:
        return sorted({dataset.label for _, dataset in self.runs})


@dataclass
class Datasets:
    """Every dataset of the site's runs, by fingerprint, oldest use first."""

    uses: dict[str, DatasetUse] = field(default_factory=dict)
    leaks: list[tuple[RunRow, Dataset, str, int]] = field(default_factory=list)
    """(run, dataset, the other split's label, rows both hold), largest first."""
    by_run: dict[str, list[str]] = field(default_factory=dict)
    """Each run's fingerprints, as it logged them."""

    def __bool__(self) -> bool:
        return bool(self.uses)

    def others(self, run_id: str, fingerprint: str) -> list[RunRow]:
        """The other runs that used the very same data."""
        return [run for run, _ in self.uses[fingerprint].runs if run.id != run_id]


@hookimpl
def xsite_model(model: SiteModel) -> None:
    found = Datasets()
    for run in sorted(model.runs, key=lambda row: (row.started_at, row.id)):
        for dataset in run.datasets:
            use = found.uses.setdefault(
                dataset.fingerprint, DatasetUse(dataset.fingerprint, dataset)
            )
            use.runs.append((run, dataset))
            found.by_run.setdefault(run.id, []).append(dataset.fingerprint)
            found.leaks.extend((run, dataset, label, n) for label, n in dataset.overlaps.items())
    found.leaks.sort(key=lambda leak: (-leak[3], leak[0].name, leak[1].label))
    model.extensions["datasets"] = found


@hookimpl
def xsite_pages(model: SiteModel) -> Iterator[Page | DataFile]:
    datasets: Datasets = model.extensions["datasets"]
    if datasets:
        uses = sorted(datasets.uses.values(), key=lambda use: (use.first.name, use.fingerprint))
        yield Page(
            urls.page(urls.DATASETS),
            "datasets.html",
            lambda: {"uses": uses, "leaks": datasets.leaks},
        )


@hookimpl
def xsite_page_key(page: Page, model: SiteModel) -> object | None:
    if page.run_id is None:
        return None
    datasets: Datasets = model.extensions["datasets"]
    uses = [
        (fingerprint, [(run.id, run.name) for run in datasets.others(page.run_id, fingerprint)])
        for fingerprint in datasets.by_run.get(page.run_id, [])
    ]
    return uses


@hookimpl
def xsite_nav(model: SiteModel) -> list[tuple[str, str]]:
    return [("Datasets", urls.DATASETS)] if model.extensions["datasets"] else []


@hookimpl
def xsite_page_context(page: Page, context: dict[str, Any], model: SiteModel) -> None:
    datasets: Datasets = model.extensions["datasets"]
    if page.run_id is not None:
        context["records"] = _records(context["run"])
        context["datasets"] = [
            (
                dataset,
                datasets.uses[dataset.fingerprint],
                datasets.others(page.run_id, dataset.fingerprint),
            )
            for dataset in context["run"].datasets
        ]


@dataclass
class LoggedRecords:
    """A run's logged tables, charts and images, by name, each name's steps in order."""

    tables: list[tuple[str, list[tuple[int | None, Artifact, dict[str, Any]]]]]
    charts: list[tuple[str, Artifact]]
    images: list[tuple[str, list[tuple[int | None, Artifact]]]]

    def __bool__(self) -> bool:
        return bool(self.tables or self.charts or self.images)


def _records(run: RunRecord) -> LoggedRecords:
    tables: dict[str, list[tuple[int | None, Artifact, dict[str, Any]]]] = {}
    charts: list[tuple[str, Artifact]] = []
    images: dict[str, list[tuple[int | None, Artifact]]] = {}
    for artifact in run.artifacts:
        match = RECORD_NAME.fullmatch(artifact.name)
        if match is None:
            continue
        step = int(match["step"]) if match["step"] is not None else None
        if match["kind"] == "tables" and artifact.name in run.tables:
            tables.setdefault(match["name"], []).append((step, artifact, run.tables[artifact.name]))
        elif match["kind"] == "charts":
            charts.append((match["name"], artifact))
        elif match["kind"] == "images" and not artifact.scriptable:
            images.setdefault(match["name"], []).append((step, artifact))

    def by_step(entries: list[Any]) -> list[Any]:
        return sorted(entries, key=lambda entry: -1 if entry[0] is None else entry[0])

    return LoggedRecords(
        tables=[(name, by_step(entries)) for name, entries in sorted(tables.items())],
        charts=sorted(charts, key=lambda chart: chart[0]),
        images=[(name, by_step(entries)) for name, entries in sorted(images.items())],
    )
