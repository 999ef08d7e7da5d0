"""The preview's HTTP server: the site folder, read-only, to this machine only.

- Files only from under the site folder: no ``..`` (also percent-encoded), no backslash,
  no symlink that leads out, no directory listing; a folder serves its ``index.html``.
- The Host header must name this server (a DNS-rebinding page cannot read the preview),
  and no response allows other origins.
- HTML pages get one extra script, the live-reload client, served from ``/__xsite/``; the
  site on disk never has it.
"""

from __future__ import annotations

import http.server
import json
import mimetypes
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

CHANNEL = "/__xsite/"
EVENTS = CHANNEL + "events"
CLIENT = CHANNEL + "livereload.js"
_CLIENT_FILE = Path(__file__).with_name("livereload.js")
_KEEPALIVE_SECONDS = 10.0
_TYPES = {
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".json": "application/json",
    ".css": "text/css",
    ".html": "text/html",
    ".svg": "image/svg+xml",
    ".txt": "text/plain",
    ".xml": "application/xml",
    ".wasm": "application/wasm",
}


@dataclass
class BuildState:
    """What the last build did, for pages that are open."""

    number: int = 0
    changed: list[str] = field(default_factory=list)
    error: str | None = None
    warnings: list[str] = field(default_factory=list)

    def message(self, limit: int = 5000) -> dict[str, Any]:
        everything = len(self.changed) > limit
        return {
            "build": self.number,
            "changed": None if everything else self.changed,
            "error": self.error,
            "warnings": self.warnings[:50],
        }


class Builds:
    """The state of the latest build, which request threads wait on."""

    def __init__(self) -> None:
        self.state = BuildState()
        self._condition = threading.Condition()

    def publish(self, state: BuildState) -> None:
        with self._condition:
            self.state = state
            self._condition.notify_all()

    def after(self, number: int, timeout: float) -> BuildState | None:
        """The first build newer than ``number``, waiting up to ``timeout``; None if none."""
        with self._condition:
            self._condition.wait_for(lambda: self.state.number > number, timeout)
            return self.state if self.state.number > number else None


def make_server(
    site: Path, host: str, port: int, builds: Builds, stopping: Callable[[], bool]
) -> http.server.ThreadingHTTPServer:
    root = site.resolve()

    class Handler(_Handler):
        pass

    Handler.root, Handler.builds, Handler.stopping = root, builds, staticmethod(stopping)
    server = http.server.ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True  # open event streams never hold up a stop
    bound = server.server_address[1]
    names = {host, "127.0.0.1", "localhost", "[::1]", "::1"}
    Handler.hosts = frozenset(f"{name}:{bound}" for name in names) | frozenset(names)
    return server


class _Handler(http.server.BaseHTTPRequestHandler):
    root: Path
    builds: Builds
    hosts: frozenset[str]
    stopping: Callable[[], bool]
    server_version = "xsite"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass  # the terminal shows builds, not requests

    def do_HEAD(self) -> None:
        self._respond(head=True)

    def do_GET(self) -> None:
        self._respond(head=False)

    def _respond(self, head: bool) -> None:
        if self.headers.get("Host", "") not in self.hosts:
            self._send_text(403, "This server answers only to its own address.", head)
            return
        url = urlsplit(self.path)
        if url.path == EVENTS:
            since = parse_qs(url.query).get("since", ["0"])[0]
            self._stream_events(int(since) if since.isdigit() else 0)
            return
        if url.path == CLIENT:
            self._send(200, _CLIENT_FILE.read_bytes(), "text/javascript", head)
            return
        target = self._file(url.path)
        if target is None:
            missing = self.root / "404.html"
            body = missing.read_bytes() if missing.is_file() else b"Not found"
            self._send(404, self._with_client(body), "text/html", head)
            return
        if target.is_dir():  # a folder without its slash: as static hosts do
            self.send_response(301)
            self.send_header("Location", url.path + "/")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = target.read_bytes()
        kind = _TYPES.get(target.suffix.lower()) or mimetypes.guess_type(target.name)[0]
        kind = kind or "application/octet-stream"
        self._send(200, self._with_client(body) if kind == "text/html" else body, kind, head)

    def _file(self, raw: str) -> Path | None:
        """The file a URL path names under the site folder, or None."""
        path = unquote(raw)
        if "\x00" in path or "\\" in path or not path.startswith("/"):
            return None
        parts = [part for part in path.split("/") if part]
        if any(part in (".", "..") or ":" in part for part in parts):
            return None
        target = self.root.joinpath(*parts)
        try:
            resolved = target.resolve(strict=True)
        except (OSError, RuntimeError):
            return None
        if not resolved.is_relative_to(self.root):  # a symlink out of the site
            return None
        if resolved.is_dir():
            if not path.endswith("/"):
                return resolved
            index = resolved / "index.html"
            return index if index.is_file() else None
        return resolved if resolved.is_file() else None

    def _with_client(self, html: bytes) -> bytes:
        number = self.builds.state.number
        tag = f'<script src="{CLIENT}" data-build="{number}" defer></script>'.encode()
        end = html.rfind(b"</body>")
        return html[:end] + tag + html[end:] if end >= 0 else html + tag

    def _send(self, status: int, body: bytes, kind: str, head: bool) -> None:
        self.send_response(status)
        charset = "; charset=utf-8" if kind.startswith("text/") or kind.endswith("json") else ""
        self.send_header("Content-Type", kind + charset)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _send_text(self, status: int, text: str, head: bool) -> None:
        self._send(status, text.encode(), "text/plain", head)

    def _stream_events(self, since: int) -> None:
        """Server-sent events: one ``build`` event per build after ``since``."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.close_connection = True
        try:
            while not self.stopping():
                state = self.builds.after(since, timeout=_KEEPALIVE_SECONDS)
                if state is None:
                    self.wfile.write(b": keep-alive\n\n")
                else:
                    since = state.number
                    data = json.dumps(state.message())
                    self.wfile.write(f"event: build\ndata: {data}\n\n".encode())
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            return  # the page went away
