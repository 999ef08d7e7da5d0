"""`xsite build` on real stores: the HTML and data files a site is made of."""

from __future__ import annotations

import json
import math
import shutil
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup
from typer.testing import CliRunner

import xsite
from xsite.cli import app
from xsite.config import SiteConfig, load_config

EVIL = "<img src=x onerror=alert(1)>"
NOTE = """\
**Why:** check that augmentation helps.

| lr | acc |
| --- | --- |
| 0.1 | 0.9 |

See [the paper](https://arxiv.org/abs/1512.03385).
<script>alert("note")</script>
[bad](javascript:alert(1))
"""


def png_bytes() -> bytes:
    """A real 1×1 PNG, made here so the test needs no binary fixture."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    chunks = chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


def make_store(store: Path, tmp_path: Path) -> dict[str, str]:
    ids = {}
    plot = tmp_path / "confusion.png"
    plot.write_bytes(png_bytes())
    log = tmp_path / "train.log"
    log.write_text("epoch 1 loss 0.5\n<b>not bold</b>\n")
    report = tmp_path / "report.html"
    report.write_text("<script>alert('artifact')</script>")
    for lr in (0.1, 0.01):
        with xsite.init(
            project="vision",
            name=f"resnet-lr{lr}",
            params={"lr": lr, "optimizer": {"name": "sgd", "momentum": 0.9}, "layers": [2, 2]},
            tags=["resnet", "sweep"],
            notes=NOTE,
            capture=False,
            dir=store,
        ) as run:
            for step in range(50):
                run.log({"train/loss": 1 / (step + 1), "val/acc": lr * step}, step=step)
            run.log_artifact(plot)
            run.log_artifact(log)
            run.log_artifact(report)
        ids[f"lr{lr}"] = run.id
    with xsite.init(project="vision", name=EVIL, tags=[EVIL], capture=False, dir=store) as run:
        run.log({"val/acc": math.nan, "train/loss": math.inf})
    ids["evil"] = run.id
    with (
        pytest.raises(RuntimeError),
        xsite.init(
            project="nlp", name="bert", params={"lr": 3e-5}, capture=False, dir=store
        ) as run,
    ):
        run.log({"val/acc": 0.5})
        raise RuntimeError("diverged")
    ids["bert"] = run.id
    return ids


@pytest.fixture(scope="module")
def built(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, dict[str, str], xsite.BuildReport]:
    tmp = tmp_path_factory.mktemp("built")
    ids = make_store(tmp / "store", tmp)
    config = SiteConfig(
        store=str(tmp / "store"),
        out=str(tmp / "site"),
        title="Lab runs",
        base_url="https://example.github.io/lab/",
        projects={"vision": xsite.ProjectSettings(headline="val/acc", direction="max")},
    )
    report = xsite.build(config)
    return tmp / "site", ids, report


def soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def test_home_lists_projects_with_counts_and_best_run(built) -> None:
    site, ids, report = built
    assert report.runs == 4 and report.broken_links == [] and report.skipped == []
    home = soup(site / "index.html")
    assert home.title.string == "Lab runs"
    rows = {row.th.get_text(strip=True): row for row in home.select("section table")[0].tbody("tr")}
    assert set(rows) == {"vision", "nlp"}
    assert rows["vision"].find_all("td")[0].get_text(strip=True) == "3"
    best = rows["vision"].find_all("td")[3].a
    assert best["href"] == f"./runs/{ids['lr0.1']}/"
    recent = [a["href"] for a in home.select("section")[1].select("tbody th a")]
    assert recent[0] == f"./runs/{ids['bert']}/"  # newest first


def test_project_runs_table_data(built) -> None:
    site, ids, _ = built
    table = json.loads((site / "projects/vision/runs.json").read_text())
    column_ids = [c["id"] for c in table["columns"]]
    assert column_ids[:5] == ["name", "status", "tags", "started_at", "duration_s"]
    assert {"params.lr", "params.optimizer.name", "metrics.val/acc", "metrics.val/acc.max"} <= set(
        column_ids
    )
    by_id = {row["id"]: cells(table, row) for row in table["rows"]}
    assert by_id[ids["lr0.1"]]["params.lr"] == 0.1
    assert by_id[ids["lr0.1"]]["metrics.train/loss.min"] == pytest.approx(0.02)
    assert by_id[ids["lr0.1"]]["metrics.val/acc"] == pytest.approx(4.9)
    assert by_id[ids["evil"]]["metrics.val/acc"] == "NaN"
    assert by_id[ids["evil"]]["metrics.train/loss"] == "Infinity"
    assert by_id[ids["evil"]]["name"] == EVIL
    assert {c["type"] for c in table["columns"] if c["id"] == "params.layers"} == {"json"}
    assert "metrics.val/acc" in table["visible"]


def cells(table: dict, row: dict) -> dict:
    """A runs-table row by column id, each value found at its column's path."""
    values = {}
    for column in table["columns"]:
        value = row
        for part in column["path"]:
            try:
                value = value[part]
            except (KeyError, IndexError, TypeError):
                value = None
                break
        values[column["id"]] = value
    return values


