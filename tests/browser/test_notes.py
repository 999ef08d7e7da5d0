"""Notes in Chromium, served under a path prefix: hostile Markdown runs nothing, embedded
charts draw with the author's settings, the index filters by tag and status, and search
finds notes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import xsite
from tests.browser.conftest import WatchedPage, serve
from tests.browser.test_artifact_safety import ran_script
from tests.browser.test_search import search
from tests.notes.test_markdown import HOSTILE

TIMEOUT_MS = 15_000
PAYLOAD = "window.pwned = 1; localStorage.setItem('pwned', '1')"
HOSTILE_NOTE = f"""\
---
title: Hostile note
tags: [evil]
status: draft
---
{HOSTILE}

<img src="nothing.png" onerror="{PAYLOAD}">
<a id="js-link" href="javascript:{PAYLOAD}">raw link</a> [md link](javascript:alert(1))
<svg><animate onbegin="{PAYLOAD}" attributeName="x" dur="1s"></animate></svg>
<details open ontoggle="{PAYLOAD}"><summary>toggle</summary></details>
<a href="https://example.com" target="_blank">outside</a>
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    tmp = tmp_path_factory.mktemp("notes")
    ids = {}
    for name, lr, tags in [("cnn-baseline", 0.1, ["cnn"]), ("cnn-aug", 0.05, ["cnn", "aug"])]:
        with xsite.init(
            project="mnist",
            name=name,
            params={"lr": lr},
            tags=tags,
            notes=f'Run notes with a payload: <img src=x onerror="{PAYLOAD}">',
            capture=False,
            dir=tmp / "store",
        ) as run:
            for step in range(20):
                run.log({"val/acc": 0.5 + step * lr / 4}, step=step)
        ids[name] = run.id
    notes = tmp / "notes"
    notes.mkdir()
    (notes / "hostile.md").write_text(HOSTILE_NOTE)
    (notes / "2026-11-20-augmentation.md").write_text(
        "---\ntitle: Augmentation helps\ndate: 2026-11-20\ntags: [aug, decision]\n"
        "status: decided\nruns: [cnn-baseline, cnn-aug]\n---\n"
        "Calibration improved on [[cnn-aug]].\n\n"
        "```xsite-chart\nmetric: val/acc\nruns: tags contains 'cnn'\nsmoothing: 0.9\n```\n\n"
        "```xsite-table\ncolumns: [name, params.lr, metrics.val/acc]\nsort: -metrics.val/acc\n```\n"
    )
    (notes / "2026-11-01-plan.md").write_text(
        "---\ntitle: The plan\ndate: 2026-11-01\ntags: [plan]\nstatus: open\n---\n"
        "First [[cnn-baseline]].\n"
    )
    report = xsite.build(
        xsite.SiteConfig(store=str(tmp / "store"), out=str(tmp / "site"), notes=str(notes))
    )
    # Only the hostile images are missing files.
    assert {link.rsplit(": ", 1)[1] for link in report.broken_links} == {
        "x",
        "x.png",
        "nothing.png",
    }
    yield from ((url, ids) for url in serve(tmp / "site"))


def test_hostile_markdown_runs_nothing_in_note_and_run_pages(site, watched: WatchedPage) -> None:
    url, ids = site
    page = watched.page
    page.goto(f"{url}notes/hostile/")
    page.wait_for_load_state("load")
    page.wait_for_timeout(1200)  # an animation's onbegin, a failed image's onerror
    assert page.locator(".xs-markdown").inner_text().count("shadow") == 1
    assert not ran_script(watched)
    page.get_by_text("raw link").click()
    page.get_by_text("toggle").click()
    page.wait_for_timeout(300)
    assert page.url.startswith(f"{url}notes/hostile/")
    assert not ran_script(watched)
    external = page.get_by_role("link", name="outside")
    assert external.get_attribute("rel") == "noopener noreferrer"
    for run_id in ids.values():
        page.goto(f"{url}runs/{run_id}/")
        page.wait_for_timeout(300)
        assert not ran_script(watched)


def test_a_note_draws_its_chart_with_its_settings_and_links_its_runs(site, watched) -> None:
    url, ids = site
    page = watched.page
    page.goto(f"{url}notes/2026-11-20-augmentation/")
    figure = page.locator("figure.xs-chart[data-key='val/acc'][data-rendered=true]")
    figure.wait_for(timeout=TIMEOUT_MS)
    assert figure.get_attribute("data-smoothing") == "0.9"
    assert figure.locator("svg path, canvas").count() > 0
    rows = page.locator(".xs-block-table tbody tr")
    assert rows.count() == 2 and rows.first.locator("a").inner_text() == "cnn-baseline"
    page.get_by_role("link", name="cnn-aug", exact=True).first.click()
    page.wait_for_url(f"{url}runs/{ids['cnn-aug']}/")
    page.locator("dt:text-is('Discussed in') + dd a").click()
    page.wait_for_url(f"{url}notes/2026-11-20-augmentation/")
    page.get_by_role("link", name="Compare these runs").click()
    page.wait_for_url(f"{url}compare/2026-11-20-augmentation/")
    page.locator("figure.xs-chart[data-rendered]").first.wait_for(timeout=TIMEOUT_MS)
    assert problems(watched) == []


def problems(watched: WatchedPage) -> list[str]:
    """What went wrong in the page, but for the missing images of the hostile run notes."""
    return [p for p in watched.problems if "/x" not in p and "File not found" not in p]


def shown_notes(page) -> list[str]:
    return page.locator(".xs-note-item:not([hidden]) .xs-note-title").all_inner_texts()


def test_the_notes_index_filters_by_tag_and_status_in_the_url(site, watched) -> None:
    url, _ = site
    page = watched.page
    page.goto(f"{url}notes/")
    assert shown_notes(page) == ["Augmentation helps", "The plan", "Hostile note"]
    page.get_by_role("button", name="decided").click()
    assert shown_notes(page) == ["Augmentation helps"]
    assert page.evaluate("() => location.hash") == "#status=decided"
    page.get_by_role("button", name="decided").click()
    page.get_by_role("button", name="plan").click()
    assert shown_notes(page) == ["The plan"]
    page.goto(f"{url}notes/#status=draft&status=open")
    page.reload()
    assert shown_notes(page) == ["The plan", "Hostile note"]
    assert page.locator(".xs-note-count").inner_text() == "2 of 3 notes"
    page.goto(f"{url}timeline/")
    assert page.locator(".xs-timeline-day h2").first.inner_text() != ""
    assert watched.problems == []


def test_search_finds_notes(site, watched) -> None:
    url, _ = site
    page = watched.page
    page.goto(f"{url}notes/")
    found = search(page, "calibration")
    assert found["Notes"] == ["Augmentation helps"]
    assert watched.problems == []
