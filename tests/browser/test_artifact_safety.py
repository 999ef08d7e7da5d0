"""Hostile artifacts and names, opened in Chromium from a plain static server: no script of
theirs runs, whether a visitor clicks the artifact link or opens its URL directly."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Error as PlaywrightError

import xsite
from tests.browser.conftest import WatchedPage, serve
from tests.test_artifacts import make_hostile_store

HOSTILE = [
    "EVIL.SVG",
    "evil.svgz",
    "evil.html",
    "evil.htm",
    "evil.shtml",
    "evil.xhtml",
    "evil.xml",
    "evil.mht",
    "evil-no-suffix",
    "evil.html.gz",
]


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    tmp = tmp_path_factory.mktemp("hostile")
    run_id = make_hostile_store(tmp / "store", tmp)
    xsite.build(xsite.SiteConfig(store=str(tmp / "store"), out=str(tmp / "site")))
    yield from ((url, run_id) for url in serve(tmp / "site"))


def ran_script(watched: WatchedPage) -> bool:
    """The payload sets a global and writes to the origin's localStorage, which every page
    of the site shares: either shows it ran anywhere in the origin."""
    page = watched.page
    return page.evaluate(
        """() => {
          if (window.pwned !== undefined) return true;
          try { return localStorage.getItem('pwned') !== null; }
          catch { return false; }  // an opaque origin (an error page): checked from a site page
        }"""
    )


def open_directly(watched: WatchedPage, url: str) -> None:
    try:
        watched.page.goto(url)
    except PlaywrightError as error:  # served as a download: nothing was rendered
        assert "Download is starting" in str(error)


@pytest.mark.parametrize("name", HOSTILE)
def test_clicking_a_hostile_artifact_runs_nothing(hostile_site, watched: WatchedPage, name) -> None:
    url, run_id = hostile_site
    page = watched.page
    page.goto(f"{url}runs/{run_id}/")
    link = page.get_by_role("link", name=name, exact=True)
    with page.expect_download() as download:
        link.click()
    # Chromium adds the type's suffix to a name that has none.
    assert download.value.suggested_filename in (name, f"{name}.txt")
    page.wait_for_load_state("load")
    assert not ran_script(watched)
    assert watched.problems == []


@pytest.mark.parametrize("name", HOSTILE)
def test_opening_a_hostile_artifact_url_runs_nothing(
    hostile_site, watched: WatchedPage, name
) -> None:
    url, run_id = hostile_site
    page = watched.page
    for path in (f"artifacts-as-text/{name}.txt", f"artifacts/{name}"):
        open_directly(watched, f"{url}runs/{run_id}/{path}")
        assert not ran_script(watched), path
    page.goto(f"{url}runs/{run_id}/")
    assert not ran_script(watched)


def test_svg_artifacts_show_as_images(hostile_site, watched: WatchedPage) -> None:
    url, run_id = hostile_site
    page = watched.page
    page.goto(f"{url}runs/{run_id}/")
    svgs = page.locator("#artifacts img[src^='data:image/svg+xml']")
    assert svgs.count() == 2
    page.wait_for_function(
        "() => [...document.querySelectorAll('#artifacts img')].every(i => i.complete)"
    )
    assert not ran_script(watched)


NAME = "evil\u202egnp.exe"


@pytest.mark.parametrize("path", ["", "projects/secure/", "runs/{run_id}/"])
def test_names_with_bidi_controls_are_isolated(hostile_site, watched: WatchedPage, path) -> None:
    url, run_id = hostile_site
    page = watched.page
    page.goto(url + path.format(run_id=run_id))
    page.wait_for_function("() => !document.querySelector('.xs-runs-table-loading')")
    styles = page.evaluate(
        """name => {
          const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
          const found = [];
          while (walker.nextNode()) {
            const node = walker.currentNode;
            if (node.textContent.includes(name) || node.textContent.includes('\\u2066tag'))
              found.push(getComputedStyle(node.parentElement).unicodeBidi);
          }
          return found;
        }""",
        NAME,
    )
    assert styles and all(style == "isolate" for style in styles), styles
    assert watched.problems == []