def test_run_page_shows_everything_the_store_holds(built) -> None:
    site, ids, _ = built
    page = soup(site / f"runs/{ids['lr0.1']}/index.html")
    assert page.h1.get_text(" ", strip=True) == "resnet-lr0.1 finished"
    params = page.select_one("#params").get_text(" ", strip=True)
    assert "optimizer" in params and "momentum 0.9" in params and "layers [2, 2]" in params
    summary = {
        row.th.get_text(): [td.get_text() for td in row("td")]
        for row in page.select("#metrics table tbody tr")
    }
    assert summary["val/acc"][:2] == ["4.9", "49"]
    assert summary["train/loss"][2:4] == ["0.02", "49"]
    figures = page.select("section.xs-charts figure.xs-chart")
    assert [f["data-key"] for f in figures] == ["train/loss", "val/acc"]
    sources = json.loads(page.select_one("section.xs-charts")["data-sources"])
    assert sources == [{"label": "resnet-lr0.1", "run": ids["lr0.1"], "src": "metrics.json"}]
    artifacts = page.select_one("#artifacts")
    assert artifacts.find("img", src="./../../runs/" + ids["lr0.1"] + "/artifacts/confusion.png")
    previews = {d.summary.get_text(): d.pre.get_text() for d in artifacts("details")}
    assert "<b>not bold</b>" in previews["train.log"]  # shown as text, escaped
    assert previews["report.html"] == "<script>alert('artifact')</script>"
    assert (site / f"runs/{ids['lr0.1']}/artifacts/confusion.png").read_bytes() == png_bytes()
    # An HTML artifact would run script in the site's origin: it is a download, never a page.
    html_link = artifacts.find("a", string="report.html")
    assert html_link.has_attr("download")
    assert not artifacts.find("a", string="train.log").has_attr("download")
    assert page.find("script", string=lambda text: text and "artifact" in text) is None
    metrics = json.loads((site / f"runs/{ids['lr0.1']}/metrics.json").read_text())
    assert metrics["series"]["val/acc"]["step"] == list(range(50))
    assert len(metrics["series"]["val/acc"]["time"]) == 50


def test_notes_render_markdown_tables_and_links_but_no_script(built) -> None:
    site, ids, _ = built
    notes = soup(site / f"runs/{ids['lr0.1']}/index.html").select_one("#notes .xs-markdown")
    assert notes.table is not None and notes.table.td.get_text() == "0.1"
    assert notes.find("a", href="https://arxiv.org/abs/1512.03385")
    assert notes.find("script") is None and 'alert("note")' not in str(notes)  # sanitized away
    assert not notes.find("a", href=lambda h: h and h.startswith("javascript:"))


def test_everything_from_data_is_escaped(built) -> None:
    site, ids, _ = built
    for path in [
        site / "index.html",
        site / "projects/vision/index.html",
        site / f"runs/{ids['evil']}/index.html",
    ]:
        page = soup(path)
        assert not page.find(attrs={"onerror": True}), path
        assert not page.find("img", src="x"), path
    evil_page = soup(site / f"runs/{ids['evil']}/index.html")
    assert evil_page.h1.get_text(" ", strip=True).startswith(EVIL)


