"""Models on the site (a built-in plugin): the store's model registry, with lineage.

- ``models/``: every model by project, with its number of versions, its latest one and its
  aliases.
- ``models/<project>/<model>/``: one model. A table of its versions (newest first) with the
  headline metrics and the aliases pointing at each, the history of its aliases (who moved
  which, when, and why), then each version's lineage: the run that logged it, the data it was
  trained on (linked to the datasets page), the code (git commit, branch, uncommitted
  changes), the metrics and params of that moment, its metadata, and its files (linked).
  A diff of any two versions (``models.js``; the address keeps the pair: ``#diff=2..5``)
  shows what changed between them.
- Run pages list the versions the run logged (in the ``run_extras`` block).
- ``models/models.json``: every version with its lineage, as the store's version files
  hold it, plus the URLs of its model's page and of its run, for scripts and agents.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from xsite.config import SiteConfig
from xsite.hooks import hookimpl
from xsite.site import urls
from xsite.site.model import Artifact, RunRow, SiteModel, slugify
from xsite.site.pages import DataFile, Page
from xsite.store.registry import AliasChange, ModelFile, ModelVersion

TABLE_METRICS = 4
"""Metric columns of a model's versions table (the headline metric first)."""


@dataclass(frozen=True)
class VersionView:
    """A version as its model's page shows it, with the site's pages it links to."""

    version: ModelVersion
    run: RunRow | None
    """The run that logged it, when the site shows that run."""
    files: tuple[tuple[ModelFile, Artifact | None], ...]
    """Each file, with the run's artifact when the site publishes it."""
    datasets: tuple[tuple[dict[str, Any], str | None], ...]
    """Each dataset (in brief), with its anchor on the datasets page when it is there."""
    aliases: tuple[str, ...] = ()
    """The aliases that point at it now."""
    diff: Artifact | None = None
    """The run's uncommitted changes (``git.diff``), when the site publishes them."""

    @property
    def anchor(self) -> str:
        return f"v{self.version.version}"

    def diff_entry(self) -> dict[str, Any]:
        """What ``models.js`` compares: every part of the lineage, as flat text maps."""
        v = self.version
        git = v.git
        return {
            "version": v.version,
            "run": v.run_name,
            "code": {
                "commit": git.get("commit") or "",
                "branch": git.get("branch") or "",
                "working tree": "uncommitted changes" if git.get("dirty") else "clean",
            },
            "data": {d["label"]: d["fingerprint"] for d in v.datasets},
            "params": v.params,
            "metrics": {key: m["value"] for key, m in v.metrics.items()},
            "metadata": v.metadata,
            "files": {f.file_name: f.sha256 for f in v.files},
        }


@dataclass(frozen=True)
class RegisteredModel:
    project: str
    name: str
    url: str
    versions: tuple[VersionView, ...]
    """Newest first."""
    metrics: tuple[str, ...]
    """The metric columns of its versions table."""
    aliases: dict[str, int]
    """Where each alias points now."""
    history: tuple[AliasChange, ...]
    """Every move of its aliases, newest first."""

    @property
    def latest(self) -> VersionView:
        return self.versions[0]

    @property
    def run_ids(self) -> list[str]:
        """The runs on this site that logged its versions, oldest version first, once each."""
        ids = [view.run.id for view in reversed(self.versions) if view.run is not None]
        return list(dict.fromkeys(ids))

    @property
    def numbers(self) -> frozenset[int]:
        """The versions this site shows (those of other runs may be left out)."""
        return frozenset(view.version.version for view in self.versions)


@dataclass(frozen=True)
class Registry:
    models: tuple[RegisteredModel, ...]
    """By project, then name."""
    by_run: dict[str, list[tuple[RegisteredModel, VersionView]]]
    """The versions each run logged, in logging order."""

    def __bool__(self) -> bool:
        return bool(self.models)


