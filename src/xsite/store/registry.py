"""The model registry: numbered versions of a project's named models, each with its lineage.

``Run.log_model(path, name)`` first keeps the model's files as artifacts of the run, under
``models/<name>/<digest>/``, then records the version in the project's registry::

    models/<project>/<name>/v<N>.json       one version (project and name percent-encoded)

The version number is claimed by creating that file only if it does not exist yet
(:meth:`~xsite.store.fs.StoreFS.create_bytes`: a hard link on a disk, a conditional PUT on
object storage). Writers racing for a number: one wins, the others take the next. So the
versions of a model are 1, 2, 3… with no gap and no number twice, for any number of
writers, and a version exists only once its files are in the store.

A version file holds its lineage as it was when the version was logged: the run, its params,
the last value of each metric, the datasets it used (fingerprints), its git commit, and the
metadata given. Version files are never changed.

An **alias** (``production``, ``candidate``) names one version of a model, and can be moved
(:func:`set_model_alias`). Each move is a new file, never changed either::

    models/<project>/<name>/aliases/<alias>/<time>-<writer>.json

The newest file of an alias says where it points (or that it was removed), and the files
before it are its history: who pointed it where, when, and why.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from time import time_ns
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote

from xsite.errors import ModelNotFoundError, StoreError
from xsite.store.fs import StoreFS
from xsite.store.reader import StoreReader
from xsite.store.schema import artifact_parts, is_valid_run_id, safe_artifact_name

if TYPE_CHECKING:
    import pandas as pd

MODELS_DIR: Final = "models"
"""At the store's root: ``models/<project>/<name>/v<N>.json``."""
VERSION_FORMAT: Final = 1
VERSION_FILE: Final = re.compile(r"v(?P<version>[1-9][0-9]{0,8})\.json")
ALIASES_DIR: Final = "aliases"
ALIAS_NAME: Final = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
ALIAS_FILE: Final = re.compile(r"(?P<time_ns>\d{20})-(?P<writer>[0-9a-f]{12})\.json")
MAX_KEY: Final = 120
"""Characters of a project's or model's folder name at most (filesystems allow 255 bytes)."""
MAX_CLAIMS: Final = 10_000
"""Numbers one call tries before giving up (only a runaway of writers gets there)."""


@dataclass(frozen=True)
class ModelFile:
    name: str
    """Its artifact name in the run that logged it."""
    size: int
    sha256: str

    @property
    def file_name(self) -> str:
        """Its path within the model (what ``download`` recreates)."""
        return self.name.split("/", 3)[3]


@dataclass(frozen=True)
class ModelVersion:
    """One version of a model: what ``Run.log_model`` returns and the registry lists."""

    project: str
    name: str
    version: int
    run_id: str
    run_name: str
    logged_at: datetime
    files: tuple[ModelFile, ...]
    digest: str
    """``sha256:`` of the files (each file's path and SHA-256, in path order): two versions
    with the same digest hold the same bytes."""
    metadata: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    """The run's params when the version was logged."""
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per metric key, the run's last ``value`` and its ``step`` when the version was logged."""
    datasets: tuple[dict[str, Any], ...] = ()
    """The datasets the run had logged: ``label``, ``fingerprint``, ``rows``."""
    git: dict[str, Any] = field(default_factory=dict)
    """``commit``, ``branch``, ``dirty`` and ``remote`` of the run's code."""
    store: StoreFS | None = field(default=None, compare=False, repr=False)

    @property
    def size(self) -> int:
        return sum(file.size for file in self.files)

    def download(self, destination: str | Path) -> Path:
        """Copy the version's files into the folder ``destination`` (made if needed), each
        under its path within the model, and return that folder. Each file's SHA-256 is
        checked against the version's record."""
        if self.store is None:
            raise ValueError(f"model {self.name} v{self.version} was not read from a store")
        folder = Path(destination).resolve()
        for file in self.files:
            target = (folder / file.file_name).resolve()
            if not target.is_relative_to(folder):
                raise ValueError(f"model file {file.name!r} would leave {folder}")
            data = self.store.read_bytes(self.store.path(*artifact_parts(self.run_id, file.name)))
            if hashlib.sha256(data).hexdigest() != file.sha256:
                raise ValueError(
                    f"model {self.name} v{self.version}: {file.file_name} in run {self.run_id} "
                    "does not have the SHA-256 its version recorded"
                )
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        return folder

    def to_json(self) -> bytes:
        body = {
            "format": VERSION_FORMAT,
            "project": self.project,
            "name": self.name,
            "version": self.version,
            "run_id": self.run_id,
            "run_name": self.run_name,
            "logged_at": self.logged_at.isoformat(),
            "files": [{"name": f.name, "size": f.size, "sha256": f.sha256} for f in self.files],
            "digest": self.digest,
            "metadata": self.metadata,
            "params": self.params,
            "metrics": self.metrics,
            "datasets": list(self.datasets),
            "git": self.git,
        }
        return json.dumps(_plain(body), sort_keys=True, allow_nan=False).encode() + b"\n"

    @classmethod
    def from_json(cls, data: bytes, store: StoreFS | None = None) -> ModelVersion:
        """Raises ``ValueError`` (or ``KeyError``, ``TypeError``) for what is not a version
        as ``Run.log_model`` writes it: a file of another model's folder, a path that
        climbs out, a run id that is none, a field of the wrong shape."""
        body = json.loads(data)
        if body.get("format") != VERSION_FORMAT:
            raise ValueError(f"model version format {body.get('format')!r} is not 1")
        name, run_id = _text(body["name"]), _text(body["run_id"])
        if not is_valid_run_id(run_id):
            raise ValueError(f"run_id {run_id!r} is not a run id")
        prefix = f"{MODELS_DIR}/{folder_key(name)}/"
        files = []
        for entry in body["files"]:
            file = ModelFile(_text(entry["name"]), int(entry["size"]), _text(entry["sha256"]))
            if safe_artifact_name(file.name) != file.name or not file.name.startswith(prefix):
                raise ValueError(f"file {file.name!r} is not in the model's folder {prefix}")
            if file.name.count("/") < 3:
                raise ValueError(f"file {file.name!r} has no path within the model")
            files.append(file)
        metrics = {
            _text(key): {"value": _number(m["value"]), "step": int(m["step"])}
            for key, m in dict(body["metrics"]).items()
        }
        datasets = tuple(
            {**d, "label": _text(d["label"]), "fingerprint": _text(d["fingerprint"])}
            for d in body["datasets"]
        )
        git = {_text(key): _plain_scalar(value) for key, value in dict(body["git"]).items()}
        return cls(
            project=_text(body["project"]),
            name=name,
            version=int(body["version"]),
            run_id=run_id,
            run_name=_text(body["run_name"]),
            logged_at=datetime.fromisoformat(body["logged_at"]),
            files=tuple(files),
            digest=_text(body["digest"]),
            metadata=dict(body["metadata"]),
            params=dict(body["params"]),
            metrics=metrics,
            datasets=datasets,
            git=git,
            store=store,
        )


@dataclass(frozen=True)
class AliasChange:
    """One move of an alias: it points at ``version`` from ``set_at`` on (None: removed)."""

    project: str
    name: str
    alias: str
    version: int | None
    set_at: datetime
    note: str | None = None

    def to_json(self) -> bytes:
        body = {
            "format": VERSION_FORMAT,
            "project": self.project,
            "name": self.name,
            "alias": self.alias,
            "version": self.version,
            "set_at": self.set_at.isoformat(),
            "note": self.note,
        }
        return json.dumps(body, sort_keys=True).encode() + b"\n"

    @classmethod
    def from_json(cls, data: bytes) -> AliasChange:
        body = json.loads(data)
        if body.get("format") != VERSION_FORMAT:
            raise ValueError(f"alias format {body.get('format')!r} is not 1")
        version, note, alias = body["version"], body.get("note"), _text(body["alias"])
        if not ALIAS_NAME.fullmatch(alias):
            raise ValueError(f"{alias!r} is not an alias")
        return cls(
            project=_text(body["project"]),
            name=_text(body["name"]),
            alias=alias,
            version=None if version is None else int(version),
            set_at=datetime.fromisoformat(body["set_at"]),
            note=None if note is None else _text(note),
        )


