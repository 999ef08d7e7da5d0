"""The search box of every page, in Chromium over HTTP under a path prefix: full text over
the built site, grouped, typo tolerant, keyboard navigable, and data shown as text."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page

import xsite
from tests.browser.conftest import WatchedPage, serve
from tests.test_build import EVIL, make_store

TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    tmp = tmp_path_factory.mktemp("search")
    ids = make_store(tmp / "store", tmp)
    with xsite.init(
        project="vision",
        name="transformer-big",
        params={"optimizer": {"name": "adamw"}},
        notes="Tried label smoothing; it hurt calibration.",
        capture=False,
        dir=tmp / "store",
    ) as run:
        run.log({"val/acc": 0.5})
    ids["transformer"] = run.id
    (tmp / "w.bin").write_bytes(b"weights")
    with xsite.init(project="speech", name="asr", capture=False, dir=tmp / "store") as run:
        # "a": a word that Pagefind's fallback matches to any query that starts with it.
        metadata = {"task": "transcription", "comment": "a b c"}
        run.log_model(tmp / "w.bin", "wav2vec-encoder", metadata=metadata)
    report = xsite.build(xsite.SiteConfig(store=str(tmp / "store"), out=str(tmp / "site")))
    assert report.broken_links == []
    yield from ((url, ids) for url in serve(tmp / "site"))


def search(page: Page, text: str) -> dict[str, list[str]]:
    """Type ``text`` into the search box; the result titles, by group."""
    box = page.get_by_role("combobox", name="Search runs, notes and projects")
    box.fill(text)
    shown = f"document.getElementById('xs-search-results').dataset.query === {json.dumps(text)}"
    page.wait_for_function(shown, timeout=TIMEOUT_MS)
    return page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('.xs-search-group')].map(g => [
            g.querySelector('.xs-search-group-label').textContent.split(' (')[0],
            [...g.querySelectorAll('.xs-search-title')].map(t => t.textContent)]))"""
    )


def test_search_finds_params_notes_and_projects_from_any_page(site, watched: WatchedPage) -> None:
    url, ids = site
    page = watched.page
    page.goto(f"{url}runs/{ids['lr0.1']}/")  # two folders deep, under the prefix
    # A param value; not the model page, whose "a" only starts the word.
    assert search(page, "adamw") == {"Runs": ["transformer-big"]}
    assert search(page, "calibration") == {"Runs": ["transformer-big"]}  # a note phrase
    assert search(page, ids["transformer"][:8])["Runs"] == ["transformer-big"]  # an id
    found = search(page, "vision")
    assert found["Projects"] == ["vision"] and len(found["Runs"]) == 4
    assert search(page, "transcription") == {"Models": ["wav2vec-encoder"]}  # its metadata
    assert search(page, "transcripton") == {"Models": ["wav2vec-encoder"]}  # a typo too
    assert watched.problems == []


def test_search_forgives_a_typo(site, watched: WatchedPage) -> None:
    url, _ = site
    page = watched.page
    page.goto(url)
    assert search(page, "tranformer") == {"Runs": ["transformer-big"]}
    assert "showing “transformer”" in page.locator(".xs-search-message").inner_text()
    assert watched.problems == []


def test_keyboard_opens_a_result(site, watched: WatchedPage) -> None:
    url, _ = site
    page = watched.page
    page.goto(url)
    page.keyboard.press("/")  # focuses the search box
    page.keyboard.type("resnet")
    page.locator(".xs-search-result").first.wait_for(timeout=TIMEOUT_MS)
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    chosen = page.locator(".xs-search-result[aria-selected=true]")
    assert chosen.count() == 1 and chosen.get_attribute("id") == "xs-search-option-1"
    target = chosen.get_attribute("href")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**{target}")
    assert "/lab-site/runs/" in page.url
    assert watched.problems == []


def test_data_in_results_stays_text(site, watched: WatchedPage) -> None:
    url, _ = site
    page = watched.page
    page.goto(url)
    page.evaluate("() => { window.alert = () => { window.alerted = true; }; }")
    found = search(page, "onerror")
    assert found["Runs"] == [EVIL]
    assert page.locator("#xs-search-results img").count() == 0
    assert not page.evaluate("window.alerted === true")
    assert watched.problems == []
