"""Markdown rationale notes: why decisions were made, next to the runs (a built-in plugin).

Note files (``notes/*.md``, front matter in :mod:`xsite.notes.read`) become pages at
``notes/<slug>/``, listed newest first at ``notes/`` and interleaved with runs by date at
``timeline/``. A note links runs with ``[[run id or name]]`` and embeds live tables,
charts and comparisons (:mod:`xsite.notes.blocks`); each run page lists the notes that
mention it, and a note's ``runs:`` become a named comparison page. Run notes written from
code (``notes=`` in ``xsite.init``) are rendered by the same renderer and sanitizer.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from functools import cached_property, partial
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import orjson
from jinja2 import Environment
from markupsafe import Markup

from xsite.compare import add_comparison
from xsite.config import ComparisonSettings, SiteConfig
from xsite.errors import ConfigError
from xsite.hooks import hookimpl
from xsite.notes.blocks import BlockData, render_block
from xsite.notes.markdown import LinkedRun, highlight_css, references, render
from xsite.notes.read import STATUSES, NoteFile, read_notes
from xsite.site import artifacts, urls
from xsite.site.build import BuildReport
from xsite.site.model import RunRow, SiteModel, slugify
from xsite.site.pages import DataFile, Page, page_key
from xsite.site.redact import Redactor
from xsite.site.select import selector_of

HIGHLIGHT_CSS = "assets/highlight.css"
RECENT_NOTES = 5
TIMELINE_RUNS_PER_GROUP = 25
"""Runs listed by name per project and day on the timeline; the rest are counted."""
_NOTE_PAGE_ROOT = "../../"
_RASTER_IMAGES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp", ".avif"})
_PARAGRAPH = re.compile(r"<p>(.*?)</p>", re.DOTALL)
_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class Note:
    slug: str
    title: str
    date: date | None
    tags: tuple[str, ...]
    status: str
    source: str
    """Its path in the notes folder."""
    html: Markup
    summary: str
    """The text of its first paragraph."""
    runs: tuple[RunRow, ...]
    """The runs its ``runs:`` pick and those it links, newest first."""
    blocks: tuple[str, ...]
    comparison: str | None = None
    """The URL of the comparison page of its ``runs:``."""

    @property
    def url(self) -> str:
        return urls.note(self.slug)


@dataclass(frozen=True)
class Notes:
    notes: tuple[Note, ...]
    """Newest first; undated notes last."""
    backlinks: dict[str, tuple[Note, ...]]
    """The notes that discuss each run, by run id."""
    mentioned_by: dict[str, tuple[RunRow, ...]]
    """The runs whose own notes link each run, by run id."""
    data: BlockData
    """What blocks are drawn from (also in run notes)."""
    run_names: _RunNames
    """What ``[[target]]`` links resolve to (also in run notes)."""
    files: tuple[DataFile, ...] = ()
    """Images the notes show."""

    def __bool__(self) -> bool:
        return bool(self.notes)

    @cached_property
    def rows(self) -> dict[str, RunRow]:
        return {run.id: run for run in self.data.runs}

    @cached_property
    def names_digest(self) -> str:
        """Changes when a run is added, removed or renamed: what [[links]] resolve to."""
        return page_key([(run.id, run.name) for run in self.data.runs])

    @cached_property
    def rows_digest(self) -> str:
        """Changes when any run changes: what blocks are drawn from."""
        digest = hashlib.sha256()
        for run in self.data.runs:
            digest.update(run.cells)
        return digest.hexdigest()


def notes_folder(config: SiteConfig) -> Path | None:
    """The configured notes folder, else ``./notes`` when it exists."""
    if config.notes is not None:
        return Path(config.notes)
    default = Path("notes")
    return default if default.is_dir() else None


@hookimpl
def xsite_jinja_env(env: Environment) -> None:
    env.filters["markdown"] = lambda text: render(text).html


@hookimpl(trylast=True)  # after the comparisons plugin, whose model notes add to
def xsite_model(model: SiteModel, config: SiteConfig, report: BuildReport) -> None:
    folder = notes_folder(config)
    files: list[NoteFile] = []
    if folder is not None:
        if folder.is_dir():
            files, problems = read_notes(folder)
            for problem in problems:
                report.warn(problem)
        else:
            report.warn(f"notes folder {folder} does not exist")
    data = BlockData(selector_of(model), config)
    run_names = _RunNames(model.runs)
    published: dict[str, DataFile] = {}
    taken: set[str] = set()
    slugs = [slugify(file.name.removesuffix(".md").replace("/", "-"), taken) for file in files]
    note_urls = {
        file.path.resolve(): urls.note(slug) for file, slug in zip(files, slugs, strict=True)
    }
    notes = []
    redactor = Redactor.of_this_machine() if config.redact else None
    for file, slug in zip(files, slugs, strict=True):
        links = _Links(run_names, data, _NOTE_PAGE_ROOT, folder, file.path, note_urls, published)
        body = redactor.text(file.body) if redactor else file.body
        rendered = render(body, links, first_line=file.body_line)
        for problem in rendered.problems:
            report.warn(f"{file.path}: {problem}")
        picked, comparison = _note_runs(model, config, file, slug, report)
        linked = {ref.run_id for ref in rendered.references if ref.run_id}
        chosen = {run.id for run in picked} | linked
        notes.append(
            Note(
                slug=slug,
                title=file.title,
                date=file.date,
                tags=file.tags,
                status=file.status,
                source=file.name,
                html=rendered.html,
                summary=_summary(rendered.html),
                runs=tuple(run for run in model.runs if run.id in chosen),
                blocks=tuple(rendered.blocks),
                comparison=comparison,
            )
        )
    notes.sort(key=lambda note: note.source)
    notes.sort(key=lambda note: note.date or date.min, reverse=True)
    model.extensions["notes"] = Notes(
        notes=tuple(notes),
        backlinks=_backlinks(notes),
        mentioned_by=_mentioned_by(model, run_names, report),
        data=data,
        run_names=run_names,
        files=tuple(published[path] for path in sorted(published)),
    )


def _note_runs(
    model: SiteModel, config: SiteConfig, file: NoteFile, slug: str, report: BuildReport
) -> tuple[tuple[RunRow, ...], str | None]:
    """The runs a note's ``runs:`` pick, and the URL of the comparison page they make."""
    if not file.runs:
        return (), None
    try:
        picked = selector_of(model).select(file.runs, where=f"{file.path}: runs")
    except ConfigError as error:
        report.warn(str(error))
        return (), None
    if not picked:
        report.warn(f"{file.path}: runs: no run matches {', '.join(file.runs)}")
        return (), None
    if "compare" not in model.extensions:
        return picked, None
    settings = ComparisonSettings(file.title, file.runs, metrics=file.metrics, slug=slug)
    comparison = add_comparison(model, config, settings, origin=(file.title, urls.note(slug)))
    return picked, comparison.url


def _summary(rendered: str) -> str:
    """The text of the first paragraph, for lists of notes."""
    match = _PARAGRAPH.search(rendered)
    text = html.unescape(_TAG.sub("", match.group(1))) if match else ""
    text = " ".join(text.split())
    return text if len(text) <= 240 else text[:239].rsplit(" ", 1)[0] + "…"


def _backlinks(notes: list[Note]) -> dict[str, tuple[Note, ...]]:
    found: dict[str, list[Note]] = {}
    for note in notes:
        for run in note.runs:
            found.setdefault(run.id, []).append(note)
    return {run_id: tuple(listed) for run_id, listed in found.items()}


def _mentioned_by(
    model: SiteModel, resolve: _RunNames, report: BuildReport
) -> dict[str, tuple[RunRow, ...]]:
    """Which runs' own notes link each run (and a warning for each link to no run)."""
    found: dict[str, list[RunRow]] = {}
    for run in model.runs:
        if b"[[" not in run.json:  # its notes (in its runs.json entry) link no run
            continue
        for target in references(orjson.loads(run.json)["notes"]):
            linked = resolve(target)
            if linked is None:
                report.warn(f"run {run.id} ({run.name}): notes: [[{target}]] names no run")
            elif linked.id != run.id and run not in found.setdefault(linked.id, []):
                found[linked.id].append(run)
    return {run_id: tuple(runs) for run_id, runs in found.items()}


