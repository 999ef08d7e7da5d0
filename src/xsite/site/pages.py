"""Pages: every file of the site as an object, made before anything is rendered or written.

Gathering every page first (as MkDocs does) means every link target is known when the
first page is rendered, so links between runs, projects and the home page stay consistent.
"""

from __future__ import annotations

import hashlib
import shlex
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import PurePosixPath
from typing import Any

from xsite.config import SiteConfig
from xsite.site import urls
from xsite.site.artifacts import PREVIEW_BYTES
from xsite.site.model import Project, RunRecord, SiteModel

RECENT_RUNS = 20


@dataclass(frozen=True)
class Page:
    """An HTML page: ``template`` rendered with the context ``make_context()`` returns, to
    ``path`` (from the site root).

    ``key`` identifies everything the page shows; when it equals the key of the file already
    in the site, the page is not rendered again, and its context is never made.
    """

    path: str
    template: str
    make_context: Callable[[], dict[str, Any]]
    key: str | None = None

    root_url: str | None = None
    """An absolute root (``/repo/``) for a page served at any depth, like 404.html."""
    run_id: str | None = None
    """The run a run page shows (plugins add to run pages by it)."""

    @property
    def root(self) -> str:
        """The path from this page to the site root: relative (``""`` at the top)."""
        return self.root_url if self.root_url is not None else "../" * self.path.count("/")


@dataclass(frozen=True)
class DataFile:
    """A file whose bytes are known without a template (JSON, text, copied artifacts)."""

    path: str
    content: bytes
    key: str | None = None
    """What the file was made from, for :meth:`xsite.site.write.WrittenSite.keep`."""


def make_pages(
    model: SiteModel,
    config: SiteConfig,
    design: str,
    signature: Callable[[str], str],
    record: Callable[[str], RunRecord],
) -> list[Page]:
    """Every page of the core site. ``design`` is a key of the theme and the settings every
    page shows; ``signature(run_id)`` a key of a run's data; ``record(run_id)`` the full
    record of a run whose page is rendered."""
    pages = [
        Page(
            "index.html",
            "home.html",
            lambda: {
                "projects": [_project_summary(p) for p in model.projects],
                "recent": model.runs[:RECENT_RUNS],
                "project_urls": {p.name: p.url for p in model.projects},
            },
        ),
        Page("404.html", "404.html", dict, root_url=_base_path(config.base_url)),
    ]
    for project in model.projects:
        pages.append(
            Page(
                urls.page(project.url),
                "project.html",
                partial(_project_context, project),
            )
        )
        for run in project.runs:
            pages.append(
                Page(
                    urls.run_page(run.id),
                    "run.html",
                    partial(_run_page_context, record, run.id, project),
                    # Everything a run page shows: the design, its project and its data.
                    key=page_key(design, project.slug, project.name, run.status, signature(run.id)),
                    run_id=run.id,
                )
            )
    return pages


def _project_context(project: Project) -> dict[str, Any]:
    return {"project": project, "summary": _project_summary(project)}


def _run_page_context(
    record: Callable[[str], RunRecord], run_id: str, project: Project
) -> dict[str, Any]:
    return run_page_context(record(run_id), project)


def run_page_context(run: RunRecord, project: Project) -> dict[str, Any]:
    git = run.system.get("git") or {}
    diff = next((a for a in run.artifacts if a.name == "git.diff"), None)
    return {
        "run": run,
        "project": project,
        "params_nested": param_tree(run.params),
        "git": git,
        "reproduce": reproduce_commands(run),
        "diff": run.previews.get("git.diff") if diff else None,
        "diff_artifact": diff,
        "preview_bytes": PREVIEW_BYTES,
        "chart_sources": [{"run": run.id, "label": run.name, "src": "metrics.json"}],
        "packages": run.system.get("packages") or [],
    }


def param_tree(params: dict[str, Any]) -> dict[str, Any]:
    """``{"optimizer.lr": 0.1}`` → ``{"optimizer": {"lr": 0.1}}`` for a nested view."""
    tree: dict[str, Any] = {}
    for key, value in params.items():
        node = tree
        *parents, leaf = key.split(".")
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):  # "a" and "a.b" both set: keep both, flat
                node = tree
                leaf = key
                break
            node = child
        node[leaf] = value
    return tree


def reproduce_commands(run: RunRecord) -> list[str]:
    """Shell lines that check out the code and rerun the command, as far as it was captured."""
    git = run.system.get("git") or {}
    command = run.system.get("command") or []
    lines = []
    if git.get("remote"):
        folder = PurePosixPath(git["remote"].rstrip("/")).name.removesuffix(".git") or "repo"
        lines.append(f"git clone {shlex.quote(git['remote'])} {shlex.quote(folder)}")
        lines.append(f"cd {shlex.quote(folder)}")
    if git.get("commit"):
        lines.append(f"git checkout {git['commit']}")
    if git.get("dirty") and "git.diff" in run.artifact_names:
        lines.append("git apply git.diff  # the uncommitted changes, from this page's artifacts")
    root, cwd = git.get("root"), run.system.get("cwd")
    if root and cwd and cwd != root and cwd.startswith(root.rstrip("/") + "/"):
        lines.append(f"cd {shlex.quote(cwd[len(root) :].lstrip('/'))}")
    if command:
        lines.append(shlex.join(["python", *command[1:]]))
    return lines


def _base_path(base_url: str | None) -> str:
    """GitHub Pages serves 404.html for a missing path at any depth, so its links must be
    absolute: under the base URL's path when one is configured, else from the host root."""
    if not base_url:
        return "/"
    path = "/" + base_url.split("://", 1)[-1].partition("/")[2]
    return path if path.endswith("/") else path + "/"


def page_key(*parts: object) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(repr(part).encode())
        digest.update(b"\0")
    return digest.hexdigest()


def _project_summary(project: Project) -> dict[str, Any]:
    best = project.best_run
    return {
        "project": project,
        "runs": len(project.runs),
        "last_activity": project.last_activity,
        "best": best,
        "best_value": best.headline(project.headline) if best else None,
        "statuses": _count(run.status for run in project.runs),
    }


def _count(values: Iterable[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return dict(sorted(counts.items()))
