"""Site configuration: ``xsite.toml`` or ``[tool.xsite]`` in ``pyproject.toml``.

```toml
title = "Digits experiments"
store = "xsite-runs"          # the run store (folder or s3:// URI)
endpoint = "http://127.0.0.1:9000"   # optional: the S3 endpoint of an s3:// store (MinIO, R2…)
out = "site"                  # where the site is written
base_url = "https://me.github.io/digits/"   # optional: enables sitemap.xml and absolute 404 links
theme = "my-theme"            # optional: a folder whose templates/ and static/ override the default
chart_points = 1000           # points per series drawn in charts (extremes always kept)
artifact_limit_mb = 50        # larger artifacts are listed but not copied into the site
notes = "notes"               # Markdown notes (docs/notes.md); default: ./notes when it exists
select = "tags contains 'paper'"   # publish only these runs (ids, names or a query)
redact = true                 # no user, host, path, e-mail or git remote in the site

[projects.digits]
headline = "val/acc"          # the metric that ranks runs on the home page
direction = "max"             # or "min"
params = ["optimizer.lr"]     # params shown as columns by default (default: up to 8)
metrics = ["val/acc"]         # metrics shown as columns by default (default: up to 6)
directions = { "train/loss" = "min" }   # which way is better, per metric

[[comparisons]]               # a named comparison page: compare/<slug>/
title = "Learning rates"
runs = ["cnn-baseline", "params.lr in (0.1, 0.01)"]   # run ids, names or queries
metrics = ["val/acc", "train/loss"]                    # default: every metric of the runs
```
Relative paths are relative to the file they are written in. CLI flags override the file.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal

from xsite.errors import ConfigError
from xsite.store.fs import resolve_location, with_endpoint

CONFIG_FILE = "xsite.toml"
_MINIMUM = {"chart_points": 10, "artifact_limit_mb": 0}
Direction = Literal["min", "max"]


@dataclass(frozen=True)
class ProjectSettings:
    headline: str | None = None
    """Metric key that ranks this project's runs (its best value is shown on the home page)."""
    direction: Direction = "max"
    """Whether a higher (``max``) or lower (``min``) headline value is better."""
    params: tuple[str, ...] = ()
    """Param keys shown as runs-table columns by default; empty means the first eight."""
    metrics: tuple[str, ...] = ()
    """Metric keys shown as runs-table columns by default; empty means the first six."""
    directions: dict[str, Direction] = field(default_factory=dict)
    """Whether higher or lower is better, per metric key (comparisons mark the best run).
    Unlisted keys: the headline's ``direction``; else lower for names with loss, error,
    perplexity or time in them, higher for the rest."""

    def direction_of(self, key: str) -> Direction:
        if key in self.directions:
            return self.directions[key]
        if key == self.headline:
            return self.direction
        return "min" if _LOWER_IS_BETTER.search(key) else "max"


_LOWER_IS_BETTER = re.compile(r"loss|err|mse|mae|perplexity|time|latency", re.IGNORECASE)


@dataclass(frozen=True)
class ComparisonSettings:
    """A named comparison page, declared in config (``[[comparisons]]``)."""

    title: str
    runs: tuple[str, ...]
    """Run ids, run names or queries (docs/query.md): the runs any of them picks."""
    metrics: tuple[str, ...] = ()
    """Metric keys to show; empty means every metric of the runs."""
    slug: str | None = None
    """The page's folder under ``compare/``; default: made from the title."""
    description: str | None = None


@dataclass(frozen=True)
class SiteConfig:
    title: str = "Experiments"
    """Shown in every page's header and in the browser tab."""
    store: str | None = None
    """The run store; default ``$XSITE_DIR`` or ``./xsite-runs``."""
    endpoint: str | None = None
    """The S3 endpoint of an ``s3://`` store (MinIO, Cloudflare R2, GCS's S3 API…), e.g.
    ``http://127.0.0.1:9000``; default ``$AWS_ENDPOINT_URL_S3``, ``$AWS_ENDPOINT_URL``, AWS."""
    out: str = "site"
    """Output folder."""
    base_url: str | None = None
    """Public URL of the site (e.g. ``https://me.github.io/repo/``): sitemap and 404 links."""
    theme: str | None = None
    """A theme folder whose ``templates/`` and ``static/`` files override the default's."""
    chart_points: int = 1000
    """Points drawn per metric series; longer series are downsampled, extremes kept."""
    artifact_limit_mb: int = 50
    """Artifacts larger than this are listed (size, checksum) but not copied into the site:
    static hosts limit file sizes (GitHub Pages refuses files over 100 MB)."""
    projects: dict[str, ProjectSettings] = field(default_factory=dict)
    """Per-project settings, by project name."""
    comparisons: tuple[ComparisonSettings, ...] = ()
    """Named comparison pages."""
    notes: str | None = None
    """The folder of Markdown notes (``docs/notes.md``); default ``./notes`` when it exists."""
    select: str | None = None
    """Publish only the runs this picks: a query (docs/query.md), a run id or a run name."""
    redact: bool = False
    """Leave out user and host names, absolute paths, e-mail addresses and git remotes
    (:mod:`xsite.site.redact`), e.g. for double-blind review."""

    @property
    def store_location(self) -> str:
        """Where the store is, as readers open it (with the endpoint of an ``s3://`` store)."""
        return with_endpoint(resolve_location(self.store), self.endpoint)

    def project(self, name: str) -> ProjectSettings:
        return self.projects.get(name, ProjectSettings())

    @property
    def cache_dir(self) -> Path:
        """Kept beside the output, not in it, so it is never published."""
        out = Path(self.out)
        return out.parent / f".{out.name}-cache"