@dataclass(frozen=True)
class Registry:
    """What the store's ``models/`` holds: every version and every move of an alias."""

    versions: list[ModelVersion]
    """By project, name and version."""
    alias_changes: list[AliasChange]
    """Oldest first."""

    def of_runs(self, run_ids: set[str]) -> Registry:
        """Only the versions these runs logged, and the alias moves of their models (an
        alias may then point at a version that is left out)."""
        versions = [v for v in self.versions if v.run_id in run_ids]
        models = {(v.project, v.name) for v in versions}
        changes = [c for c in self.alias_changes if (c.project, c.name) in models]
        return Registry(versions, changes)

    def aliases(self) -> dict[tuple[str, str], dict[str, int]]:
        """Where each alias of each (project, model) points now."""
        current: dict[tuple[str, str], dict[str, int]] = {}
        for change in self.alias_changes:
            pointing = current.setdefault((change.project, change.name), {})
            if change.version is None:
                pointing.pop(change.alias, None)
            else:
                pointing[change.alias] = change.version
        return current


def folder_key(text: str) -> str:
    """A project or model name as one safe path segment, the same on every filesystem:
    percent-encoded, with ASCII capitals and a leading dot encoded too (no ``..``, no
    hidden or temporary name, and ``Net`` and ``net`` apart where case is ignored); a name
    whose key would pass :data:`MAX_KEY` characters is cut, with a digest of it added."""
    key = "".join(
        f"%{ord(char):02X}" if "A" <= char <= "Z" else quote(char, safe="") for char in text
    )
    key = "%2E" + key[1:] if key.startswith(".") else key
    if len(key) > MAX_KEY:
        key = key[: MAX_KEY - 17].rstrip("%0123456789ABCDEF") + "~" + _digest(text)[:16]
    return key


def model_files(source: Path) -> list[tuple[Path, str]]:
    """The files of a model (a file, or a folder's files in path order), each with its path
    within the model."""
    if source.is_dir():
        files = sorted((p for p in source.rglob("*") if p.is_file()), key=lambda p: p.as_posix())
        if not files:
            raise ValueError(f"model folder {source} holds no files")
        return [(file, file.relative_to(source).as_posix()) for file in files]
    return [(source, source.name)]


def files_digest(hashed: Iterable[tuple[str, str]]) -> str:
    """The digest of a model's files from (path within the model, SHA-256) pairs."""
    whole = hashlib.sha256()
    for path, digest in sorted(hashed):
        whole.update(f"{path}\0{digest}\n".encode())
    return f"sha256:{whole.hexdigest()}"


def claim_version(store: StoreFS, version: ModelVersion) -> ModelVersion:
    """Record ``version`` under the model's next free number; return it with that number."""
    folder = store.path(MODELS_DIR, folder_key(version.project), folder_key(version.name))
    store.make_dirs(folder)
    taken = [
        int(match["version"])
        for info in store.list_files(folder, recursive=False)
        if (match := VERSION_FILE.fullmatch(info.base_name))
    ]
    number = max(taken, default=0) + 1
    for _ in range(MAX_CLAIMS):
        numbered = replace(version, version=number)
        if store.create_bytes(f"{folder}/v{number}.json", numbered.to_json()):
            return numbered
        number += 1
    raise StoreError(
        f"model {version.name!r}: {MAX_CLAIMS} version numbers in a row were taken by other "
        f"writers while this one tried; log it again"
    )


