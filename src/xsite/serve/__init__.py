"""``xsite serve``: build, serve on this machine, rebuild on change, reload open pages.

    store, notes, config, theme ──watch──► debounce ──► build() ──► site/ ──HTTP──► browser
                                                            └── build event ──► live reload

The preview is the published site plus one script, the live-reload client, which the
server adds to each page as it sends it. A build that fails leaves the last good site
served and shows its error in open pages and in the terminal.
"""

from __future__ import annotations

import signal
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from pluggy import PluginManager

from xsite.config import SiteConfig
from xsite.errors import ConfigError, XsiteError
from xsite.serve.server import Builds, BuildState, make_server
from xsite.serve.watch import Debouncer, Watcher
from xsite.site.build import BuildReport, build

LOOPBACK = "127.0.0.1"

Load = Callable[[], SiteConfig]
"""Reads the configuration anew (it may have changed since the last build)."""


class Events:
    """What a preview tells whoever started it (the CLI prints these)."""

    def serving(self, url: str, watched: list[Path]) -> None:
        """The first build is done and the site is served at ``url``."""

    def built(self, report: BuildReport) -> None:
        """A rebuild succeeded."""

    def failed(self, message: str) -> None:
        """A build failed; the last good site is still served."""


def serve(
    load: Load,
    *,
    host: str = LOOPBACK,
    port: int = 8000,
    watch: tuple[Path, ...] = (),
    poll: bool = False,
    events: Events | None = None,
    plugins: PluginManager | None = None,
) -> None:
    """Build the site, serve it at ``http://host:port/`` and rebuild it whenever the
    store, the notes, the theme or one of ``watch`` (the config file) changes, until
    Ctrl-C or SIGTERM. Binds to this machine only unless ``host`` says otherwise.

    The first build's errors are raised (there is no site to serve yet); later ones are
    reported through ``events`` and shown in open pages.
    """
    events = events or Events()
    builds = Builds()
    stopping = threading.Event()
    config = load()
    report = build(config, plugins=plugins)  # no last good site yet: an error ends here
    builds.publish(BuildState(1, report.changed, None, report.warnings))
    events.built(report)
    lock = threading.Lock()

    def rebuild() -> None:
        nonlocal config
        with lock:
            number = builds.state.number + 1
            try:
                config = load()
                report = build(config, plugins=plugins)
            except XsiteError as error:
                message = str(error)
            except Exception:  # a bug: keep serving the last good site, show where it broke
                message = traceback.format_exc()
            else:
                builds.publish(BuildState(number, report.changed, None, report.warnings))
                events.built(report)
                return
            builds.publish(BuildState(number, [], message, []))
            events.failed(message)

    try:
        server = make_server(Path(config.out), host, port, builds, stopping.is_set)
    except OSError as error:
        raise ConfigError(
            f"cannot listen on {host}:{port} ({error.strerror or error}): another server may "
            "use the port; pass another with --port (0 picks a free one)"
        ) from error
    debouncer = Debouncer(rebuild)
    watcher = Watcher(
        _watched(config, watch), [Path(config.out), config.cache_dir], debouncer.changed, poll
    )
    thread = threading.Thread(target=server.serve_forever, name="xsite-http", daemon=True)
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        debouncer.start()
        watcher.start()
        thread.start()
        shown = "localhost" if host == LOOPBACK else host
        events.serving(f"http://{shown}:{server.server_address[1]}/", watcher.watched)
        while not stopping.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        stopping.set()
        signal.signal(signal.SIGTERM, previous)
        watcher.stop()
        debouncer.stop()
        server.shutdown()
        server.server_close()


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _watched(config: SiteConfig, extra: tuple[Path, ...]) -> list[Path]:
    """The inputs of a build that are files on this machine."""
    paths = [*extra]
    store = config.store_location
    if "://" not in store:
        paths.append(Path(store))
    paths.append(Path(config.notes) if config.notes else Path("notes"))
    if config.theme:
        paths.append(Path(config.theme))
    return [path for path in paths if path.exists() or path.parent.is_dir()]
