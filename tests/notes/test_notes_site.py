"""Notes in a built site: their pages, the index and timeline, links both ways with runs,
the comparisons they make, search, images, incremental rebuilds and --strict."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

import xsite
from tests.notes.conftest import config_for, soup, write
from tests.test_build import png_bytes
from xsite.cli import app

AUGMENTATION = """\
---
title: Does augmentation help the small CNN?
date: 2026-11-20
tags: [augmentation, decision]
runs: [cnn-baseline, "tags contains 'aug'"]
status: decided
---
Augmentation adds a point on [[cnn-aug-v2]] over [[cnn-baseline|the baseline]].
See also [the plan](2026-11-01-plan.md#why) and ![curve](img/curve.png).

```xsite-table
runs: tags contains "cnn"
columns: [name, params.lr, metrics.val/acc]
sort: -metrics.val/acc
```

```xsite-chart
metric: val/acc
runs: tags contains "aug" or name = "cnn-baseline"
smoothing: 0.6
```
"""
PLAN = """\
# Plan: what to try first

## Why

Start with the [[mlp]], then CNNs.
"""


def make_notes(tmp_path: Path) -> Path:
    notes = tmp_path / "notes"
    write(notes, "2026-11-20-augmentation.md", AUGMENTATION)
    write(notes, "2026-11-01-plan.md", PLAN)
    (notes / "img").mkdir()
    (notes / "img/curve.png").write_bytes(png_bytes())
    return notes


def test_notes_get_pages_an_index_a_timeline_and_links_both_ways(tmp_path: Path, runs) -> None:
    make_notes(tmp_path)
    report = xsite.build(config_for(tmp_path))
    assert report.warnings == [] and report.broken_links == []
    site = tmp_path / "site"

    note = soup(site / "notes/2026-11-20-augmentation/index.html")
    assert note.h1.get_text() == "Does augmentation help the small CNN?"
    body = note.select_one(".xs-markdown")
    assert [a.get_text() for a in body.select("a.xs-run-link")] == ["cnn-aug-v2", "the baseline"]
    assert body.select_one("a.xs-run-link")["href"] == f"./../../runs/{runs['cnn-aug-v2']}/"
    assert body.find("a", string="the plan")["href"] == "./../../notes/2026-11-01-plan/#why"
    assert body.find("img")["src"] == "./../../notes/files/img/curve.png"
    assert (site / "notes/files/img/curve.png").read_bytes() == png_bytes()
    assert [a.get_text() for a in body.select(".xs-block-table tbody a")] == [
        "cnn-aug-v2",
        "cnn-aug-v1",
        "cnn-baseline",
    ]
    chart = body.select_one("section.xs-charts")
    assert len(json.loads(chart["data-sources"])) == 3
    assert note.find("script", src="./../../assets/charts.js") is not None
    # Its runs, with their headline metric, and the comparison its runs: make.
    listed = {tr.th.get_text(): tr("td")[-1].get_text() for tr in note.select("section tbody tr")}
    assert listed == {"cnn-aug-v2": "0.93", "cnn-aug-v1": "0.92", "cnn-baseline": "0.91"}
    compare_link = note.find("a", string="Compare these runs")["href"]
    assert compare_link == "./../../compare/2026-11-20-augmentation/"
    comparison = soup(site / "compare/2026-11-20-augmentation/index.html")
    settings = json.loads(comparison.select_one("div.xs-compare")["data-settings"])
    assert sorted(settings["runs"]) == sorted(
        runs[n] for n in ("cnn-baseline", "cnn-aug-v1", "cnn-aug-v2")
    )
    assert comparison.find("a", string="Does augmentation help the small CNN?")

    # Run pages list the notes that discuss them; the mlp is discussed by the plan only.
    run_page = soup(site / f"runs/{runs['cnn-baseline']}/index.html")
    discussed = run_page.find("dt", string="Discussed in").find_next("dd")
    assert [a.get_text() for a in discussed("a")] == ["Does augmentation help the small CNN?"]
    mlp = soup(site / f"runs/{runs['mlp']}/index.html").find("dt", string="Discussed in")
    assert [a.get_text() for a in mlp.find_next("dd")("a")] == ["Plan: what to try first"]

    index = soup(site / "notes/index.html")
    titles = [a.get_text() for a in index.select(".xs-note-list .xs-note-title")]
    assert titles == ["Does augmentation help the small CNN?", "Plan: what to try first"]
    assert [b["data-value"] for b in index.select('[data-filter="tag"]')] == [
        "augmentation",
        "decision",
    ]
    timeline = soup(site / "timeline/index.html")
    days = [time.get_text() for time in timeline.select(".xs-timeline-day > h2 time")]
    assert days == sorted(days, reverse=True) and {"2026-11-20", "2026-11-01"} <= set(days)
    assert timeline.select_one(".xs-timeline-runs summary").get_text().startswith("4 runs of")
    home = soup(site / "index.html")
    assert [a.get_text() for a in home.select("#notes-heading ~ ul .xs-note-title")] == titles
    assert [a.get_text() for a in home.select(".xs-nav-links a")] == ["Notes", "Timeline"]

    listing = json.loads((site / "notes/notes.json").read_text())
    assert listing["notes"][0]["runs"] and listing["notes"][0]["status"] == "decided"
    assert json.loads((site / "search/index.json").read_text())["bundles"] == [
        "runs",
        "projects",
        "notes",
    ]
    assert (site / "pagefind-notes/pagefind-entry.json").is_file()


def test_a_bad_note_is_reported_and_the_rest_is_built(tmp_path: Path, runs) -> None:
    notes = make_notes(tmp_path)
    write(notes, "broken.md", "---\ntitle: ok\nstatus: finished\n---\n")
    write(
        notes,
        "refs.md",
        "# Refs\n\nSee [[cnn-baseline]] and\n[[no-such-run]].\n\n"
        "```xsite-table\ncolumns: [x]\n```\n",
    )
    write(notes, "query.md", "---\nruns: ['metrics.val/acc >']\n---\n# Q\n")
    report = xsite.build(config_for(tmp_path))
    site = tmp_path / "site"
    assert any(f"{notes / 'broken.md'}:3: status: must be one of" in w for w in report.warnings)
    assert f"{notes / 'refs.md'}: line 4: [[no-such-run]] names no run" in report.warnings
    assert any(
        f"{notes / 'refs.md'}: line 6: xsite-table block: unknown column 'x'" in w
        for w in report.warnings
    )
    assert any(f"{notes / 'query.md'}: runs:" in w and "is no run id" in w for w in report.warnings)
    assert not (site / "notes/broken").exists()
    assert (site / "notes/2026-11-20-augmentation/index.html").is_file()
    refs = soup(site / "notes/refs/index.html")
    assert refs.select_one(".xs-broken-ref").get_text() == "[[no-such-run]]"
    assert "unknown column" in refs.select_one(".xs-block-error").get_text()

    cli = CliRunner().invoke(
        app,
        ["build", str(tmp_path / "store"), "--out", str(site), "--notes", str(notes), "--strict"],
    )
    assert cli.exit_code == 1
    assert "no-such-run" in cli.output and "--strict" in cli.output
    relaxed = CliRunner().invoke(
        app, ["build", str(tmp_path / "store"), "--out", str(site), "--notes", str(notes)]
    )
    assert relaxed.exit_code == 0, relaxed.output


def test_paths_in_notes_never_leave_the_notes_folder(tmp_path: Path, runs) -> None:
    (tmp_path / "secret.png").write_bytes(png_bytes())
    write(
        tmp_path / "notes",
        "n.md",
        "![a](../secret.png) ![b](%2e%2e/secret.png) ![c](/etc/hostname)\n",
    )
    xsite.build(config_for(tmp_path))
    site = tmp_path / "site"
    assert not (site / "notes/files").exists()
    assert [img["src"] for img in soup(site / "notes/n/index.html")("img")] == [
        "../secret.png",
        "%2e%2e/secret.png",
        "/etc/hostname",
    ]


def test_an_svg_in_a_note_is_shown_inline_never_published(tmp_path: Path, runs) -> None:
    notes = tmp_path / "notes"
    write(notes, "n.md", "![plot](plot.svg)\n")
    write(
        notes, "plot.svg", '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    )
    xsite.build(config_for(tmp_path))
    img = soup(tmp_path / "site/notes/n/index.html").find("img")
    assert img["src"].startswith("data:image/svg+xml")
    assert not (tmp_path / "site/notes/files").exists()


def test_run_notes_from_code_render_like_note_files(tmp_path: Path, runs) -> None:
    with xsite.resume(runs["mlp"], dir=tmp_path / "store") as run:
        run.set_notes(
            "Worse than [[cnn-baseline]]: <script>window.x=1</script>\n\n"
            "```xsite-table\ncolumns: [name]\n```\n"
        )
    xsite.build(config_for(tmp_path, notes=None))
    site = tmp_path / "site"
    notes = soup(site / f"runs/{runs['mlp']}/index.html").select_one("#notes .xs-markdown")
    assert notes.select_one("a.xs-run-link")["href"] == f"./../../runs/{runs['cnn-baseline']}/"
    assert notes.find("script") is None and len(notes.select(".xs-block-table tbody tr")) == 4
    baseline = soup(site / f"runs/{runs['cnn-baseline']}/index.html")
    assert baseline.find("dt", string="Mentioned by").find_next("dd").a.get_text() == "mlp"
    assert not (site / "notes").exists()  # no note files: no notes pages


def test_rebuilds_follow_notes_and_stay_byte_identical(tmp_path: Path, runs) -> None:
    notes = make_notes(tmp_path)
    config = config_for(tmp_path)
    xsite.build(config)
    site = tmp_path / "site"
    before = {p: p.read_bytes() for p in site.rglob("*") if p.is_file()}
    again = xsite.build(config)
    assert again.files_written == 0
    assert {p: p.read_bytes() for p in site.rglob("*") if p.is_file()} == before

    # A new note that discusses a run shows on that run's page at the next build.
    write(notes, "2026-11-25-mlp.md", "# The MLP is done\n\n[[mlp]] will not catch up.\n")
    report = xsite.build(config)
    mlp = (
        soup(site / f"runs/{runs['mlp']}/index.html")
        .find("dt", string="Discussed in")
        .find_next("dd")
    )
    assert "The MLP is done" in mlp.get_text()
    assert report.pages_rendered < report.pages  # the other runs' pages were kept
    (notes / "2026-11-25-mlp.md").unlink()
    xsite.build(config)
    mlp = (
        soup(site / f"runs/{runs['mlp']}/index.html")
        .find("dt", string="Discussed in")
        .find_next("dd")
    )
    assert "The MLP is done" not in mlp.get_text()
    assert not (site / "notes/2026-11-25-mlp").exists()
