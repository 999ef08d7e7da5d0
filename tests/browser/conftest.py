"""Browser tests: a real site, served over HTTP under a /<prefix>/ path as on GitHub Pages,
opened in Debian's headless Chromium through Playwright."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.chromium import CHROMIUM, launch

PREFIX = "lab-site"

if not CHROMIUM.exists():
    pytest.skip(
        "browser tests need Debian's Chromium at /usr/bin/chromium: "
        "apt-get install -y chromium (.ci/run does this)",
        allow_module_level=True,
    )

from playwright.sync_api import (  # noqa: E402
    Browser,
    ConsoleMessage,
    Page,
    Response,
    sync_playwright,
)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()


def serve(site: Path) -> Iterator[str]:
    """Serve ``site`` at ``http://127.0.0.1:<port>/<PREFIX>/`` until the generator closes."""
    www = site.parent / "www"
    www.mkdir(exist_ok=True)
    (www / PREFIX).symlink_to(site, target_is_directory=True)
    handler = functools.partial(QuietHandler, directory=str(www))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/{PREFIX}/"
    finally:
        server.shutdown()
        server.server_close()


class WatchedPage:
    """A page that records console errors, warnings and uncaught exceptions."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.problems: list[str] = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.problems.append(f"pageerror: {error}"))
        page.on("response", self._on_response)

    def _on_response(self, response: Response) -> None:
        if response.status >= 400:
            self.problems.append(f"HTTP {response.status}: {response.url}")

    def _on_console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            self.problems.append(f"console {message.type}: {message.text}")


@pytest.fixture
def watched(chromium: Browser) -> Iterator[WatchedPage]:
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = WatchedPage(context.new_page())
    yield page
    context.close()
