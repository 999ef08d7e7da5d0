"""The datasets page and a run's Datasets section in Chromium, under a URL prefix."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

import xsite
from tests.browser.conftest import WatchedPage, serve
from tests.test_records import FRAME


def built_and_served(tmp: Path, run_id: str) -> Iterator[tuple[str, str]]:
    """The site of the store in ``tmp``, served: its URL, and the run to look at."""
    report = xsite.build(xsite.SiteConfig(store=str(tmp / "store"), out=str(tmp / "site")))
    assert report.broken_links == []
    yield from ((url, run_id) for url in serve(tmp / "site"))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    tmp = tmp_path_factory.mktemp("datasets")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", xsite.LeakageWarning)
        with xsite.init(project="p", name="leaky", capture=False, dir=tmp / "store") as run:
            run.log_dataset(FRAME.iloc[:80], name="digits", split="train")
            run.log_dataset(FRAME.iloc[70:], name="digits", split="test")
    yield from built_and_served(tmp, run.id)


def test_from_a_run_to_its_dataset_and_its_leak(
    site: tuple[str, str], watched: WatchedPage
) -> None:
    url, run_id = site
    page = watched.page
    page.goto(f"{url}runs/{run_id}/")
    section = page.locator("#datasets")
    assert section.locator("tbody tr").count() == 2
    leak = section.locator(".xs-leak-note")
    assert leak.inner_text() == "10 rows of digits/train"
    body = page.evaluate("() => getComputedStyle(document.body).color")
    assert leak.evaluate("(e) => getComputedStyle(e).color") != body  # called out
    section.get_by_role("link", name="digits/test").click()
    page.wait_for_url(f"{url}datasets/#d-*")
    anchor = page.url.split("#")[1]
    assert page.locator(f"#{anchor}").is_visible()
    assert page.locator(".xs-leaks tbody tr").inner_text().startswith("leaky")
    page.locator(f"#{anchor} summary").click()  # the profile opens
    assert page.locator(f"#{anchor} .xs-profile").is_visible()
    assert watched.problems == []


@pytest.fixture(scope="module")
def records_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    from tests.test_records import logged_run

    tmp = tmp_path_factory.mktemp("records")
    yield from built_and_served(tmp, logged_run(tmp / "store", tmp))


def test_logged_records_sort_draw_and_slide(
    records_site: tuple[str, str], watched: WatchedPage
) -> None:
    url, run_id = records_site
    page = watched.page
    page.goto(f"{url}runs/{run_id}/")
    # The chart is drawn by the site's Vega from the logged spec.
    page.wait_for_selector(".xs-logged-chart svg path", timeout=15_000)
    # A table sorts by a column, numbers as numbers.
    per_class = page.locator("#tables .xs-record").nth(1).locator("details[open] table")
    per_class.get_by_role("button", name="Sort by acc").click()
    assert per_class.locator("tbody td.xs-num").all_inner_texts() == ["0.7", "0.9"]
    per_class.get_by_role("button", name="Sort by acc").click()
    assert per_class.locator("tbody td.xs-num").all_inner_texts() == ["0.9", "0.7"]
    # The gallery's slider shows the image of each step.
    gallery = page.locator(".xs-gallery").filter(has_text="samples")
    assert gallery.locator("img:visible").get_attribute("data-step") == "2"
    gallery.locator("input[type=range]").fill("0")
    assert gallery.locator("img:visible").get_attribute("data-step") == "0"
    assert gallery.locator("output").inner_text() == "0"
    assert gallery.locator("img:visible").evaluate("(img) => img.naturalWidth") == 4
    assert watched.problems == []