def test_links_are_relative_and_github_pages_files_exist(built) -> None:
    site, _, _ = built
    for page in site.rglob("*.html"):
        html = soup(page)
        tags = html.find_all(["a", "link", "script", "img"])
        urls = [tag.get("href") or tag.get("src") for tag in tags]
        for url in filter(None, urls):
            if page.name == "404.html":
                assert url.startswith(("/lab/", "#", "https:", "data:")), url
            else:
                assert not url.startswith("/"), f"{page}: {url}"
    assert (site / ".nojekyll").exists()
    sitemap = (site / "sitemap.xml").read_text()
    assert "<loc>https://example.github.io/lab/projects/vision/</loc>" in sitemap
    llms = (site / "llms.txt").read_text()
    assert "# Lab runs" in llms and "[vision](projects/vision/): 3 runs" in llms
    runs = json.loads((site / "runs.json").read_text())["runs"]
    assert {r["name"] for r in runs} == {"resnet-lr0.1", "resnet-lr0.01", EVIL, "bert"}
    assert (site / "assets/vega.js").stat().st_size > 500_000


def test_rebuild_is_byte_identical_and_incremental(tmp_path: Path) -> None:
    ids = make_store(tmp_path / "store", tmp_path)
    first = SiteConfig(store=str(tmp_path / "store"), out=str(tmp_path / "a" / "site"))
    other = SiteConfig(store=str(tmp_path / "store"), out=str(tmp_path / "b" / "site"))
    xsite.build(first)
    xsite.build(other)
    assert tree(tmp_path / "a/site") == tree(tmp_path / "b/site")

    again = xsite.build(first)
    assert again.files_written == 0
    # Pages without a key (home, 404, projects, comparisons) are rendered; no run page is.
    assert again.pages_rendered == again.pages - len(ids)
    assert again.runs_read == 0

    with xsite.init(project="vision", name="new", capture=False, dir=tmp_path / "store") as run:
        run.log({"val/acc": 0.99})
    after_new = xsite.build(first)
    assert after_new.runs_read == 1
    assert (tmp_path / f"a/site/runs/{run.id}/index.html").is_file()
    # The run's files, the pages and tables that list it, and the search index's changed
    # chunks (its other files are unchanged).
    assert after_new.files_written <= 20

    shutil.rmtree(tmp_path / "store/runs" / ids["bert"])
    after_delete = xsite.build(first)
    assert not (tmp_path / f"a/site/runs/{ids['bert']}").exists()
    assert not (tmp_path / "a/site/projects/nlp").exists()
    assert after_delete.files_removed >= 3


def test_incremental_builds_match_a_cold_build(tmp_path: Path) -> None:
    ids = make_store(tmp_path / "store", tmp_path)
    store = str(tmp_path / "store")
    site = tmp_path / "kept" / "site"
    xsite.build(SiteConfig(store=store, out=str(site)))

    def cold(**options: Any) -> dict[str, bytes]:
        fresh = tmp_path / f"cold-{len(list(tmp_path.glob('cold-*')))}" / "site"
        xsite.build(SiteConfig(store=store, out=str(fresh), **options))
        return tree(fresh)

    with xsite.init(project="vision", name="added", params={"lr": 0.5}, capture=False, dir=store):
        pass
    xsite.build(SiteConfig(store=store, out=str(site)))
    assert tree(site) == cold()

    # Files deleted from the site by hand come back, from the store or the cache.
    run_dir = site / "runs" / ids["lr0.1"]
    (run_dir / "artifacts/confusion.png").unlink()
    (run_dir / "metrics.json").unlink()
    restored = xsite.build(SiteConfig(store=store, out=str(site)))
    assert restored.runs_read == 1
    assert tree(site) == cold()
    (run_dir / "index.html").unlink()
    xsite.build(SiteConfig(store=store, out=str(site)))
    assert tree(site) == cold()

    # Fewer chart points: every series is downsampled again, no page changes.
    xsite.build(SiteConfig(store=store, out=str(site), chart_points=10))
    assert tree(site) == cold(chart_points=10)
    assert (
        len(json.loads((run_dir / "metrics.json").read_bytes())["series"]["val/acc"]["step"]) <= 10
    )
    xsite.build(SiteConfig(store=store, out=str(site)))  # back to the cached 1,000 points
    assert tree(site) == cold()

    # A new title changes every page: run pages are made again from the build cache.
    retitled = xsite.build(SiteConfig(store=store, out=str(site), title="Lab"))
    assert retitled.runs_read == 0
    assert retitled.pages_rendered == retitled.pages
    assert tree(site) == cold(title="Lab")


