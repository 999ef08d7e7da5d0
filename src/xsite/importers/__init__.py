"""``xsite import TOOL SOURCE``: runs kept by other tools, brought into an xsite store.

Each importer is a module with a ``read(source, project)`` generator that yields an
:class:`~xsite.store.imported.ImportedRun` per run it can read and a :class:`Skipped` per
one it cannot; :func:`import_runs` writes them. Importers are imported only when used, so
MLflow or TensorBoard is needed only to import from it.

Importing the same source again is idempotent: a run's id comes from its source, an
unchanged run is left alone and a changed one replaced (:mod:`xsite.store.imported`).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Final, Protocol

from xsite.errors import XsiteError
from xsite.store.imported import ImportedRun, Outcome, write_imported_run

IMPORTERS: Final = {
    "mlflow": ("xsite.importers.mlflow", "mlflow"),
    "tensorboard": ("xsite.importers.tensorboard", "tensorboard"),
    "trackio": ("xsite.importers.trackio", None),
    "csv": ("xsite.importers.tables", None),
    "jsonl": ("xsite.importers.tables", None),
}
"""Tool name → (module, the extra of xsite that installs what it needs)."""


class SourceError(XsiteError):
    """The source cannot be read at all (missing, not of that tool, its package absent)."""


@dataclass(frozen=True)
class Skipped:
    """Something in the source that was not imported, and why."""

    what: str
    reason: str

    def __str__(self) -> str:
        return f"{self.what}: {self.reason}"


class Reader(Protocol):
    def __call__(self, source: str, project: str | None) -> Iterator[ImportedRun | Skipped]: ...


@dataclass
class ImportReport:
    """What :func:`import_runs` did, run by run (names as ``project/name``)."""

    imported: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    def add(self, outcome: Outcome, run: ImportedRun) -> None:
        getattr(self, outcome).append(f"{run.project}/{run.name}")


def import_runs(
    tool: str,
    source: str | os.PathLike[str],
    *,
    dir: str | os.PathLike[str] | None = None,
    project: str | None = None,
    progress: Callable[[str], None] = lambda name: None,
) -> ImportReport:
    """Import every run of ``tool`` (``mlflow``, ``tensorboard``, ``csv``, ``jsonl``) found
    at ``source`` into the store at ``dir``; ``project`` puts them all in one project.

    Whatever cannot be read is listed in the report's ``skipped``; the rest is imported.
    """
    report = ImportReport()
    for item in _reader(tool)(os.fspath(source), project):
        if isinstance(item, Skipped):
            report.skipped.append(item)
            continue
        report.add(write_imported_run(dir, item), item)
        progress(item.name)
    return report


def _reader(tool: str) -> Reader:
    if tool not in IMPORTERS:
        raise SourceError(f"no importer for {tool!r}; there are: {', '.join(IMPORTERS)}")
    module_name, extra = IMPORTERS[tool]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        hint = f"pip install 'xsite[{extra}]'" if extra else "reinstall xsite"
        raise SourceError(f"importing from {tool} needs {error.name}: {hint}") from error
    reader: Reader = module.read
    return reader
