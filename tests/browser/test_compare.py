"""Comparison pages in Chromium: a real store, a real build, served under /<prefix>/.

One site for the module: two resnet runs that differ in lr (and in packages, Python and
commit), a run whose name and params are HTML, and a run of another project.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page

import xsite
import xsite.store.writer
from tests.browser.conftest import WatchedPage, serve
from xsite.config import ComparisonSettings, ProjectSettings
from xsite.store.capture import Capture

TIMEOUT_MS = 15_000
EVIL = "<img src=x onerror=window.pwned=1>"
READY = ".xs-compare[data-ready=true]"


def _system(commit: str, python: str, packages: list[str]) -> dict[str, object]:
    return {
        "git": {"commit": commit, "branch": "main", "dirty": False, "remote": None},
        "python": python,
        "os": "Linux-6.1-x86_64",
        "packages": packages,
    }


SYSTEMS = {
    "a": _system("a" * 40, "3.11.7", ["numpy==1.26.0", "torch==2.1.0", "tqdm==4.66.0"]),
    "b": _system("b" * 40, "3.12.1", ["numpy==2.0.0", "pandas==2.2.0", "tqdm==4.66.0"]),
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    tmp = tmp_path_factory.mktemp("compare")
    store = tmp / "store"
    ids: dict[str, str] = {}
    for label, lr in (("a", 0.1), ("b", 0.01)):
        system = SYSTEMS[label]
        with pytest.MonkeyPatch.context() as patch:
            # A known environment for each run, so that the diff has something to show.
            patch.setattr(
                xsite.store.writer, "capture_environment", lambda s=system: Capture(s, None)
            )
            run = xsite.init(
                project="vision",
                name=f"resnet-{label}",
                params={"lr": lr, "batch": 32, "optimizer": {"name": "sgd"}},
                dir=store,
            )
        with run:
            for step in range(20):
                run.log({"loss": 1 / (step + 1) + lr, "acc": lr * step}, step=step)
        ids[label] = run.id
    with xsite.init(
        project="vision", name=EVIL, params={"lr": 0.5, "note": EVIL}, capture=False, dir=store
    ) as run:
        run.log({"loss": 0.9, "acc": 0.2})
    ids["evil"] = run.id
    with xsite.init(
        project="nlp", name="bert", params={"lr": 3e-5}, capture=False, dir=store
    ) as run:
        run.log({"acc": 0.5})
    ids["bert"] = run.id

    site_dir = tmp / "site"
    config = xsite.SiteConfig(
        store=str(store),
        out=str(site_dir),
        comparisons=(ComparisonSettings(title="LR sweep", runs=("params.lr > 0.001",)),),
        projects={"vision": ProjectSettings(headline="acc", directions={"loss": "min"})},
    )
    report = xsite.build(config)
    assert report.broken_links == []
    # run.json has no datasets yet (a later feature adds them): give two runs some.
    for label, test_print in (("a", "t1"), ("b", "t2")):
        path = site_dir / "runs" / ids[label] / "run.json"
        doc = json.loads(path.read_text())
        doc["datasets"] = [
            {"name": "mnist", "split": "train", "fingerprint": "f" * 64},
            {"name": "mnist", "split": "test", "fingerprint": test_print * 32},
        ]
        path.write_text(json.dumps(doc))
    yield from ((url, ids) for url in serve(site_dir))


def open_compare(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector(READY, timeout=TIMEOUT_MS)


def view_text(page: Page) -> str:
    """What the comparison shows, as text (the charts aside)."""
    sections = "#compare-runs, #compare-diff, #compare-metrics, #compare-params, #compare-code"
    # textContent: sections far from the screen are not laid out (content-visibility).
    return "\n".join(page.locator(sections).all_text_contents())


def section_text(page: Page, section: str) -> str:
    """A section's text as shown (tab-separated cells), once it is laid out: the browser
    skips sections far from the screen (content-visibility) until they come near it."""
    page.locator(f"#{section}").scroll_into_view_if_needed()
    page.wait_for_function(
        "id => document.getElementById(id).innerText.includes('\\t')", arg=section
    )
    return page.locator(f"#{section}").inner_text()


def first_chart(page: Page) -> None:
    figure = page.locator("figure.xs-chart").first
    figure.scroll_into_view_if_needed()
    page.locator("figure.xs-chart[data-rendered]").first.wait_for(timeout=TIMEOUT_MS)


def row_cells(page: Page, table: str, key: str) -> list[str]:
    return page.locator(f"table.{table} tr[data-key='{key}'] td").evaluate_all(
        "cells => cells.map(c => c.textContent.replace(' (best)', '').replace('★ ', '').trim())"
    )


def test_two_runs_side_by_side(site, watched: WatchedPage) -> None:
    url, ids = site
    page = watched.page
    open_compare(page, f"{url}compare/#runs={ids['a']},{ids['b']}")
    shown = view_text(page)

    names = page.locator("table.xs-compare-params thead th a").all_inner_texts()
    assert names == ["resnet-a", "resnet-b"]
    # The differing param is highlighted; identical ones are folded behind a toggle.
    assert row_cells(page, "xs-compare-params", "lr") == ["0.1", "0.01"]
    assert page.locator("tr.xs-differs[data-key='lr']").count() == 1
    batch = page.locator("table.xs-compare-params tr[data-key='batch']")
    assert not batch.is_visible()
    toggle = page.locator("#compare-params .xs-compare-toggle")
    assert toggle.inner_text() == "Show 2 identical params"
    toggle.click()
    # Waited for: the section may be laid out only once on screen (content-visibility).
    batch.wait_for(state="visible", timeout=TIMEOUT_MS)
    assert "xs-differs" not in (batch.get_attribute("class") or "")
    assert row_cells(page, "xs-compare-params", "optimizer.name") == ["sgd", "sgd"]
    assert toggle.get_attribute("aria-expanded") == "true"

    # Last values, the best run marked per metric (loss: lower is better; acc: higher).
    assert row_cells(page, "xs-compare-metrics", "loss") == ["0.15", "0.06"]
    assert row_cells(page, "xs-compare-metrics", "acc") == ["1.9", "0.19"]
    best = "table.xs-compare-metrics tr[data-key='{}'] td.xs-best"
    assert page.locator(best.format("loss")).evaluate("td => td.cellIndex") == 2
    assert page.locator(best.format("acc")).evaluate("td => td.cellIndex") == 1
    assert "min 0.06 (step 19) · max 1.01 (step 0)" in (
        page.locator(best.format("loss")).get_attribute("title") or ""
    )
    page.get_by_label("Show").select_option("max")
    assert row_cells(page, "xs-compare-metrics", "loss") == ["1.1", "1.01"]

    # Exactly two runs: what differs between them, and only that.
    text = section_text(page, "compare-diff")
    assert "lr\t0.1\t0.01" in text
    assert "batch" not in text
    assert "numpy\t1.26.0\t2.0.0" in text
    assert "pandas\tnot installed\t2.2.0" in text and "torch\t2.1.0\tnot installed" in text
    assert "tqdm" not in text
    assert "Python\t3.11.7\t3.12.1" in text and "OS" not in text
    assert f"git commit\t{'a' * 10}\t{'b' * 10}" in text

    assert "Different code: 2 commits across 2 runs" in section_text(page, "compare-code")
    data = page.locator("#compare-code").locator("table.xs-compare-data tbody tr")
    assert data.all_inner_texts() == [
        f"mnist (test)\tdiffers\t{'t1' * 6}\t{'t2' * 6}",
        f"mnist (train)\tsame\t{'f' * 12}\t{'f' * 12}",
    ]

    # A reload shows the same comparison: the selection lives in the URL.
    page.reload()
    page.wait_for_selector(READY, timeout=TIMEOUT_MS)
    assert view_text(page) == shown
    assert watched.problems == []


def test_the_url_hash_is_the_selection(site, watched: WatchedPage) -> None:
    url, ids = site
    page = watched.page
    open_compare(page, f"{url}compare/")
    empty = page.locator(".xs-compare-empty").inner_text()
    assert "tick them in a project's runs table" in empty
    assert page.locator(".xs-compare-empty a").get_attribute("href") == "../"

    page.evaluate("hash => { window.location.hash = hash; }", f"runs={ids['a']},{ids['b']}")
    page.wait_for_function(
        "() => document.querySelectorAll('.xs-compare-runs-table tbody tr').length === 2"
    )
    page.wait_for_selector(READY, timeout=TIMEOUT_MS)
    assert page.locator("#compare-diff").count() == 1
    # Links within the page (its contents, "skip to content") keep the selection.
    page.locator(".xs-compare-toc a", has_text="Params").click()
    page.evaluate("() => { window.location.hash = 'main'; }")
    page.wait_for_function("() => window.location.hash === '#main'")
    assert page.locator(".xs-compare-runs-table tbody tr").count() == 2
    page.go_back()
    page.wait_for_function("() => window.location.hash.startsWith('#runs=')")

    # Removing a run rewrites the hash; Back brings it back.
    page.get_by_role("button", name="Remove resnet-b from the comparison").click()
    page.wait_for_function("id => window.location.hash === '#runs=' + id", arg=ids["a"])
    page.wait_for_function(
        "() => document.querySelectorAll('.xs-compare-runs-table tbody tr').length === 1"
    )
    page.wait_for_selector(READY, timeout=TIMEOUT_MS)
    assert page.locator("#compare-diff").count() == 0
    page.go_back()
    page.wait_for_function(
        "() => document.querySelectorAll('.xs-compare-runs-table tbody tr').length === 2"
    )

    # Only run ids are taken from the hash; anything else is reported as text.
    page.evaluate(
        "hash => { window.location.hash = hash; }",
        f"runs={ids['a']},{ids['a']},{EVIL.replace(' ', '%20')}",
    )
    warning = page.locator(".xs-compare-warning")
    warning.wait_for(timeout=TIMEOUT_MS)
    assert EVIL in warning.inner_text()
    assert page.locator(".xs-compare-runs-table tbody tr").count() == 1
    assert page.evaluate("document.querySelectorAll('main img').length") == 0
    assert watched.problems == []


def test_named_and_project_comparisons_draw_their_charts(site, watched: WatchedPage) -> None:
    url, ids = site
    page = watched.page
    for path, runs in (("compare/lr-sweep/", 3), ("projects/vision/compare/", 3)):
        open_compare(page, url + path)
        assert page.locator(".xs-compare-runs-table tbody tr").count() == runs
        figure = page.locator("figure.xs-chart[data-key='loss'][data-rendered]")
        figure.wait_for(timeout=TIMEOUT_MS)
        assert figure.locator("svg g.mark-line path").count() >= 2
        # The lines have the colours of the runs' swatches.
        swatches = page.locator(".xs-compare-runs-table .xs-swatch").evaluate_all(
            "els => els.map(e => getComputedStyle(e).backgroundColor)"
        )
        strokes = figure.locator("svg g.mark-line path").evaluate_all(
            "paths => paths.map(p => { const s = document.createElement('span');"
            " s.style.color = p.getAttribute('stroke'); document.body.append(s);"
            " const c = getComputedStyle(s).color; s.remove(); return c; })"
        )
        assert set(strokes) <= set(swatches) and len(set(swatches)) == runs
        page.locator("#compare-parallel .xs-compare-chart[data-rendered]").wait_for(
            timeout=TIMEOUT_MS
        )
        assert page.locator("#compare-parallel svg g.mark-line path").count() == runs
        scatter = page.locator("#compare-scatter .xs-compare-chart[data-rendered]")
        scatter.wait_for(timeout=TIMEOUT_MS)
        assert scatter.locator("svg g.mark-symbol path").count() == runs
    # The named comparison picked its runs by query; bert's lr (3e-5) is below its threshold.
    assert ids["bert"] not in page.locator(".xs-compare-runs-table").inner_text()

    # The scatter's selects redraw it: lr against loss.
    page.get_by_label("Y", exact=True).select_option("m:loss")
    page.wait_for_function(
        "() => document.querySelector('#compare-scatter svg')?.textContent.includes('loss')"
    )
    page.evaluate("window.__scatter = document.querySelector('#compare-scatter svg')")
    page.get_by_label("log x").check()  # lr on a log scale
    page.wait_for_function(
        "() => document.querySelector('#compare-scatter .xs-compare-chart > :not("
        ".xs-compare-vega-pending) svg') !== window.__scatter"
    )
    assert page.locator("#compare-scatter svg g.mark-symbol path").count() == 3
    assert watched.problems == []


def test_html_in_names_and_params_stays_text(site, watched: WatchedPage) -> None:
    url, ids = site
    page = watched.page
    open_compare(page, f"{url}compare/#runs={ids['evil']},{ids['a']}")
    first_chart(page)
    page.locator("#compare-parallel .xs-compare-chart[data-rendered]").wait_for(timeout=TIMEOUT_MS)
    assert page.locator(".xs-compare-runs-table tbody th a").first.inner_text() == EVIL
    assert row_cells(page, "xs-compare-params", "note") == [EVIL, "—"]
    assert EVIL in (page.locator("#compare-diff").text_content() or "")
    # Tooltips (vega-tooltip writes HTML) escape the name too.
    scatter = page.locator("#compare-scatter .xs-compare-chart[data-rendered]")
    scatter.scroll_into_view_if_needed()
    for point in scatter.locator("svg g.mark-symbol path").all():
        point.hover()
        tooltip = page.locator("#vg-tooltip-element")
        tooltip.wait_for(timeout=TIMEOUT_MS)
        if EVIL in tooltip.inner_text():
            break
    else:
        pytest.fail("no scatter tooltip named the run")
    assert page.evaluate("document.querySelectorAll('img').length") == 0
    assert page.evaluate("window.pwned") is None
    assert watched.problems == []


def test_a_run_that_fails_to_load_is_named(site, watched: WatchedPage) -> None:
    url, ids = site
    page = watched.page
    open_compare(page, f"{url}compare/#runs={ids['a']},no-such-run")
    error = page.locator(".xs-compare-error")
    assert "Could not load 1 run: no-such-run: HTTP 404" in error.inner_text()
    assert row_cells(page, "xs-compare-params", "lr") == ["0.1"]
    first_chart(page)
    # The only problem is the missing run's file itself.
    assert all("no-such-run" in p or "404" in p for p in watched.problems), watched.problems


TEXT_FILLS = """() => [
  '#compare-parallel svg g.mark-text text', 'figure.xs-chart svg g.role-axis-title text'
].map((selector) => document.querySelector(selector)?.getAttribute('fill'))"""


def test_charts_follow_a_change_of_colour_scheme(site, watched: WatchedPage) -> None:
    """The metric charts (mounted through xsite.charts.mount) and the page's own charts."""
    url, _ = site
    page = watched.page
    page.emulate_media(color_scheme="light")
    open_compare(page, f"{url}compare/lr-sweep/")
    first_chart(page)
    page.locator("#compare-parallel .xs-compare-chart[data-rendered]").wait_for(timeout=TIMEOUT_MS)
    light = page.evaluate(TEXT_FILLS)
    assert None not in light
    page.emulate_media(color_scheme="dark")
    page.wait_for_function(
        f"light => ({TEXT_FILLS})().every((fill, i) => fill && fill !== light[i])",
        arg=light,
        timeout=TIMEOUT_MS,
    )
    assert watched.problems == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_comparisons_fit_a_phone_in_both_schemes(site, chromium, scheme: str) -> None:
    url, ids = site
    context = chromium.new_context(
        viewport={"width": 375, "height": 740}, is_mobile=True, color_scheme=scheme
    )
    page = WatchedPage(context.new_page())
    for path in (f"compare/#runs={ids['a']},{ids['b']},{ids['evil']}", "compare/lr-sweep/"):
        open_compare(page.page, url + path)
        scatter = page.page.locator("#compare-scatter .xs-compare-chart[data-rendered]")
        scatter.scroll_into_view_if_needed()
        scatter.wait_for(timeout=TIMEOUT_MS)
        overflow = page.page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{path} is {overflow}px wider than the phone"
        unnamed = page.page.evaluate(
            """() => [...document.querySelectorAll("input, select, button, summary")]
            .filter((el) => el.offsetParent !== null)
            .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute("aria-label")
              && !el.textContent.trim() && !el.title)
            .map((el) => el.outerHTML.slice(0, 120))"""
        )
        assert unnamed == [], path
    assert page.problems == []
    context.close()


def test_pages_load_their_scripts_in_order_and_relative_to_the_site(site, watched) -> None:
    """vega.js, then charts.js, then compare.js, by relative URLs (any path prefix works)."""
    url, _ = site
    for path, prefix in (("compare/", "./../"), ("projects/vision/compare/", "./../../../")):
        html = watched.page.request.get(url + path).text()
        scripts = re.findall(r'<script src="([^"]+)"', html)
        ours = [f"{prefix}assets/{name}.js" for name in ("vega", "charts", "compare")]
        assert [s for s in scripts if s in ours] == ours
