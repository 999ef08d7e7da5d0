"""``xsite report``: a Markdown summary of the runs for a pull request comment.

Best runs per project by its headline metric, and — with ``--against`` — what changed
against a baseline: the runs of a git ref (``main``) or the runs a query, id or name picks.
Links go into the published site when its URL is known (``base_url`` or ``--site-url``).
"""

from __future__ import annotations

import json
import math
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from xsite.config import SiteConfig
from xsite.errors import ConfigError
from xsite.query import QuerySyntaxError, filter_runs
from xsite.store import load_runs
from xsite.store.reader import StoreReader

TOP_RUNS = 5
MAX_METRICS = 6


@dataclass(frozen=True)
class Baseline:
    label: str
    """How the report names it: "runs at `main` (1a2b3c4)", "runs matching `…`"."""
    runs: pd.DataFrame
    candidates: pd.DataFrame
    """The runs compared with it."""


def markdown_report(
    config: SiteConfig,
    *,
    against: str | None = None,
    site_url: str | None = None,
    top: int = TOP_RUNS,
    cwd: Path | None = None,
) -> str:
    """The report as Markdown. ``against`` is a git ref of the repository at ``cwd`` or a
    run id, run name or query (docs/query.md); ``site_url`` the published site's URL."""
    runs = load_runs(config.store_location)
    site = (site_url or config.base_url or "").rstrip("/")
    lines = [f"## {config.title}", ""]
    if runs.empty:
        return "\n".join([*lines, "No runs yet.", ""])
    projects = sorted(runs["project"].unique())
    summary = f"{len(runs):,} runs in {len(projects)} project{'s' * (len(projects) != 1)}"
    lines += [summary + (f" · [open the site]({site}/)" if site else ""), ""]
    for project in projects:
        lines += _best_runs(runs[runs["project"] == project], project, config, site, top)
    if against:
        baseline = _baseline(runs, against, config, cwd or Path.cwd())
        lines += _changes(baseline, config, site)
    return "\n".join(lines)


def _best_runs(
    runs: pd.DataFrame, project: str, config: SiteConfig, site: str, top: int
) -> list[str]:
    settings = config.project(project)
    metrics = _metrics(runs, settings.headline, settings.metrics)
    params = [f"params.{key}" for key in settings.params] or _varied_params(runs)[:3]
    headline = settings.headline
    if headline and f"metrics.{headline}" in runs:
        better = "higher" if settings.direction == "max" else "lower"
        title = f"### {_cell(project)}: best by `{headline}` ({better} is better)"
        ranked = runs.sort_values(
            f"metrics.{headline}", ascending=settings.direction == "min", na_position="last"
        )
    else:
        title = f"### {_cell(project)}: newest runs (set a headline metric to rank them)"
        ranked = runs.iloc[::-1]
    columns = [f"metrics.{key}" for key in metrics] + [p for p in params if p in runs]
    header = ["run", *(c.split(".", 1)[1] for c in columns), "status"]
    table = [
        "| " + " | ".join(_cell(h) for h in header) + " |",
        "|---|" + "---:|" * len(columns) + "---|",
    ]
    for _, run in ranked.head(top).iterrows():
        cells = [_run_link(run, site), *(_format(run.get(c)) for c in columns), run["status"]]
        table.append("| " + " | ".join(cells) + " |")
    more = f"{len(runs) - top:,} more runs in the site." if len(runs) > top else ""
    return [title, "", *table, "", *([more, ""] if more else [])]


def _baseline(runs: pd.DataFrame, against: str, config: SiteConfig, cwd: Path) -> Baseline:
    commit = _git_commit(against, cwd)
    if commit is not None:
        commits = _run_commits(config)
        at = runs["run_id"].map(commits)
        baseline = runs[at == commit]
        head = _git_commit("HEAD", cwd)
        current = runs[at == head] if head and head != commit else runs.iloc[0:0]
        if current.empty:
            current = runs[at != commit]
        return Baseline(f"runs at `{against}` ({commit[:7]})", baseline, current)
    if against in set(runs["run_id"]):
        chosen = runs["run_id"] == against
    elif against in set(runs["name"]):
        chosen = runs["name"] == against
    else:
        try:
            picked = set(filter_runs(runs, against)["run_id"])
        except QuerySyntaxError as error:
            raise ConfigError(
                f"--against {against!r} is no git ref, run id, run name or query: {error}"
            ) from error
        chosen = runs["run_id"].isin(picked)
    return Baseline(f"runs matching `{_cell(against)}`", runs[chosen], runs[~chosen])


