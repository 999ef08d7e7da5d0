"""Watching the store, notes, config and theme, and turning bursts of changes into one
rebuild.

A sweep of 16 processes flushing, or a compaction, writes hundreds of files in a second:
the watcher waits until changes pause (``quiet`` seconds) before it rebuilds, and rebuilds
at least every ``longest`` seconds while changes keep coming, so a running training still
shows up. Changes during a rebuild cause one more rebuild after it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

QUIET_SECONDS = 0.3
LONGEST_SECONDS = 2.0
_IGNORED_SUFFIXES = (".tmp", ".swp", "~", ".pyc")
_IGNORED_NAMES = {".git", "__pycache__", ".DS_Store"}


class Debouncer:
    """Calls ``action`` once changes pause, in a thread of its own."""

    def __init__(
        self,
        action: Callable[[], None],
        quiet: float = QUIET_SECONDS,
        longest: float = LONGEST_SECONDS,
    ) -> None:
        self.action, self.quiet, self.longest = action, quiet, longest
        self._changed = threading.Condition()
        self._first: float | None = None
        self._last = 0.0
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="xsite-rebuild", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def changed(self) -> None:
        with self._changed:
            now = time.monotonic()
            self._first = self._first if self._first is not None else now
            self._last = now
            self._changed.notify()

    def stop(self) -> None:
        with self._changed:
            self._stopped = True
            self._changed.notify()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            with self._changed:
                while self._first is None and not self._stopped:
                    self._changed.wait()
                if self._stopped:
                    return
                while not self._stopped:
                    now = time.monotonic()
                    assert self._first is not None
                    wait = min(self._last + self.quiet, self._first + self.longest) - now
                    if wait <= 0:
                        break
                    self._changed.wait(wait)
                if self._stopped:
                    return
                self._first = None
            self.action()  # changes that come meanwhile set _first again: one more rebuild


class _Handler(FileSystemEventHandler):
    def __init__(
        self,
        changed: Callable[[], None],
        folders: list[Path],
        files: set[Path],
        ignored: list[Path],
    ) -> None:
        self.changed, self.folders, self.files, self.ignored = changed, folders, files, ignored

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in ("opened", "closed_no_write"):
            return
        if event.is_directory and event.event_type == "modified":
            return
        paths = [event.src_path, getattr(event, "dest_path", "") or ""]
        if any(path and self._matters(Path(str(path))) for path in paths):
            self.changed()

    def _matters(self, path: Path) -> bool:
        if path.name.endswith(_IGNORED_SUFFIXES) or _IGNORED_NAMES & set(path.parts):
            return False
        if any(path.is_relative_to(folder) for folder in self.ignored):
            return False
        return path in self.files or any(path.is_relative_to(f) for f in self.folders)


class Watcher:
    """Watches ``paths`` (folders recursively, files through their folder), leaving out
    ``ignored`` folders (the site being written), and calls ``changed`` on each change."""

    def __init__(
        self,
        paths: Iterable[Path],
        ignored: Iterable[Path],
        changed: Callable[[], None],
        poll: bool = False,
    ) -> None:
        self.observer: BaseObserver = PollingObserver(timeout=0.5) if poll else Observer()
        resolved = [path.resolve() for path in paths]
        folders = [path for path in resolved if path.is_dir()]
        files = {path for path in resolved if not path.is_dir()}
        handler = _Handler(changed, folders, files, [p.resolve() for p in ignored])
        scheduled: set[tuple[Path, bool]] = set()
        for folder, recursive in [
            *((f, True) for f in folders),
            *((f.parent, False) for f in files),
        ]:
            if folder.is_dir() and (folder, recursive) not in scheduled:
                scheduled.add((folder, recursive))
                self.observer.schedule(handler, str(folder), recursive=recursive)
        self.watched = sorted(folders + sorted(files))

    def start(self) -> None:
        self.observer.start()

    def stop(self) -> None:
        self.observer.stop()
        self.observer.join(timeout=5)