class _RunNames:
    """Finds the run a ``[[target]]`` names: by id, else the newest run of that name."""

    def __init__(self, runs: tuple[RunRow, ...]) -> None:
        self.by_id = {run.id: run for run in runs}
        self.by_name: dict[str, RunRow] = {}
        for run in runs:  # newest first: the first of a name wins
            self.by_name.setdefault(run.name, run)

    def __call__(self, target: str) -> RunRow | None:
        return self.by_id.get(target) or self.by_name.get(target)


class _Links:
    """What the Markdown of one page links to: runs, other notes, images, blocks."""

    def __init__(
        self,
        runs: _RunNames,
        data: BlockData,
        root: str,
        folder: Path | None = None,
        source: Path | None = None,
        note_urls: dict[Path, str] | None = None,
        published: dict[str, DataFile] | None = None,
    ) -> None:
        self.runs, self.data, self.root = runs, data, root
        self.folder = folder.resolve() if folder else None
        self.source = source
        self.note_urls = note_urls or {}
        self.published = published if published is not None else {}

    def run(self, target: str) -> LinkedRun | None:
        run = self.runs(target)
        if run is None:
            return None
        return LinkedRun(run.id, urls.relative(self.root, run.url), run.name)

    def block(self, kind: str, source: str, line: int) -> str:
        return render_block(kind, source, self.data, self.root)

    def rewrite(self, url: str, image: bool) -> str:
        """A relative link to another note goes to its page; a relative image of the notes
        folder is published with the site (an SVG inline, as a data: URI, from which an
        img element never runs script)."""
        parts = urlsplit(url)
        if self.folder is None or self.source is None or parts.scheme or parts.netloc:
            return url
        if not parts.path or parts.path.startswith("/"):
            return url
        target = (self.source.parent / unquote(parts.path)).resolve()
        if not target.is_relative_to(self.folder) or not target.is_file():
            return url  # left as written: the link check reports it if it is broken
        fragment = f"#{parts.fragment}" if parts.fragment else ""
        if target in self.note_urls:
            return urls.relative(self.root, self.note_urls[target]) + fragment
        if not image:
            return url
        suffix = target.suffix.lower()
        if suffix in artifacts.SVG_SUFFIXES:
            content = target.read_bytes()
            return artifacts.svg_data_uri(content, len(content)) or url
        if suffix not in _RASTER_IMAGES:
            return url
        path = urls.NOTE_FILES + target.relative_to(self.folder).as_posix()
        self.published.setdefault(path, DataFile(path, target.read_bytes()))
        return urls.relative(self.root, path)


# ------------------------------------------------------------------------------- pages


@hookimpl
def xsite_pages(model: SiteModel) -> Iterator[Page | DataFile]:
    notes: Notes = model.extensions["notes"]
    yield DataFile(HIGHLIGHT_CSS, highlight_css().encode())
    if not notes:
        return
    yield from notes.files
    yield DataFile(urls.NOTES_JSON, _notes_json(notes))
    yield Page(urls.page(urls.NOTES), "notes.html", lambda: _index_context(notes))
    yield Page(urls.page(urls.TIMELINE), "timeline.html", lambda: _timeline_context(model))
    for note in notes.notes:
        yield Page(urls.page(note.url), "note.html", partial(_note_context, note, model))


