"""Docs built by ``mkdocs build`` with the xsite plugin, in Chromium under a path prefix:
blocks render in the MkDocs default theme and in Material (following its palette toggle),
with no console errors, and their links open the experiments site."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser.conftest import WatchedPage, serve
from tests.mkdocs.test_plugin import MATERIAL, configure, make_project, make_runs, mkdocs

TIMEOUT_MS = 15_000
AXIS_FILL = """() => document
  .querySelector('.xsite-embed figure.xs-chart svg g.role-axis-title text')?.getAttribute('fill')"""


@pytest.fixture(scope="module")
def docs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, tuple[str, dict]]]:
    """The same docs project built with each theme, served under /lab-site/: by theme,
    the URL and the run ids."""
    built = {}
    servers = []
    # MkDocs' own theme fetches highlight.js from a CDN unless told not to: offline, it can't.
    for name, theme in [
        ("mkdocs", {"name": "mkdocs", "highlightjs": False}),
        ("material", MATERIAL),
    ]:
        tmp = tmp_path_factory.mktemp(f"docs-{name}")
        ids = make_runs(tmp / "store")
        project = make_project(tmp)
        configure(project, theme=theme, site_url="https://me.github.io/lab-site/")
        result = mkdocs(project, "build", "--strict")
        assert result.returncode == 0, result.stderr
        server = serve(project / "site")
        servers.append(server)
        built[name] = (next(server), ids)
    yield built
    for server in servers:
        server.close()


@pytest.mark.parametrize("theme", ["mkdocs", "material"])
def test_blocks_render_and_link_into_the_experiments_site(
    docs, theme: str, watched: WatchedPage
) -> None:
    url, ids = docs[theme]
    page = watched.page
    page.goto(f"{url}guide/results/")
    rows = page.locator(".xsite-embed .xs-block-table tbody tr")
    assert rows.count() == 2
    chart = page.locator(".xsite-embed figure.xs-chart[data-rendered=true]")
    chart.wait_for(timeout=TIMEOUT_MS)
    assert chart.locator("svg path").count() > 0
    page.locator(".xsite-embed .xs-block-compare").get_by_role("link", name="cnn-b").click()
    page.wait_for_url(f"{url}experiments/runs/{ids['cnn-b']}/")
    page.locator("figure.xs-chart[data-rendered=true]").first.wait_for(timeout=TIMEOUT_MS)
    page.goto(f"{url}guide/results/")
    page.get_by_role("link", name="Open the full comparison").click()
    page.wait_for_url(f"{url}experiments/compare/#runs=*")
    page.locator("figure.xs-chart[data-rendered=true]").first.wait_for(timeout=TIMEOUT_MS)
    assert watched.problems == []


def test_charts_follow_materials_palette_toggle(docs, watched: WatchedPage) -> None:
    url, _ = docs["material"]
    page = watched.page
    page.goto(f"{url}guide/results/")
    page.locator(".xsite-embed figure.xs-chart[data-rendered=true]").wait_for(timeout=TIMEOUT_MS)
    light = page.evaluate(AXIS_FILL)
    page.locator("label[title='Dark mode']:visible").click()
    page.wait_for_function(
        f"() => {{ const fill = ({AXIS_FILL})(); return fill && fill !== {light!r}; }}",
        timeout=TIMEOUT_MS,
    )
    assert page.evaluate("() => document.body.dataset.mdColorScheme") == "slate"
    assert watched.problems == []