@hookimpl(trylast=True)  # after xsite.records has found the datasets
def xsite_model(model: SiteModel, config: SiteConfig) -> None:
    runs = {run.id: run for run in model.runs}
    anchors = _dataset_anchors(model)
    limit = config.artifact_limit_mb * 1024 * 1024
    project_slugs = {project.name: project.slug for project in model.projects}
    taken_projects = set(project_slugs.values())
    grouped: dict[tuple[str, str], list[ModelVersion]] = {}
    for version in model.registry.versions:
        grouped.setdefault((version.project, version.name), []).append(version)
    aliases = model.registry.aliases()
    history: dict[tuple[str, str], list[AliasChange]] = {}
    for change in reversed(model.registry.alias_changes):
        history.setdefault((change.project, change.name), []).append(change)
    models = []
    by_run: dict[str, list[tuple[RegisteredModel, VersionView]]] = {}
    model_slugs: dict[str, set[str]] = {}
    for (project, name), versions in sorted(grouped.items()):
        if project not in project_slugs:
            project_slugs[project] = slugify(project, taken_projects)
        slug = slugify(name, model_slugs.setdefault(project, set()))
        pointing = aliases.get((project, name), {})
        views = tuple(
            _view(v, runs.get(v.run_id), anchors, limit, pointing) for v in reversed(versions)
        )
        registered = RegisteredModel(
            project=project,
            name=name,
            url=urls.model(project_slugs[project], slug),
            versions=views,
            metrics=_metric_columns(views, config.project(project).headline),
            aliases=dict(sorted(pointing.items())),
            history=tuple(history.get((project, name), ())),
        )
        models.append(registered)
        for view in reversed(views):  # in logging order
            by_run.setdefault(view.version.run_id, []).append((registered, view))
    model.extensions["registry"] = Registry(tuple(models), by_run)


@hookimpl
def xsite_pages(model: SiteModel) -> Iterator[Page | DataFile]:
    registry: Registry = model.extensions["registry"]
    if not registry:
        return
    yield Page(urls.page(urls.MODELS), "models.html", lambda: {"models": registry.models})
    for registered in registry.models:
        yield Page(urls.page(registered.url), "model.html", _model_context(registered))
    yield DataFile(urls.MODELS_JSON, _models_json(registry))


@hookimpl
def xsite_page_key(page: Page, model: SiteModel) -> object | None:
    if page.run_id is None:
        return None
    registry: Registry = model.extensions["registry"]
    logged = [
        (m.url, view.version.version, view.aliases)
        for m, view in registry.by_run.get(page.run_id, [])
    ]
    return logged


@hookimpl
def xsite_nav(model: SiteModel) -> list[tuple[str, str]]:
    return [("Models", urls.MODELS)] if model.extensions["registry"] else []


@hookimpl
def xsite_page_context(page: Page, context: dict[str, Any], model: SiteModel) -> None:
    registry: Registry = model.extensions["registry"]
    if page.run_id is not None:
        context["models"] = registry.by_run.get(page.run_id, [])


def _model_context(registered: RegisteredModel) -> Any:
    return lambda: {
        "model": registered,
        "diff": [view.diff_entry() for view in registered.versions],
    }


def _models_json(registry: Registry) -> bytes:
    entries = []
    for registered in registry.models:
        for view in reversed(registered.versions):
            entry = json.loads(view.version.to_json())
            entry["aliases"] = list(view.aliases)
            entry["url"] = f"{registered.url}#{view.anchor}"
            entry["run_url"] = view.run.url if view.run else None
            entries.append(entry)
    body = {"format": 1, "versions": entries}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode() + b"\n"


def _view(
    version: ModelVersion,
    run: RunRow | None,
    anchors: dict[str, str],
    limit: int,
    aliases: dict[str, int],
) -> VersionView:
    published = {a.name: a for a in run.artifacts if a.size <= limit} if run else {}
    return VersionView(
        version=version,
        run=run,
        files=tuple((file, published.get(file.name)) for file in version.files),
        datasets=tuple((d, anchors.get(d["fingerprint"])) for d in version.datasets),
        aliases=tuple(sorted(alias for alias, n in aliases.items() if n == version.version)),
        diff=published.get("git.diff"),
    )


def _dataset_anchors(model: SiteModel) -> dict[str, str]:
    """The datasets page's anchor of each fingerprint it lists (``xsite.records``')."""
    datasets = model.extensions.get("datasets")
    return {fp: use.anchor for fp, use in datasets.uses.items()} if datasets else {}


def _metric_columns(views: tuple[VersionView, ...], headline: str | None) -> tuple[str, ...]:
    keys = sorted({key for view in views for key in view.version.metrics})
    if headline in keys:
        keys.remove(headline)
        keys.insert(0, headline)
    return tuple(keys[:TABLE_METRICS])