def _note_context(note: Note, model: SiteModel) -> dict[str, Any]:
    headlines = {project.name: project.headline for project in model.projects}
    return {
        "note": note,
        "runs": [
            (run, headlines[run.project], run.headline(headlines[run.project])) for run in note.runs
        ],
    }


def _index_context(notes: Notes) -> dict[str, Any]:
    tags = sorted({tag for note in notes.notes for tag in note.tags}, key=str.lower)
    used = {note.status for note in notes.notes}
    return {"notes": notes.notes, "tags": tags, "statuses": [s for s in STATUSES if s in used]}


def _timeline_context(model: SiteModel) -> dict[str, Any]:
    """Days, newest first, each with its notes and its runs grouped by project."""
    notes: Notes = model.extensions["notes"]
    days: dict[date, dict[str, Any]] = {}
    for note in notes.notes:
        if note.date is not None:
            days.setdefault(note.date, {"notes": [], "runs": {}})["notes"].append(note)
    for run in model.runs:
        day = days.setdefault(run.started_at.date(), {"notes": [], "runs": {}})
        day["runs"].setdefault(run.project, []).append(run)
    projects = {project.name: project for project in model.projects}
    return {
        "days": [
            {
                "date": when,
                "notes": entry["notes"],
                "groups": [
                    {
                        "project": projects[name],
                        "runs": runs[:TIMELINE_RUNS_PER_GROUP],
                        "count": len(runs),
                    }
                    for name, runs in sorted(entry["runs"].items())
                ],
            }
            for when, entry in sorted(days.items(), reverse=True)
        ],
        "undated": [note for note in notes.notes if note.date is None],
    }


def _notes_json(notes: Notes) -> bytes:
    """``notes/notes.json``: every note, for scripts and agents (docs/notes.md)."""
    body = {
        "format": 1,
        "notes": [
            {
                "slug": note.slug,
                "url": note.url,
                "title": note.title,
                "date": note.date.isoformat() if note.date else None,
                "tags": list(note.tags),
                "status": note.status,
                "source": note.source,
                "summary": note.summary,
                "runs": [run.id for run in note.runs],
                "comparison": note.comparison,
            }
            for note in notes.notes
        ],
    }
    return orjson.dumps(body, option=orjson.OPT_SORT_KEYS) + b"\n"


# ------------------------------------------------------------------- other pages' parts


@hookimpl
def xsite_page_key(page: Page, model: SiteModel) -> object | None:
    if page.run_id is None:
        return None
    notes: Notes = model.extensions["notes"]
    row = notes.rows.get(page.run_id)
    own_links = row is not None and b"[[" in row.json
    own_blocks = row is not None and b"xsite-" in row.json
    return [
        [(n.url, n.title, n.status) for n in notes.backlinks.get(page.run_id, ())],
        [(run.url, run.name) for run in notes.mentioned_by.get(page.run_id, ())],
        # What its own notes' links and blocks show of other runs: their names, their data.
        notes.names_digest if own_links else None,
        notes.rows_digest if own_blocks else None,
    ]


@hookimpl
def xsite_nav(model: SiteModel) -> list[tuple[str, str]]:
    return [("Notes", urls.NOTES), ("Timeline", urls.TIMELINE)] if model.extensions["notes"] else []


@hookimpl
def xsite_page_context(page: Page, context: dict[str, Any], model: SiteModel) -> None:
    notes: Notes = model.extensions["notes"]
    context.setdefault("stylesheets", []).append(HIGHLIGHT_CSS)
    if page.run_id is not None:
        context["backlinks"] = notes.backlinks.get(page.run_id, ())
        context["mentioned_by"] = notes.mentioned_by.get(page.run_id, ())
        text = context["run"].notes
        if text:
            links = _Links(notes.run_names, notes.data, page.root)
            context["run_notes"] = render(text, links).html
    elif page.template == "home.html":
        context["recent_notes"] = notes.notes[:RECENT_NOTES]
