"""The build cache: each run's row and pickled record as the last build read them, with
what its store folder held then, so an unchanged run is not read again."""

from __future__ import annotations

import hashlib
import pickle
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from xsite.site.model import RunRow
from xsite.site.write import replace_atomically
from xsite.version import __version__

_CACHE_FORMAT = (7, __version__)
"""Written ahead of each cache file's entries: a cache written by another xsite holds other
classes, so its entries are not unpickled at all."""


@dataclass(frozen=True)
class CacheEntry:
    stamp: int
    """The run folder's stamp (:meth:`xsite.store.reader.StoreReader.run_stamps`)."""
    signature: str
    """A digest of the run folder's listing: equal listings, equal data."""
    row: RunRow
    record: bytes
    """The pickled :class:`RunRecord`: unpickled only for a page that is rendered."""


class RunCache:
    """Rows and records of the runs of the previous build, by run id, each with what its
    folder held.

    Runs are spread over :data:`SHARDS` files by a hash of their id, so a build that reads
    one new run rewrites one small file, not the whole cache.
    """

    SHARDS = 16

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.entries: dict[str, CacheEntry] = {}
        # xsite 0.1 before the shards kept one file beside this folder; it is never read.
        folder.with_suffix(".pickle").unlink(missing_ok=True)
        for shard in range(self.SHARDS):
            try:
                with self._file(shard).open("rb") as file:
                    if pickle.load(file) == _CACHE_FORMAT:
                        self.entries.update(pickle.load(file))
            except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError):
                pass  # no cache, or a damaged one: its runs are read again

    def save(self, entries: dict[str, CacheEntry]) -> None:
        """Write the shards whose entries differ from the loaded ones."""
        changed = {self._shard(run_id) for run_id in entries.keys() ^ self.entries.keys()}
        changed |= {
            self._shard(run_id)
            for run_id, entry in entries.items()
            if self.entries.get(run_id) is not entry
        }
        shards: dict[int, dict[str, CacheEntry]] = {shard: {} for shard in changed}
        for run_id, entry in entries.items():
            if (shard := shards.get(self._shard(run_id))) is not None:
                shard[run_id] = entry
        for number, runs in sorted(shards.items()):

            def fill(file: BinaryIO, runs: dict[str, CacheEntry] = runs) -> None:
                pickle.dump(_CACHE_FORMAT, file, protocol=5)
                pickle.dump(runs, file, protocol=5)

            replace_atomically(self._file(number), fill)
        self.entries = entries

    def _file(self, shard: int) -> Path:
        return self.folder / f"{shard:02d}.pickle"

    def _shard(self, run_id: str) -> int:
        return zlib.crc32(run_id.encode()) % self.SHARDS


def signature_digest(signature: tuple[tuple[str, int, int], ...]) -> str:
    return hashlib.sha256(repr(signature).encode()).hexdigest()


class VersionCache:
    """The model registry's version files as the last build read them, by path: a version
    file never changes, so on object storage a rebuild reads only the new ones."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.files: dict[str, bytes] = {}
        try:
            with path.open("rb") as file:
                if pickle.load(file) == _CACHE_FORMAT:
                    self.files = pickle.load(file)
        except (OSError, EOFError, pickle.UnpicklingError):
            pass  # no cache, or a damaged one: the versions are read again
        self._loaded = dict(self.files)

    def save(self) -> None:
        if self.files == self._loaded:
            return

        def fill(file: BinaryIO) -> None:
            pickle.dump(_CACHE_FORMAT, file, protocol=5)
            pickle.dump(self.files, file, protocol=5)

        replace_atomically(self.path, fill)