def read_registry(
    store: StoreFS,
    skipped: Callable[[str, str], None],
    cached: dict[str, bytes] | None = None,
) -> Registry:
    """Every version and alias change in the registry. A file that is neither is passed
    to ``skipped(path, reason)`` and left out. These files never change: those in
    ``cached`` (bytes by path) are not read again, and those read are added to it."""
    cache = cached if cached is not None else {}
    listed = {
        info.path: kind
        for info in store.list_files(store.path(MODELS_DIR), recursive=True)
        if (kind := _kind_of(info.path))
    }
    for gone in cache.keys() - listed.keys():
        del cache[gone]
    versions: list[ModelVersion] = []
    changes: list[tuple[str, AliasChange]] = []
    for path, kind in sorted(listed.items()):
        try:
            if path not in cache:
                cache[path] = store.read_bytes(path)
            item: ModelVersion | AliasChange
            if kind == "version":
                item = ModelVersion.from_json(cache[path], store)
                said = (folder_key(item.project), folder_key(item.name), f"v{item.version}.json")
            else:
                item = AliasChange.from_json(cache[path])
                said = (folder_key(item.project), folder_key(item.name), item.alias)
            if _place(path, kind) != said:
                raise ValueError("its project, name, version or alias is not the one its path says")
        except FileNotFoundError:
            continue
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            cache.pop(path, None)
            skipped(path, f"not a model {kind}: {exc}")
            continue
        if isinstance(item, ModelVersion):
            versions.append(item)
        else:
            changes.append((path.rsplit("/", 1)[1], item))
    return Registry(
        versions=sorted(versions, key=lambda v: (v.project, v.name, v.version)),
        alias_changes=[change for _, change in sorted(changes, key=lambda pair: pair[0])],
    )


def load_models(
    dir: str | os.PathLike[str] | None = None,
    *,
    project: str | None = None,
    name: str | None = None,
) -> pd.DataFrame:
    """One row per model version, by project, name and version.

    Columns: ``project, name, version, aliases`` (those pointing at it now), ``run_id,
    run_name, logged_at, size, digest, git_commit, datasets`` (fingerprints), then
    ``metadata.<key>``, ``params.<key>`` and ``metrics.<key>`` (each metric's last value
    when the version was logged).
    """
    import pandas as pd  # slow to import, and `xsite build` never needs it

    registry = _read(dir)
    aliases = registry.aliases()
    rows = []
    for v in registry.versions:
        if (project is not None and v.project != project) or (name is not None and v.name != name):
            continue
        pointing = aliases.get((v.project, v.name), {})
        row: dict[str, Any] = {
            "project": v.project,
            "name": v.name,
            "version": v.version,
            "aliases": sorted(alias for alias, n in pointing.items() if n == v.version),
            "run_id": v.run_id,
            "run_name": v.run_name,
            "logged_at": v.logged_at,
            "size": v.size,
            "digest": v.digest,
            "git_commit": v.git.get("commit"),
            "datasets": [d["fingerprint"] for d in v.datasets],
        }
        row.update({f"metadata.{key}": value for key, value in v.metadata.items()})
        row.update({f"params.{key}": value for key, value in v.params.items()})
        row.update({f"metrics.{key}": m["value"] for key, m in v.metrics.items()})
        rows.append(row)
    return pd.DataFrame(rows, columns=None if rows else list(_COLUMNS))


def get_model(
    name: str,
    version: int | None = None,
    *,
    alias: str | None = None,
    project: str | None = None,
    dir: str | os.PathLike[str] | None = None,
) -> ModelVersion:
    """A version of the model ``name``: ``version``, or the one ``alias`` points at, or
    else the latest. ``.download(folder)`` copies its files. ``project`` is needed only
    when two projects have a model of that name.

    Raises :class:`~xsite.errors.ModelNotFoundError` (a ``LookupError``) naming the
    versions or aliases there are."""
    registry = _read(dir)
    versions = _of_model(registry, name, project)
    if alias is not None:
        pointing = registry.aliases().get((versions[0].project, name), {})
        if alias not in pointing:
            known = ", ".join(sorted(pointing)) or "none"
            raise ModelNotFoundError(f"model {name!r} has no alias {alias!r} (it has {known})")
        version = pointing[alias]
    return _pick(versions, version)


def set_model_alias(
    name: str,
    alias: str,
    version: int | None,
    *,
    project: str | None = None,
    note: str | None = None,
    dir: str | os.PathLike[str] | None = None,
) -> AliasChange:
    """Point ``alias`` of the model ``name`` at ``version``, or remove it (``None``), with
    an optional ``note`` on why. The earlier moves stay, as the alias's history. The
    newest move wins; two people moving one alias at the same moment: the later clock."""
    if not ALIAS_NAME.fullmatch(alias) or alias == "latest" or re.fullmatch(r"v\d+", alias):
        raise ValueError(
            f"alias {alias!r}: use a letter, then letters, digits, _ or - (not latest or v<N>)"
        )
    reader = StoreReader(dir)
    versions = _of_model(read_registry(reader.store, reader.report_skipped), name, project)
    model = _pick(versions, version)  # the model's project and name (the version must exist)
    change = AliasChange(model.project, model.name, alias, version, datetime.now(UTC), note)
    folder = reader.store.path(
        MODELS_DIR, folder_key(model.project), folder_key(model.name), ALIASES_DIR, alias
    )
    reader.store.make_dirs(folder)
    moved = f"{folder}/{time_ns():020d}-{secrets.token_hex(6)}.json"
    reader.store.write_bytes(moved, change.to_json())
    return change


_COLUMNS: Final = (
    "project", "name", "version", "aliases", "run_id", "run_name", "logged_at", "size",
    "digest", "git_commit", "datasets",
)  # fmt: skip


def _read(dir: str | os.PathLike[str] | None) -> Registry:
    reader = StoreReader(dir)
    return read_registry(reader.store, reader.report_skipped)


def _pick(versions: list[ModelVersion], version: int | None) -> ModelVersion:
    """Version ``version`` of one model's ``versions`` (None: the latest)."""
    if version is None:
        return versions[-1]
    for found in versions:
        if found.version == version:
            return found
    numbers = ", ".join(str(v.version) for v in versions)
    raise ModelNotFoundError(
        f"model {versions[0].name!r} has no version {version} (it has {numbers})"
    )


def _of_model(registry: Registry, name: str, project: str | None) -> list[ModelVersion]:
    """The versions of one model, oldest first; raises when there are none, or when two
    projects have a model of that name and ``project`` does not say which."""
    versions = [
        v for v in registry.versions if v.name == name and (project is None or v.project == project)
    ]
    if not versions:
        where = f" in project {project!r}" if project is not None else ""
        raise ModelNotFoundError(f"no model named {name!r}{where}")
    projects = sorted({v.project for v in versions})
    if len(projects) > 1:
        raise ModelNotFoundError(
            f"projects {', '.join(map(repr, projects))} each have a model named {name!r}: "
            "pass project=…"
        )
    return versions


def _kind_of(path: str) -> str | None:
    """``version`` or ``alias`` for a registry file's path, by its name and place."""
    parts = path.rsplit("/", 3)
    if VERSION_FILE.fullmatch(parts[-1]):
        return "version"
    if ALIAS_FILE.fullmatch(parts[-1]) and len(parts) == 4 and parts[-3] == ALIASES_DIR:
        return "alias"
    return None


def _place(path: str, kind: str) -> tuple[str, str, str]:
    """(project key, model key, version file name or alias) of a registry file's path."""
    if kind == "version":
        project, name, last = path.rsplit("/", 3)[-3:]
    else:
        project, name, _, last, _ = path.rsplit("/", 5)[-5:]
    return project, name, last


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{value!r} is not text")
    return value


def _number(value: Any) -> float | int | str:
    """A metric value as version files hold it: a number, or "nan", "inf", "-inf"."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TypeError(f"{value!r} is not a metric value")
    return value


def _plain_scalar(value: Any) -> str | bool | None:
    if value is not None and not isinstance(value, str | bool):
        raise TypeError(f"{value!r} is not text, true/false or null")
    return value


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _plain(value: Any) -> Any:
    """JSON has no NaN or infinity: those become strings, as in run summaries."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
