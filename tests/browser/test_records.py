"""Rich records in Chromium, under a URL prefix: the datasets page, a run's Datasets, Tables,
Charts and Images sections, and a comparison's logged charts and images."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
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


@pytest.fixture(scope="module")
def evaluated_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """Three runs: two that logged a ROC curve, a confusion matrix and sample images (one
    at two steps), and one that logged none of them."""
    from xsite import plots

    tmp = tmp_path_factory.mktemp("evaluated")
    generator = np.random.default_rng(1)
    truth = generator.integers(0, 2, 300)
    ids = []
    for name, signal in (("weak", 0.1), ("strong", 0.6)):
        scores = truth * signal + generator.random(300) * (1 - signal)
        with xsite.init(project="p", name=name, capture=False, dir=tmp / "store") as run:
            run.log_chart("roc", plots.roc_curve(truth, scores).chart)
            run.log_chart("confusion #1", plots.confusion_matrix(truth, scores > 0.5).chart)
            for step in range(2 if name == "strong" else 1):
                run.log_image("samples", np.full((3, 5), 60 + step * 100, np.uint8), step=step)
        ids.append(run.id)
    with xsite.init(project="p", name="plain", capture=False, dir=tmp / "store") as run:
        run.log({"loss": 1.0})
    ids.append(run.id)
    yield from built_and_served(tmp, ",".join(ids))


def rgb(hex_colour: str) -> str:
    red, green, blue = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({red}, {green}, {blue})"


def test_a_comparison_overlays_curves_and_sets_matrices_and_images_side_by_side(
    evaluated_site: tuple[str, str], watched: WatchedPage
) -> None:
    url, ids = evaluated_site
    page = watched.page
    page.goto(f"{url}compare/#runs={ids}")
    section = page.locator("#compare-records")
    page.wait_for_selector("#compare-records .xs-compare-overlay svg", timeout=15_000)
    roc = section.locator("[data-record=roc]")
    # One chart, a line per run, each in the run's colour, with the runs in its legend.
    overlay = roc.locator(".xs-compare-overlay")
    assert overlay.count() == 1
    lines = overlay.locator(".mark-line path")
    assert lines.count() == 2
    colours = [lines.nth(i).get_attribute("stroke") for i in range(2)]
    swatches = [
        page.locator(f"#compare-runs tr[data-run-id='{run_id}'] .xs-swatch").evaluate(
            "(s) => getComputedStyle(s).backgroundColor"
        )
        for run_id in ids.split(",")[:2]
    ]
    assert [rgb(colour) for colour in colours] == swatches
    assert "weak" in overlay.inner_text() and "strong" in overlay.inner_text()
    assert "Not logged by" in roc.inner_text() and "plain" in roc.inner_text()
    # Confusion matrices: a heatmap per run, side by side (from files whose names hold a
    # space and a "#", which the addresses must encode).
    confusion = section.locator("[data-record='confusion #1'] figure")
    assert confusion.count() == 2
    page.wait_for_function(
        "() => document.querySelectorAll(\"[data-record='confusion #1'] figure svg\").length === 2"
    )
    assert confusion.nth(0).locator("figcaption").inner_text() == "weak"
    # Images: each run's last step, and a note where a run logged none.
    samples = section.locator("[data-record=samples] figure")
    assert samples.count() == 3
    assert samples.nth(1).inner_text().strip() == "strong · step 1"
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-record=samples] img')]"
        ".every(i => i.complete && i.naturalWidth === 5)"
    )
    assert samples.nth(2).locator("img").count() == 0
    assert page.locator("nav.xs-compare-toc a", has_text="Logged charts").count() == 1
    assert watched.problems == []


@pytest.fixture(scope="module")
def registry_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    from tests.test_models import registry_store

    tmp = tmp_path_factory.mktemp("registry")
    ids = registry_store(tmp)
    yield from built_and_served(tmp, ids["first"])


def test_a_model_page_diffs_two_versions_and_links_their_lineage(
    registry_site: tuple[str, str], watched: WatchedPage
) -> None:
    url, first = registry_site
    page = watched.page
    page.goto(f"{url}models/")
    page.locator(".xs-models").first.get_by_role("link", name="m", exact=True).click()
    page.wait_for_url(f"{url}models/p/m/")
    diff = page.locator(".xs-model-diff")
    # At first, the latest version against the one before: only the files changed.
    assert diff.locator("select").nth(0).input_value() == "2"
    assert diff.locator("select").nth(1).input_value() == "3"
    assert diff.locator("table thead th").first.inner_text() == "Files (SHA-256)"
    # v1 against v3: another run, so other data, params, metrics and metadata; the address
    # keeps the pair.
    diff.get_by_label("From").select_option("1")
    page.wait_for_function("() => window.location.hash === '#diff=1..3'")
    heads = diff.locator("table thead tr").all_inner_texts()
    assert [head.split("\t")[0] for head in heads] == [
        "Data (fingerprints)", "Params", "Metrics when logged", "Metadata", "Files (SHA-256)"
    ]  # fmt: skip
    acc = diff.locator("table").nth(2).locator("tbody tr").first
    assert acc.inner_text().split("\t") == ["acc", "0.5", "0.8", "+0.3"]
    # A shared link opens the same pair.
    page.goto(f"{url}models/p/m/#diff=3..3")
    page.reload()
    assert diff.inner_text().endswith("The same version twice: pick two.")
    # From a version's lineage to its run, and back to the model from the run page.
    page.locator("#v1 dd a").first.click()
    page.wait_for_url(f"{url}runs/{first}/")
    page.locator("#models a").click()
    page.wait_for_url(f"{url}models/p/m/#v1")
    assert page.locator("#v1").is_visible()
    assert watched.problems == []
