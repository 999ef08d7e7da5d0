"""What a person sees: the built site in Chromium, served under /<prefix>/."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page

import xsite
from tests.browser.conftest import WatchedPage, serve
from tests.test_build import make_store

TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    tmp = tmp_path_factory.mktemp("browser")
    store = tmp / "store"
    ids = make_store(store, tmp)
    ids["dirty"] = _dirty_git_run(tmp / "repo", store)
    config = xsite.SiteConfig(
        store=str(store),
        out=str(tmp / "site"),
        projects={"vision": xsite.ProjectSettings(headline="val/acc")},
    )
    report = xsite.build(config)
    assert report.broken_links == []
    yield from ((url, ids) for url in serve(tmp / "site"))


def _dirty_git_run(repo: Path, store: Path) -> str:
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@e", "-c", "commit.gpgsign=false"]
    env = dict(os.environ, GIT_CONFIG_GLOBAL=os.devnull)
    repo.mkdir()
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=repo, check=True, env=env)
    (repo / "train.py").write_text("lr = 0.1\n")
    subprocess.run([*git, "add", "."], cwd=repo, check=True, env=env)
    subprocess.run([*git, "commit", "-qm", "init"], cwd=repo, check=True, env=env)
    (repo / "train.py").write_text("lr = 0.5  # tuned\n")
    cwd = Path.cwd()
    os.chdir(repo)
    try:
        with xsite.init(project="vision", name="dirty-run", dir=store) as run:
            run.log({"val/acc": 0.7})
    finally:
        os.chdir(cwd)
    return run.id


def test_every_page_linked_from_home_loads_cleanly(site, watched: WatchedPage) -> None:
    url, _ = site
    page = watched.page
    page.goto(url)
    links = page.eval_on_selector_all(
        "main a[href]", "links => [...new Set(links.map(a => a.href))]"
    )
    assert len(links) >= 6
    for link in links:
        response = page.goto(link)
        assert response is not None and response.ok, link
        if "/projects/" in link:
            page.wait_for_selector(".xs-runs-table[data-ready=true]", timeout=TIMEOUT_MS)
        if "/runs/" in link:
            page.wait_for_selector("figure[data-rendered=true]", timeout=TIMEOUT_MS)
    assert watched.problems == []


def test_runs_table_sorts_and_filters(site, watched: WatchedPage) -> None:
    url, ids = site
    page = watched.page
    page.goto(f"{url}projects/vision/")
    page.wait_for_selector(".xs-runs-table[data-ready=true]", timeout=TIMEOUT_MS)
    assert page.locator("tr.xs-run-row").count() == 4

    header = page.locator("th", has=page.locator("button", has_text="val/acc")).first
    header.locator("button").click()
    assert header.get_attribute("aria-sort") == "ascending"
    ascending = page.eval_on_selector_all("tr.xs-run-row", "rows => rows.map(r => r.dataset.runId)")
    header.locator("button").click()
    assert header.get_attribute("aria-sort") == "descending"
    descending = page.eval_on_selector_all(
        "tr.xs-run-row", "rows => rows.map(r => r.dataset.runId)"
    )
    assert descending[0] == ids["lr0.1"]  # val/acc 4.9 is the highest
    assert ascending.index(ids["lr0.01"]) < ascending.index(ids["lr0.1"])
    assert descending[-1] == ids["evil"]  # NaN sorts last in both directions
    assert ascending[-1] == ids["evil"]

    page.get_by_label("Filter runs").fill("resnet")
    page.wait_for_function("document.querySelectorAll('tr.xs-run-row').length === 2")
    assert "2 of 4 runs" in page.locator(".xs-runs-count").inner_text()
    page.get_by_label("Filter runs").fill('"<img"')
    page.wait_for_function("document.querySelectorAll('tr.xs-run-row').length === 1")
    assert page.locator("tr.xs-run-row a").inner_text() == "<img src=x onerror=alert(1)>"
    assert watched.problems == []


def test_runs_table_filters_with_the_query_language_and_shares_it(
    site, watched: WatchedPage
) -> None:
    url, ids = site
    page = watched.page
    page.goto(f"{url}projects/vision/")
    page.wait_for_selector(".xs-runs-table[data-ready=true]", timeout=TIMEOUT_MS)
    box = page.get_by_label("Filter runs")
    box.fill('metrics.val/acc > 1 and params.optimizer.name = "sgd" and tags contains "SWEEP"')
    page.wait_for_function("document.querySelectorAll('tr.xs-run-row').length === 1")
    assert page.locator("tr.xs-run-row").get_attribute("data-run-id") == ids["lr0.1"]
    assert "#q=" in page.url

    # The URL opens the same view for anyone.
    shared = page.url
    page.goto("about:blank")
    page.goto(shared)
    page.wait_for_selector(".xs-runs-table[data-ready=true]", timeout=TIMEOUT_MS)
    assert page.locator("tr.xs-run-row").count() == 1
    assert box.input_value().startswith("metrics.val/acc > 1")

    # A syntax error is shown with its position; the table keeps the last good rows.
    box.fill("metrics.val/acc >")
    error = page.locator(".xs-runs-filter-error")
    error.wait_for(state="visible")
    assert "position 17" in error.inner_text()
    assert error.locator("pre").inner_text().endswith("^")
    assert page.locator("tr.xs-run-row").count() == 1
    assert box.get_attribute("aria-invalid") == "true"
    box.fill("")
    page.wait_for_function("document.querySelectorAll('tr.xs-run-row').length === 4")
    assert not error.is_visible()
    assert watched.problems == []


def test_ticked_runs_open_a_shareable_comparison(site, watched: WatchedPage) -> None:
    url, ids = site
    page = watched.page
    page.goto(f"{url}projects/vision/")
    page.wait_for_selector(".xs-runs-table[data-ready=true]", timeout=TIMEOUT_MS)
    compare = page.locator("a.xs-compare-link")
    assert compare.get_attribute("aria-disabled") == "true"
    for key in ("lr0.1", "lr0.01"):
        page.locator(f"tr[data-run-id='{ids[key]}'] input.xs-run-select").check()
    assert compare.inner_text() == "Compare 2 runs"
    compare.click()
    page.wait_for_url("**/compare/#runs=*")
    assert set(page.url.split("#runs=")[1].split(",")) == {ids["lr0.1"], ids["lr0.01"]}
    assert watched.problems == []


def drawn_chart(page: Page, run_url: str, key: str) -> Locator:
    """The chart of metric ``key`` on the run page at ``run_url``, once drawn."""
    page.goto(run_url)
    figure = page.locator(f"figure.xs-chart[data-key='{key}']")
    figure.and_(page.locator("[data-rendered=true]")).wait_for(timeout=TIMEOUT_MS)
    return figure


def test_charts_draw_and_the_smoothing_slider_changes_the_line(site, watched: WatchedPage) -> None:
    url, ids = site
    page = watched.page
    figure = drawn_chart(page, f"{url}runs/{ids['lr0.1']}/", "train/loss")
    lines = figure.locator("svg g.mark-line path")
    assert lines.count() >= 2  # raw and smoothed
    before = lines.last.get_attribute("d")
    slider = page.get_by_label("Smoothing")
    slider.evaluate(
        "el => { el.value = '0.95'; el.dispatchEvent(new Event('input', {bubbles: true})); }"
    )
    page.wait_for_selector(
        "figure.xs-chart[data-key='train/loss'][data-smoothing='0.95'][data-rendered=true]",
        timeout=TIMEOUT_MS,
    )
    page.wait_for_function(
        "before => { const p = document.querySelectorAll("
        "\"figure[data-key='train/loss'] svg g.mark-line path\"); "
        "return p.length && p[p.length - 1].getAttribute('d') !== before; }",
        arg=before,
        timeout=TIMEOUT_MS,
    )
    assert watched.problems == []


def test_run_page_shows_artifacts_and_the_uncommitted_diff(site, watched: WatchedPage) -> None:
    url, ids = site
    page = watched.page
    page.goto(f"{url}runs/{ids['lr0.1']}/")
    image = page.locator("#artifacts img")
    image.wait_for()
    page.wait_for_function("() => document.querySelector('#artifacts img').complete")
    assert image.evaluate("img => img.naturalWidth") == 1
    link = page.locator("#artifacts a", has_text="train.log")
    response = page.request.get(link.evaluate("a => a.href"))
    assert response.ok and b"epoch 1" in response.body()

    page.goto(f"{url}runs/{ids['dirty']}/")
    diff = page.locator("details.xs-diff")
    diff.locator("summary").click()
    assert "+lr = 0.5  # tuned" in diff.locator("pre").inner_text()
    assert "git checkout" in page.locator("#code pre.xs-code").first.inner_text()
    assert watched.problems == []


def test_a_metric_logged_once_shows_as_a_dot(site, watched: WatchedPage) -> None:
    url, ids = site
    page = watched.page
    # One val/acc point: a line could not show it.
    figure = drawn_chart(page, f"{url}runs/{ids['bert']}/", "val/acc")
    assert figure.locator("svg g.mark-symbol path").count() == 1
    assert watched.problems == []


CONTRAST = """() => {
  // WCAG contrast of text against the page background, from the computed colours.
  const rgb = (css) => css.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const luminance = (css) => {
    const [r, g, b] = rgb(css).map((c) => {
      c /= 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const ratio = (a, b) => {
    const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  };
  const background = getComputedStyle(document.body).backgroundColor;
  const result = { background: luminance(background) };
  for (const selector of ["body", "a", ".xs-muted", "th"]) {
    const element = document.querySelector(selector);
    if (element) result[selector] = ratio(getComputedStyle(element).color, background);
  }
  return result;
}"""

UNNAMED_CONTROLS = """() => [
  ...document.querySelectorAll("input, select, button, textarea, summary")]
  .filter((el) => el.offsetParent !== null)
  .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute("aria-label")
    && !el.getAttribute("aria-labelledby") && !el.textContent.trim() && !el.title)
  .map((el) => el.outerHTML.slice(0, 120))"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_text_stays_readable_in_both_colour_schemes(site, chromium, scheme: str) -> None:
    url, ids = site
    context = chromium.new_context(color_scheme=scheme)
    page = context.new_page()
    for path in ("", "projects/vision/", f"runs/{ids['lr0.1']}/"):
        page.goto(url + path)
        contrast = page.evaluate(CONTRAST)
        assert (contrast.pop("background") < 0.2) == (scheme == "dark"), path
        assert all(ratio >= 4.5 for ratio in contrast.values()), (path, contrast)
    context.close()


def test_pages_fit_a_phone_screen_and_every_control_has_a_name(site, chromium) -> None:
    url, ids = site
    context = chromium.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    page = WatchedPage(context.new_page())
    for path, ready in (
        ("", "main"),
        ("projects/vision/", ".xs-runs-table[data-ready=true]"),
        (f"runs/{ids['lr0.1']}/", "figure[data-rendered=true]"),
    ):
        page.page.goto(url + path)
        page.page.locator(ready.split("[")[0]).first.scroll_into_view_if_needed()
        page.page.wait_for_selector(ready, timeout=TIMEOUT_MS)  # charts draw once in view
        overflow = page.page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{path or 'home'} is {overflow}px wider than the phone"
        assert page.page.evaluate(UNNAMED_CONTROLS) == [], path
    assert page.problems == []
    context.close()


def test_the_runs_table_sorts_from_the_keyboard(site, watched: WatchedPage) -> None:
    url, _ = site
    page = watched.page
    page.goto(f"{url}projects/vision/")
    page.wait_for_selector(".xs-runs-table[data-ready=true]", timeout=TIMEOUT_MS)
    header = page.locator("th", has=page.locator("button", has_text="val/acc")).first
    target = header.locator("button")
    for _ in range(60):  # Tab through the page until the sort button has focus
        page.keyboard.press("Tab")
        if target.evaluate("button => document.activeElement === button"):
            break
    else:
        pytest.fail("the val/acc sort button is not reachable with Tab")
    page.keyboard.press("Enter")
    assert header.get_attribute("aria-sort") == "ascending"
    outline = target.evaluate("b => getComputedStyle(b).outlineStyle")
    assert outline != "none", "the focused button shows no focus ring"
    assert watched.problems == []


def test_chart_axes_switch_to_log_scale_and_wall_time(site, watched: WatchedPage) -> None:
    url, ids = site
    page = watched.page
    figure = drawn_chart(page, f"{url}runs/{ids['lr0.1']}/", "train/loss")

    def axis(name: str) -> str:
        # Vega describes each axis for screen readers: "Y-axis titled … for a log scale …"
        return figure.locator(f"svg g[aria-label^='{name}-axis']").first.get_attribute("aria-label")

    assert "linear scale" in axis("Y") and "titled 'step'" in axis("X")
    page.get_by_label("Log scale (y)").check()
    page.wait_for_function(
        "() => document.querySelector(\"figure[data-key='train/loss'] svg "
        "g[aria-label^='Y-axis']\")?.getAttribute('aria-label').includes('log scale')",
        timeout=TIMEOUT_MS,
    )
    page.get_by_label("X axis").select_option("wall")
    page.wait_for_function(
        "() => document.querySelector(\"figure[data-key='train/loss'] svg "
        "g[aria-label^='X-axis']\")?.getAttribute('aria-label').includes('time scale')",
        timeout=TIMEOUT_MS,
    )
    assert "titled 'wall time'" in axis("X")
    assert watched.problems == []