def load_config(path: str | Path | None = None, **overrides: Any) -> SiteConfig:
    """Read ``path`` (or ``./xsite.toml``, or ``[tool.xsite]`` of ``./pyproject.toml``), then
    apply ``overrides`` whose value is not None."""
    settings: dict[str, Any] = {}
    source = find_config(path)
    if source is not None:
        settings = _parse(source)
    config = SiteConfig(**settings)
    chosen = {key: value for key, value in overrides.items() if value is not None}
    unknown = set(chosen) - {f.name for f in fields(SiteConfig)}
    if unknown:
        raise ConfigError(f"unknown setting(s): {', '.join(sorted(unknown))}")
    return replace(config, **chosen)


def find_config(path: str | Path | None = None) -> Path | None:
    """The config file ``load_config`` reads: ``path``, else ``./xsite.toml``, else
    ``./pyproject.toml`` when it has a ``[tool.xsite]`` table; None when there is none."""
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file {path} does not exist")
        return path
    if Path(CONFIG_FILE).is_file():
        return Path(CONFIG_FILE)
    pyproject = Path("pyproject.toml")
    if pyproject.is_file() and "xsite" in _read_toml(pyproject).get("tool", {}):
        return pyproject
    return None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def _parse(path: Path) -> dict[str, Any]:
    data = _read_toml(path)
    if path.name == "pyproject.toml":
        data = data.get("tool", {}).get("xsite", {})
    where = f"{path}" + (" [tool.xsite]" if path.name == "pyproject.toml" else "")
    known = {f.name: f for f in fields(SiteConfig)}
    settings: dict[str, Any] = {}
    for key, value in data.items():
        if key not in known:
            raise ConfigError(
                f"{where}: unknown setting {key!r}; known settings: {', '.join(sorted(known))}"
            )
        if key == "projects":
            settings[key] = _parse_projects(where, value)
        elif key == "comparisons":
            settings[key] = _parse_comparisons(where, value)
        elif key in {"store", "out", "theme", "notes"}:
            settings[key] = _path_setting(where, key, value, base=path.parent)
        elif key == "redact":
            if not isinstance(value, bool):
                raise ConfigError(f"{where}: redact must be true or false, got {value!r}")
            settings[key] = value
        elif key in _MINIMUM:
            if not isinstance(value, int) or isinstance(value, bool) or value < _MINIMUM[key]:
                raise ConfigError(
                    f"{where}: {key} must be an integer ≥ {_MINIMUM[key]}, got {value!r}"
                )
            settings[key] = value
        else:
            if not isinstance(value, str):
                raise ConfigError(f"{where}: {key} must be a string, got {value!r}")
            settings[key] = value
    return settings


def _path_setting(where: str, key: str, value: object, base: Path) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{where}: {key} must be a string, got {value!r}")
    if "://" in value:
        return value
    return str((base / value).resolve())


def _parse_projects(where: str, value: object) -> dict[str, ProjectSettings]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: [projects] must be a table of project names")
    known = {f.name for f in fields(ProjectSettings)}
    projects = {}
    for name, table in value.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: [projects.{name}] must be a table")
        unknown = set(table) - known
        if unknown:
            raise ConfigError(
                f"{where}: [projects.{name}] unknown setting(s) {', '.join(sorted(unknown))}; "
                f"known: {', '.join(sorted(known))}"
            )
        direction = table.get("direction", "max")
        if direction not in ("min", "max"):
            raise ConfigError(f"{where}: [projects.{name}] direction must be 'min' or 'max'")
        directions = table.get("directions", {})
        if not isinstance(directions, dict) or any(
            d not in ("min", "max") for d in directions.values()
        ):
            raise ConfigError(
                f"{where}: [projects.{name}] directions must map metric keys to 'min' or 'max'"
            )
        projects[name] = ProjectSettings(
            headline=table.get("headline"),
            direction=direction,
            params=tuple(table.get("params", ())),
            metrics=tuple(table.get("metrics", ())),
            directions=directions,
        )
    return projects


def _parse_comparisons(where: str, value: object) -> tuple[ComparisonSettings, ...]:
    if not isinstance(value, list) or not all(isinstance(t, dict) for t in value):
        raise ConfigError(f"{where}: comparisons must be [[comparisons]] tables")
    known = {f.name for f in fields(ComparisonSettings)}
    comparisons = []
    for number, table in enumerate(value, 1):
        at = f"{where}: comparison {number}"
        unknown = set(table) - known
        if unknown:
            raise ConfigError(
                f"{at}: unknown setting(s) {', '.join(sorted(unknown))}; "
                f"known: {', '.join(sorted(known))}"
            )
        title = table.get("title")
        if not isinstance(title, str) or not title.strip():
            raise ConfigError(f"{at}: needs a title")
        runs = table.get("runs")
        runs = [runs] if isinstance(runs, str) else runs
        if not runs or not isinstance(runs, list) or not all(isinstance(r, str) for r in runs):
            raise ConfigError(f"{at} ({title!r}): runs must be a run id, name or query, or a list")
        metrics = table.get("metrics", [])
        if not isinstance(metrics, list) or not all(isinstance(m, str) for m in metrics):
            raise ConfigError(f"{at} ({title!r}): metrics must be a list of metric keys")
        comparisons.append(
            ComparisonSettings(
                title=title,
                runs=tuple(runs),
                metrics=tuple(metrics),
                slug=table.get("slug"),
                description=table.get("description"),
            )
        )
    return tuple(comparisons)
