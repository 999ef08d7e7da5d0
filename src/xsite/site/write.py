"""Writing the site: atomic files, untouched when unchanged, stale files removed.

The writer keeps a manifest (in the build cache, not in the site) of every file it wrote:
its content hash and the key of what it was made from. A rebuild compares against it, so
unchanged files are neither rendered nor rewritten, and files of runs that left the store
are deleted — but never a file the writer did not write.
"""

from __future__ import annotations

import bisect
import fnmatch
import hashlib
import os
import posixpath
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from xsite.errors import BuildError

_MANIFEST_FORMAT = 2


@dataclass
class WriteStats:
    written: int = 0
    unchanged: int = 0
    removed: int = 0
    bytes: int = 0
    changed: list[str] = field(default_factory=list)
    """The paths written or removed, in the order they were."""


class SiteWriter:
    def __init__(self, out: Path, manifest: Path) -> None:
        self.out = out.resolve()
        self.manifest = manifest
        self.previous: dict[str, list[Any]] = self._load_manifest()
        self.current: dict[str, list[Any]] = {}
        self.stats = WriteStats()
        self.out.mkdir(parents=True, exist_ok=True)
        self._root = str(self.out)
        self._previous_paths = sorted(self.previous)
        self._there: dict[str, bool] = {}

    def target(self, path: str) -> Path:
        """The file for site path ``path``; refuses any path that would leave the site.

        Site paths are made from checked run ids and artifact names; this is the last line
        of defence, kept cheap (no filesystem calls) because it runs for every file.
        """
        normal = posixpath.normpath(path)
        if normal in ("", ".") or normal.startswith(("/", "../")) or normal == "..":
            raise BuildError(f"refusing to write outside the site folder: {path!r}")
        return self.out / normal

    def has(self, path: str, key: str | None = None) -> bool:
        """Whether ``path`` was written by the last build (from ``key``, if given) and is
        still there."""
        entry = self.previous.get(path)
        if entry is None or (key is not None and entry[1] != key):
            return False
        return self._still_there(path)

    def holds(self, folder: str, *names: str) -> bool:
        """Whether every file the last build wrote under ``folder`` (ending in ``/``) is
        still there, and ``names`` (relative to the folder) among them."""
        paths = self.previous_files(folder)
        return all(folder + name in self.previous for name in names) and all(
            self._still_there(path) for path in paths
        )

    def keep(self, path: str) -> None:
        """Carry a file of the last build over unchanged."""
        self._claim(path)
        entry = self.current[path] = self.previous[path]
        self.stats.unchanged += 1
        self.stats.bytes += entry[2]

    def keep_folder(self, folder: str) -> None:
        """Carry over every file the last build wrote under ``folder`` that this build has
        not written or kept yet."""
        for path in self.previous_files(folder):
            if path not in self.current:
                self.keep(path)

    def previous_files(self, folder: str) -> list[str]:
        """The files the last build wrote under ``folder`` (ending in ``/``)."""
        # The manifest's paths, sorted: a folder's files are one slice, from "folder/" up to
        # "folder0" ("0" sorts right after "/").
        start = bisect.bisect_left(self._previous_paths, folder)
        end = bisect.bisect_left(self._previous_paths, folder[:-1] + "0", start)
        return self._previous_paths[start:end]

    def _still_there(self, path: str) -> bool:
        """Whether a file of the last build is still in the site, looked up once a build.

        Paths in the manifest were checked by target() when they were written; os.path on
        strings is several times faster than pathlib, and this runs for every file.
        """
        there = self._there.get(path)
        if there is None:
            there = self._there[path] = os.path.isfile(os.path.join(self._root, path))
        return there

    def write(self, path: str, content: bytes, key: str | None = None) -> None:
        digest = hashlib.sha256(content).hexdigest()
        self._put(path, digest, len(content), key, lambda out: out.write(content))

    def copy(self, path: str, source: BinaryIO, digest: str, size: int) -> None:
        """Stream a file of known SHA-256 into the site (artifacts can be large)."""
        self._put(path, digest, size, None, lambda out: shutil.copyfileobj(source, out, 1 << 20))

    def _put(
        self, path: str, digest: str, size: int, key: str | None, fill: Callable[[BinaryIO], Any]
    ) -> None:
        """Record ``path``; write it (atomically, through ``fill``) unless it is unchanged."""
        self._claim(path)
        self.current[path] = [digest, key, size]
        self.stats.bytes += size
        target = self.target(path)
        previous = self.previous.get(path)
        if previous is not None and previous[0] == digest and self._still_there(path):
            self.stats.unchanged += 1
            return
        replace_atomically(target, fill)
        self._there[path] = True
        self.stats.written += 1
        self.stats.changed.append(path)

    def _claim(self, path: str) -> None:
        # Pages, plugins and artifacts all choose paths: a second file for one path would
        # silently replace the first (Pelican's writer refuses too).
        if path in self.current:
            raise BuildError(
                f"two files of this build want the path {path!r}: rename one (a note or "
                "comparison slug, or a plugin's page)"
            )

    def finish(self) -> None:
        """Delete what the last build wrote and this one did not; save the manifest."""
        for path in sorted(set(self.previous) - set(self.current)):
            target = self.target(path)
            if target.is_file():
                target.unlink()
                self.stats.removed += 1
                self.stats.changed.append(path)
                _remove_empty_parents(target.parent, self.out)
        manifest = orjson.dumps({"format": _MANIFEST_FORMAT, "files": self.current})
        replace_atomically(self.manifest, lambda out: out.write(manifest))

    def _load_manifest(self) -> dict[str, list[Any]]:
        try:
            data = orjson.loads(self.manifest.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            return {}
        if not isinstance(data, dict) or data.get("format") != _MANIFEST_FORMAT:
            return {}
        return data.get("files", {})


@dataclass(frozen=True)
class WrittenSite:
    """The site as a post-build hook sees it: written, not yet cleaned of stale files
    (which may still be in the folder: :meth:`pages` lists only this build's)."""

    folder: Path
    rendered: frozenset[str]
    """Paths of the pages rendered this build (the others were kept from the last one)."""
    writer: SiteWriter

    def pages(self, pattern: str) -> list[str]:
        """This build's files whose path matches the glob ``pattern``, sorted."""
        return sorted(fnmatch.filter(self.writer.current, pattern))

    def digest(self, paths: list[str]) -> str:
        """A key of these files' paths and contents."""
        digest = hashlib.sha256()
        for path in paths:
            digest.update(f"{path}\0{self.writer.current[path][0]}\0".encode())
        return digest.hexdigest()

    def keep(self, folder: str, key: str) -> bool:
        """Carry over every file the last build wrote under ``folder`` (ending in ``/``)
        from ``key``, when there are any and all are still there; False otherwise."""
        writer = self.writer
        previous = writer.previous_files(folder)
        if not previous or any(writer.previous[path][1] != key for path in previous):
            return False
        if not writer.holds(folder):
            return False
        writer.keep_folder(folder)
        return True


def replace_atomically(path: Path, fill: Callable[[BinaryIO], Any]) -> None:
    """Write ``path`` through ``fill(file)`` so that readers see the old file or the whole
    new one, never a part: a temporary file beside it, renamed into place. The temporary
    name carries the process id, so concurrent builds never write into each other's file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("wb") as out:
            fill(out)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _remove_empty_parents(folder: Path, stop: Path) -> None:
    while folder != stop and folder.is_relative_to(stop) and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent
