"""The site's URL scheme: every path of the site, from its root, is made here.

Templates link with ``path | url``, which makes the path relative to the page; nothing
else spells a path, so a change to the scheme is a change to this file.
"""

from __future__ import annotations

from urllib.parse import quote

RUNS_JSON = "runs.json"
COMPARE = "compare/"
"""The ad-hoc comparison: its runs come from the URL (``compare/#runs=<id>,<id>``)."""
NOTES = "notes/"
"""The notes index; each note is at ``notes/<slug>/``."""
NOTES_JSON = "notes/notes.json"
NOTE_FILES = "notes/files/"
"""Images that notes show, under their path in the notes folder."""
TIMELINE = "timeline/"
DATASETS = "datasets/"
"""Every dataset the runs used, by fingerprint (anchors ``#d-<16 hex digits>``)."""
MODELS = "models/"
"""The model registry: every model by project; each model at ``models/<project>/<model>/``
(a version's anchor: ``#v<N>``)."""
MODELS_JSON = "models/models.json"
"""Every model version with its lineage, for scripts and agents."""


def run(run_id: str) -> str:
    return f"runs/{run_id}/"


def run_page(run_id: str) -> str:
    return f"{run(run_id)}index.html"


def run_metrics(run_id: str) -> str:
    """A run's chart series: one copy serves its page and every comparison."""
    return f"{run(run_id)}metrics.json"


def run_data(run_id: str) -> str:
    """A run's full record as JSON (params, summaries, git, environment), for comparisons."""
    return f"{run(run_id)}run.json"


def project(slug: str) -> str:
    return f"projects/{slug}/"


def project_table(slug: str) -> str:
    return f"{project(slug)}runs.json"


def comparison(slug: str) -> str:
    """A named comparison."""
    return f"{COMPARE}{slug}/"


def project_comparison(slug: str) -> str:
    """A project's comparison of all its runs."""
    return f"{project(slug)}compare/"


def model(project_slug: str, model_slug: str) -> str:
    return f"{MODELS}{project_slug}/{model_slug}/"


def note(slug: str) -> str:
    return f"{NOTES}{slug}/"


def page(folder: str) -> str:
    """The file that serves a folder URL."""
    return f"{folder}index.html"


def relative(root: str, target: str) -> str:
    """``target`` (a path from the site root) as a link from a page whose path to the root
    is ``root`` (``"../../"``, or absolute like ``"/repo/"``).

    Relative links are what make the site work under any prefix (``/<repo>/`` on GitHub
    Pages) and from a plain folder. The ``./`` keeps a data-derived path from ever being
    read as a scheme such as ``javascript:``. The path is percent-encoded: an artifact's
    name may hold ``#``, ``?``, ``%`` or spaces.
    """
    path = quote(target, safe="/")
    return f"{root}{path}" if root.startswith("/") else f"./{root}{path}"