def _changes(baseline: Baseline, config: SiteConfig, site: str) -> list[str]:
    lines = [f"### Against the baseline: {baseline.label}", ""]
    if baseline.runs.empty:
        return [*lines, "No run is in the baseline.", ""]
    if baseline.candidates.empty:
        return [*lines, "No run to compare with the baseline.", ""]
    lines += [
        f"{len(baseline.candidates):,} runs compared with {len(baseline.runs):,} baseline runs; "
        "the best of each side:",
        "",
        "| project | metric | baseline | now | change |",
        "|---|---|---:|---:|---|",
    ]
    for project in sorted(set(baseline.candidates["project"]) | set(baseline.runs["project"])):
        settings = config.project(project)
        before = baseline.runs[baseline.runs["project"] == project]
        after = baseline.candidates[baseline.candidates["project"] == project]
        for key in _metrics(pd.concat([before, after]), settings.headline, settings.metrics):
            direction = settings.direction_of(key)
            old, new = _best(before, key, direction), _best(after, key, direction)
            lines.append(
                f"| {_cell(project)} | {_cell(key)} | {_value_of(old, key, site)} | "
                f"{_value_of(new, key, site)} | {_change(old, new, key, direction)} |"
            )
    return [*lines, ""]


def _metrics(runs: pd.DataFrame, headline: str | None, chosen: tuple[str, ...]) -> list[str]:
    present = [c.removeprefix("metrics.") for c in runs if c.startswith("metrics.")]
    present = [key for key in present if runs[f"metrics.{key}"].notna().any()]
    keys = [key for key in chosen if key in present] or present
    if headline in present:
        keys = [headline, *(key for key in keys if key != headline)]
    return keys[:MAX_METRICS]


def _varied_params(runs: pd.DataFrame) -> list[str]:
    columns = [c for c in runs if c.startswith("params.")]
    return [c for c in columns if runs[c].map(repr).nunique() > 1]


def _best(runs: pd.DataFrame, key: str, direction: str) -> pd.Series | None:
    column = f"metrics.{key}"
    if column not in runs or runs[column].notna().sum() == 0:
        return None
    index = runs[column].idxmax() if direction == "max" else runs[column].idxmin()
    return runs.loc[index]


def _value_of(run: pd.Series | None, key: str, site: str) -> str:
    if run is None:
        return "–"
    return f"{_format(run[f'metrics.{key}'])} ({_run_link(run, site)})"


def _change(old: pd.Series | None, new: pd.Series | None, key: str, direction: str) -> str:
    if old is None or new is None:
        return ""
    before, after = old[f"metrics.{key}"], new[f"metrics.{key}"]
    delta = after - before
    if delta == 0:
        return "same"
    better = (delta > 0) == (direction == "max")
    relative = f" ({delta / abs(before):+.1%})" if before else ""
    return f"{delta:+.4g}{relative} {'better' if better else 'worse'}"


def _run_link(run: pd.Series, site: str) -> str:
    name = _cell(str(run["name"]))
    return f"[{name}]({site}/runs/{run['run_id']}/)" if site else name


def _format(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return _cell(str(value))


def _cell(text: str) -> str:
    """Text that cannot break a Markdown table or start a link or an HTML tag."""
    for plain, escaped in (("\\", "\\\\"), ("|", "\\|"), ("<", "&lt;"), ("[", "\\["), ("]", "\\]")):
        text = text.replace(plain, escaped)
    return " ".join(text.split())


def _git_commit(ref: str, cwd: Path) -> str | None:
    """The commit ``ref`` names in the repository at ``cwd``; None if it names none."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


def _run_commits(config: SiteConfig) -> dict[str, str | None]:
    snapshots = StoreReader(config.store_location).snapshots()
    commits = {}
    for run_id, system in zip(
        snapshots["run_id"].to_pylist(), snapshots["system"].to_pylist(), strict=True
    ):
        git = (json.loads(system) if system else {}).get("git") or {}
        commits[run_id] = git.get("commit")
    return commits
