"""``xsite serve`` as a real process: what it serves and refuses, how it rebuilds, and how
it stops."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

import xsite
from tests.serve.preview import Preview, log_runs


def start(folder: Path) -> Preview:
    log_runs(folder / "store", "first", "second")
    (folder / "notes").mkdir()
    (folder / "notes/plan.md").write_text("# Plan\n\nStart with [[first]].\n")
    (folder / "outside.txt").write_text("secret")
    return Preview(folder, "store", "--out", "site")


@pytest.fixture
def preview(tmp_path: Path) -> Iterator[Preview]:
    """A preview of its own, for a test that changes what it serves."""
    server = start(tmp_path)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Preview, Path]]:
    """A preview that tests only read from."""
    folder = tmp_path_factory.mktemp("served")
    server = start(folder)
    (folder / "site/linked-out").symlink_to(folder, target_is_directory=True)
    (folder / "site/linked-file").symlink_to(folder / "outside.txt")
    yield server, folder
    server.stop()


def get(preview: Preview, path: str, host: str | None = None) -> tuple[int, dict, bytes]:
    address = urlsplit(preview.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    connection.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
    connection.putheader("Host", host or address.netloc)
    connection.endheaders()
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, dict(response.getheaders()), body


def test_it_serves_the_site_with_the_reload_script_only_in_what_it_sends(served) -> None:
    preview, tmp_path = served
    status, headers, body = get(preview, "/")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert b'<script src="/__xsite/livereload.js"' in body
    assert b"livereload" not in (tmp_path / "site/index.html").read_bytes()  # publishable as is
    assert get(preview, "/notes/plan/")[0] == 200
    assert get(preview, "/assets/charts.js")[1]["Content-Type"].startswith("text/javascript")
    assert get(preview, "/runs.json")[1]["Content-Type"].startswith("application/json")
    assert get(preview, "/__xsite/livereload.js")[0] == 200
    assert "Access-Control-Allow-Origin" not in headers
    status, headers, _ = get(preview, "/notes")
    assert status == 301 and headers["Location"] == "/notes/"


@pytest.mark.parametrize(
    "path",
    [
        "/../outside.txt",
        "/%2e%2e/outside.txt",
        "/%2E%2E%2Foutside.txt",
        "/runs/..%2f..%2foutside.txt",
        "/..%5coutside.txt",
        "/%252e%252e/outside.txt",
        "//outside.txt",
        "/assets/",  # a folder without index.html: no listing
        "/linked-out/outside.txt",
        "/linked-file",
        "/C:/Windows/win.ini",
        "/index.html%00.txt",
    ],
)
def test_hostile_paths_get_404(served, path: str) -> None:
    status, _, body = get(served[0], path)
    assert status == 404 and b"secret" not in body


def test_other_host_names_are_refused(served) -> None:
    """A page of another site whose name resolves here (DNS rebinding) cannot read it."""
    preview = served[0]
    port = urlsplit(preview.url).port
    assert get(preview, "/", host=f"evil.example:{port}")[0] == 403
    assert get(preview, "/", host=f"localhost:{port}")[0] == 200


def events(preview: Preview, since: int) -> Iterator[dict]:
    address = urlsplit(preview.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=15)
    connection.request("GET", f"/__xsite/events?since={since}")
    response = connection.getresponse()
    assert response.getheader("Content-Type") == "text/event-stream"
    for raw in response:
        line = raw.decode().strip()
        if line.startswith("data: "):
            yield json.loads(line.removeprefix("data: "))


def test_a_new_run_is_rebuilt_and_announced(preview: Preview, tmp_path: Path) -> None:
    stream = events(preview, since=1)
    [run_id] = log_runs(tmp_path / "store", "third")
    preview.wait_for(r"^Built 3 runs")
    event = next(stream)
    assert event["error"] is None and event["build"] >= 2
    assert f"runs/{run_id}/index.html" in event["changed"] and "index.html" in event["changed"]
    assert run_id.encode() in get(preview, "/")[2]


def test_a_burst_of_writes_causes_few_rebuilds(preview: Preview, tmp_path: Path) -> None:
    before = preview.builds()
    with xsite.init(project="mnist", name="sweep", capture=False, dir=tmp_path / "store") as run:
        for step in range(200):  # 200 flushes: 200 part files, as a sweep of processes writes
            run.log({"loss": 1 / (step + 1)}, step=step)
            run.flush()
    preview.wait_for(r"^Built 3 runs")
    time.sleep(2.5)  # any rebuild still due
    assert 1 <= preview.builds() - before <= 4


def test_a_failed_rebuild_keeps_the_last_good_site(preview: Preview, tmp_path: Path) -> None:
    stream = events(preview, since=1)
    (tmp_path / "xsite.toml").write_text('title = "ok"\ncolour = "red"\n')  # unknown setting
    preview.wait_for(r"Build failed")
    assert "unknown setting 'colour'" in next(stream)["error"]
    assert get(preview, "/")[0] == 200
    (tmp_path / "xsite.toml").write_text('title = "Fixed"\n')
    preview.wait_for(r"^Built 2 runs")
    assert next(stream)["error"] is None
    assert b"Fixed" in get(preview, "/")[2]


def test_ctrl_c_stops_it(preview: Preview) -> None:
    assert preview.stop() == 0
    assert "Stopped." in "".join(preview.output)


def test_it_binds_to_this_machine_only_by_default(served) -> None:
    address = urlsplit(served[0].url)
    assert address.hostname == "127.0.0.1"
    others = [ip for ip in _other_addresses() if ip != "127.0.0.1"]
    for ip in others:
        with pytest.raises(OSError):
            http.client.HTTPConnection(ip, address.port, timeout=2).request("GET", "/")


def _other_addresses() -> list[str]:
    try:
        found = socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)
    except OSError:
        return []
    return sorted({info[4][0] for info in found})


def test_a_first_build_that_fails_says_why_and_exits(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "xsite.cli", "serve", "no-store-here", "--port", "0"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1 and "no store at" in result.stderr
