"""The datasets page and a run's Datasets section in Chromium, under a URL prefix."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest

import xsite
from tests.browser.conftest import WatchedPage, serve
from tests.test_records import FRAME


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    tmp = tmp_path_factory.mktemp("datasets")
    store = tmp / "store"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", xsite.LeakageWarning)
        with xsite.init(project="p", name="leaky", capture=False, dir=store) as run:
            run.log_dataset(FRAME.iloc[:80], name="digits", split="train")
            run.log_dataset(FRAME.iloc[70:], name="digits", split="test")
    report = xsite.build(xsite.SiteConfig(store=str(store), out=str(tmp / "site")))
    assert report.broken_links == []
    yield from ((url, run.id) for url in serve(tmp / "site"))


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
