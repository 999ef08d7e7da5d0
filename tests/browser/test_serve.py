"""``xsite serve`` in Chromium: open pages follow new runs by themselves, pages a change does
not touch stay as they are, and a failed build shows its error over the page."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import xsite
from tests.browser.conftest import WatchedPage
from tests.serve.preview import Preview, log_runs

SHOWN_WITHIN_S = 3.0


@pytest.fixture
def preview(tmp_path: Path) -> Iterator[tuple[Preview, Path, dict[str, str]]]:
    ids = dict(
        zip(["first", "second"], log_runs(tmp_path / "store", "first", "second"), strict=True)
    )
    server = Preview(tmp_path, "store", "--out", "site")
    yield server, tmp_path, ids
    server.stop()


def test_a_new_run_appears_in_open_pages_without_a_manual_reload(preview, chromium) -> None:
    server, folder, ids = preview
    context = chromium.new_context()
    home = WatchedPage(context.new_page())
    home.page.goto(server.url)
    run_page = WatchedPage(context.new_page())
    run_page.page.goto(f"{server.url}runs/{ids['first']}/")
    for watched in (home, run_page):
        watched.page.evaluate("() => { window.unreloaded = true; }")
    time.sleep(0.5)  # the event streams are connected

    log_runs(folder / "store", "third")
    written = time.monotonic()
    home.page.get_by_role("link", name="third", exact=True).wait_for(timeout=10_000)
    assert time.monotonic() - written <= SHOWN_WITHIN_S
    assert home.page.evaluate("() => window.unreloaded") is None  # it reloaded
    # The first run's page did not change: it was left alone.
    assert run_page.page.evaluate("() => window.unreloaded") is True
    assert home.problems == [] and run_page.problems == []
    context.close()


def test_a_failed_build_shows_its_error_until_fixed(preview, watched: WatchedPage) -> None:
    server, folder, _ = preview
    page = watched.page
    page.goto(server.url)
    time.sleep(0.5)
    (folder / "xsite.toml").write_text('title = "x"\ncolour = "red"\n')
    alert = page.locator("#xsite-serve-error")
    alert.wait_for(timeout=10_000)
    assert "unknown setting 'colour'" in alert.inner_text()
    (folder / "xsite.toml").write_text('title = "Fixed title"\n')
    page.get_by_role("link", name="Fixed title").wait_for(timeout=10_000)
    assert page.locator("#xsite-serve-error").count() == 0
    assert watched.problems == []


def test_the_page_of_a_running_run_grows_as_it_logs(preview, watched: WatchedPage) -> None:
    server, folder, _ = preview
    run = xsite.init(project="mnist", name="training", capture=False, dir=folder / "store")
    for step in range(5):
        run.log({"val/acc": step / 10}, step=step)
    run.flush()
    server.wait_for(r"^Built 3 runs")
    page = watched.page
    page.goto(f"{server.url}runs/{run.id}/")
    points = page.locator("table.xs-summary tbody tr td").last
    assert points.inner_text() == "5"
    for step in range(5, 12):
        run.log({"val/acc": step / 10}, step=step)
    run.flush()
    page.wait_for_function(
        "() => document.querySelector('table.xs-summary tbody tr td:last-child')"
        ".textContent === '12'",
        timeout=10_000,
    )
    page.locator("figure.xs-chart[data-rendered=true]").first.wait_for(timeout=10_000)
    run.finish()
    assert watched.problems == []
