"""Datasets on the site: the ``datasets/`` page, run pages' Datasets section, incremental
rebuilds and redaction, built from a real store."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from bs4 import BeautifulSoup

import xsite

FRAME = pd.DataFrame({"x": np.arange(100.0), "label": [i % 3 for i in range(100)]})


@pytest.fixture
def store(tmp_path: Path) -> Path:
    store = tmp_path / "store"
    with xsite.init(project="p", name="leaky", capture=False, dir=store) as run:
        run.log_dataset(FRAME.iloc[:80], name="digits", split="train")
        with pytest.warns(xsite.LeakageWarning):
            run.log_dataset(FRAME.iloc[70:], name="digits", split="test")
    with xsite.init(project="p", name="renamed", capture=False, dir=store) as run:
        run.log_dataset(FRAME.iloc[:80], name="digits-v1", split="train")
        (tmp_path / "home" / "me").mkdir(parents=True)
        (tmp_path / "home" / "me" / "notes.txt").write_text("raw data")
        run.log_dataset(tmp_path / "home" / "me" / "notes.txt", name="notes")
    with xsite.init(project="p", name="no-data", capture=False, dir=store) as run:
        run.log({"loss": 1.0})
    return store


def page(site: Path, path: str) -> BeautifulSoup:
    return BeautifulSoup((site / path).read_text(), "html.parser")


def run_page(site: Path, store: Path, name: str) -> BeautifulSoup:
    run_id = xsite.load_runs(store).set_index("name").loc[name, "run_id"]
    return page(site, f"runs/{run_id}/index.html")


def test_the_datasets_page_calls_out_leakage_and_the_same_bytes_under_two_names(
    store: Path, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    report = xsite.build(xsite.SiteConfig(store=str(store), out=str(site)))
    assert report.broken_links == [] and report.warnings == []
    datasets = page(site, "datasets/index.html")
    [leak] = datasets.select(".xs-leaks tbody tr")
    assert [cell.get_text(" ", strip=True) for cell in leak.find_all(["th", "td"])] == [
        "leaky", "digits/test", "digits/train", "10 of 30"
    ]  # fmt: skip
    articles = {a["id"]: a.get_text(" ", strip=True) for a in datasets.select("article.xs-dataset")}
    assert len(articles) == 3  # train data (twice, one fingerprint), test data, the notes file
    shared = next(text for text in articles.values() if "2 names" in text)
    assert "digits-v1/train" in shared and "digits/train" in shared and "Used by 2 runs" in shared
    assert "min 0 · max 79 · mean 39.5" in shared  # the profile
    nav = [a.get_text() for a in datasets.select("nav.xs-nav-links a")]
    assert "Datasets" in nav

    leaky = run_page(site, store, "leaky")
    rows = [row.get_text(" ", strip=True) for row in leaky.select("#datasets tbody tr")]
    assert rows[0].startswith("digits/train table 80") and rows[0].endswith("renamed")
    assert "10 rows of digits/train" in rows[1] and "no other run" in rows[1]
    link = leaky.select_one("#datasets tbody tr a")["href"]
    target, anchor = link.split("#")
    assert (site / "runs" / "a-run" / target).resolve() == (site / "datasets").resolve()
    assert anchor in articles
    assert run_page(site, store, "no-data").select_one("#datasets") is None


def test_a_run_page_is_rendered_again_when_another_run_uses_its_data(
    store: Path, tmp_path: Path
) -> None:
    config = xsite.SiteConfig(store=str(store), out=str(tmp_path / "site"))
    xsite.build(config)
    with xsite.init(project="p", name="later", capture=False, dir=store) as run:
        run.log_dataset(FRAME.iloc[70:], name="digits", split="test")
    again = xsite.build(config)
    leaky = run_page(tmp_path / "site", store, "leaky")
    assert "later" in leaky.select("#datasets tbody tr")[1].get_text()
    # leaky's page shows who else used its test data; the pages of runs whose data nobody
    # else used are left as they were.
    ids = xsite.load_runs(store).set_index("name")["run_id"]
    changed = set(again.changed)
    assert f"runs/{ids['leaky']}/index.html" in changed and "datasets/index.html" in changed
    assert f"runs/{ids['renamed']}/index.html" not in changed
    assert f"runs/{ids['no-data']}/index.html" not in changed


def test_redaction_removes_dataset_paths(store: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    xsite.build(xsite.SiteConfig(store=str(store), out=str(site), redact=True))
    for path in site.rglob("*"):
        if path.is_file() and path.suffix in (".html", ".json"):
            assert str(tmp_path / "home") not in path.read_text(errors="replace"), path


def logged_run(store: Path, tmp_path: Path) -> str:
    from PIL import Image

    from xsite import plots

    generator = np.random.default_rng(0)
    truth = generator.integers(0, 2, 200)
    scores = truth * 0.3 + generator.random(200) * 0.7
    photo = tmp_path / "photo.jpg"
    Image.fromarray((generator.random((6, 6, 3)) * 255).astype(np.uint8)).save(photo)
    with xsite.init(project="p", name="evaluated", capture=False, dir=store) as run:
        assert run.log_table("confusion", plots.confusion_matrix(truth, scores > 0.5).table) == (
            "tables/confusion.parquet"
        )
        run.log_chart("roc", plots.roc_curve(truth, scores).chart)
        for step in range(3):
            run.log_image("samples", np.full((4, 4), step * 100, dtype=np.uint8), step=step)
            run.log_table("per-class", {"cls": ["b", "a"], "acc": [0.5 + step / 10, 0.9]}, step)
        run.log_image("photo", photo)
        with pytest.raises(ValueError, match="H×W"):
            run.log_image("bad", np.zeros((2, 2, 2)))
        with pytest.raises(ValueError, match="Vega-Lite spec"):
            run.log_chart("bad", {"data": []})
    return run.id


def test_logged_tables_charts_and_images_on_the_run_page(store: Path, tmp_path: Path) -> None:
    from PIL import Image

    run_id = logged_run(store, tmp_path)
    site = tmp_path / "site"
    report = xsite.build(xsite.SiteConfig(store=str(store), out=str(site)))
    assert report.broken_links == [] and report.skipped == []
    html = page(site, f"runs/{run_id}/index.html")
    tables = html.select("#tables .xs-record")
    assert [t.h3.get_text() for t in tables] == ["confusion", "per-class"]
    confusion = [[c.get_text() for c in r.find_all("td")] for r in tables[0].select("tbody tr")]
    assert len(confusion) == 4 and sum(int(row[2]) for row in confusion) == 200
    steps = [s.get_text(" ", strip=True) for s in tables[1].select("summary")]
    assert [s.split(" · ")[0] for s in steps] == ["step 0", "step 1", "step 2"]
    [chart] = html.select(".xs-logged-chart")
    spec = site / "runs" / run_id / chart["data-spec"]
    assert spec.resolve().is_file() and b'"fpr"' in spec.resolve().read_bytes()
    galleries = {g.figcaption.bdi.get_text(): g for g in html.select(".xs-gallery")}
    images = galleries["samples"].find_all("img")
    assert [image["data-step"] for image in images] == ["0", "1", "2"]
    assert [image.has_attr("hidden") for image in images] == [True, True, False]
    drawn = Image.open((site / "runs" / run_id / images[1]["src"]).resolve())
    assert np.asarray(drawn).tolist() == [[100] * 4] * 4  # the PNG xsite wrote, read back
    assert galleries["photo"].find("img")["src"].endswith("images/photo.jpg")
    assert galleries["photo"].find("input") is None