def tree(root: Path) -> dict[str, bytes]:
    files = sorted(p for p in root.rglob("*") if p.is_file())
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in files}


def test_artifacts_over_the_size_limit_are_listed_not_published(tmp_path: Path) -> None:
    ids = make_store(tmp_path / "store", tmp_path)
    xsite.build(
        SiteConfig(store=str(tmp_path / "store"), out=str(tmp_path / "site"), artifact_limit_mb=0)
    )
    run_dir = tmp_path / "site/runs" / ids["lr0.1"]
    assert not (run_dir / "artifacts").exists()
    artifacts = soup(run_dir / "index.html").select_one("#artifacts")
    assert artifacts.find("a") is None and artifacts.find("img") is None
    assert "not published: larger than 0 B" in artifacts.get_text()


def test_theme_overrides_one_template_and_one_static_file(tmp_path: Path) -> None:
    make_store(tmp_path / "store", tmp_path)
    theme = tmp_path / "theme"
    (theme / "templates").mkdir(parents=True)
    (theme / "static").mkdir()
    (theme / "templates/run.html").write_text(
        '{% extends "default:run.html" %}'
        '{% block run_extras %}<p class="custom">Reviewed by the team</p>{% endblock %}'
    )
    (theme / "static/xsite.css").write_text("body { color: rebeccapurple; }")
    report = xsite.build(
        SiteConfig(store=str(tmp_path / "store"), out=str(tmp_path / "site"), theme=str(theme))
    )
    run_page = next((tmp_path / "site/runs").glob("*/index.html"))
    html = soup(run_page)
    assert html.find("p", class_="custom").get_text() == "Reviewed by the team"
    assert html.select_one("#params") is not None  # the rest still comes from the default
    assert (tmp_path / "site/assets/xsite.css").read_text() == "body { color: rebeccapurple; }"
    assert (tmp_path / "site/assets/charts.js").is_file()
    assert report.broken_links == []


def test_config_file_and_cli_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_store(tmp_path / "store", tmp_path)
    monkeypatch.chdir(tmp_path)
    Path("xsite.toml").write_text(
        'title = "From toml"\nstore = "store"\nout = "public"\n'
        '[projects.vision]\nheadline = "train/loss"\ndirection = "min"\n'
    )
    config = load_config()
    assert config.title == "From toml" and config.store == str(tmp_path / "store")
    assert config.project("vision").direction == "min"
    result = CliRunner().invoke(app, ["build", "--title", "From flag"])
    assert result.exit_code == 0, result.output
    assert "Built 4 runs" in result.output
    assert soup(tmp_path / "public/index.html").title.string == "From flag"

    Path("xsite.toml").write_text('titel = "typo"\n')
    bad = CliRunner().invoke(app, ["build"])
    assert bad.exit_code == 1
    assert "xsite.toml: unknown setting 'titel'" in bad.output


def test_pyproject_tool_section_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("pyproject.toml").write_text('[project]\nname = "x"\n[tool.xsite]\ntitle = "Py"\n')
    assert load_config().title == "Py"


def test_a_corrupt_file_is_reported_and_strict_fails(tmp_path: Path) -> None:
    ids = make_store(tmp_path / "store", tmp_path)
    bad = tmp_path / "store/runs" / ids["lr0.1"] / "metrics-00000000000000000001-bad-000001.parquet"
    bad.write_bytes(b"PAR1 not really")
    with pytest.warns(xsite.SkippedFileWarning):
        result = CliRunner().invoke(
            app, ["build", str(tmp_path / "store"), "--out", str(tmp_path / "site"), "--strict"]
        )
    assert result.exit_code == 1
    assert bad.name in result.output and "--strict" in result.output
    assert (tmp_path / "site/runs" / ids["lr0.01"] / "index.html").is_file()  # the rest built
