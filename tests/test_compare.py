"""Comparison pages as the build writes them: which runs a named comparison picks, where
the pages are and what links to them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

import xsite
from xsite.config import ComparisonSettings, ProjectSettings, load_config
from xsite.errors import ConfigError


@pytest.fixture
def store(tmp_path: Path) -> dict[str, str]:
    ids = {}
    for name, lr, tags in [("base", 0.1, ["cnn"]), ("aug", 0.01, ["cnn", "aug"]), ("mlp", 0.5, [])]:
        with xsite.init(
            project="digits",
            name=name,
            params={"lr": lr},
            tags=tags,
            capture=False,
            dir=tmp_path / "store",
        ) as run:
            run.log({"val/acc": lr, "train/loss": 1 - lr})
        ids[name] = run.id
    return ids


def settings(page: Path) -> dict:
    div = BeautifulSoup(page.read_bytes(), "html.parser").select_one("div.xs-compare")
    return json.loads(div["data-settings"])


def test_named_comparisons_pick_runs_by_id_name_and_query(tmp_path: Path, store) -> None:
    config = xsite.SiteConfig(
        store=str(tmp_path / "store"),
        out=str(tmp_path / "site"),
        projects={"digits": ProjectSettings(headline="val/acc", directions={"x": "min"})},
        comparisons=(
            ComparisonSettings(title="Aug vs base", runs=(store["base"], "aug")),
            ComparisonSettings(title="CNNs", runs=('tags contains "cnn" and params.lr < 0.05',)),
        ),
    )
    report = xsite.build(config)
    assert report.broken_links == []
    site = tmp_path / "site"
    first = settings(site / "compare/aug-vs-base/index.html")
    assert sorted(first["runs"]) == sorted([store["base"], store["aug"]])
    assert first["headline"] == "val/acc"
    assert first["directions"] == {"train/loss": "min", "val/acc": "max"}
    assert settings(site / "compare/cnns/index.html")["runs"] == [store["aug"]]
    assert settings(site / "compare/index.html")["runs"] is None  # ad hoc: from the URL
    assert sorted(settings(site / "projects/digits/compare/index.html")["runs"]) == sorted(
        store.values()
    )

    home = BeautifulSoup((site / "index.html").read_bytes(), "html.parser")
    assert [a.get_text() for a in home.select(".xs-comparisons a")] == ["Aug vs base", "CNNs"]
    run_page = BeautifulSoup((site / f"runs/{store['aug']}/index.html").read_bytes(), "html.parser")
    compared_in = run_page.find("dt", string="Compared in").find_next("dd")
    assert [a.get_text() for a in compared_in("a")] == ["Aug vs base", "CNNs"]
    project = BeautifulSoup((site / "projects/digits/index.html").read_bytes(), "html.parser")
    assert project.find("a", string="compare all runs")["href"].endswith("projects/digits/compare/")

    # A run page is rendered again when the comparisons that include it change.
    renamed = xsite.SiteConfig(**{**config.__dict__, "comparisons": config.comparisons[:1]})
    again = xsite.build(renamed)
    assert again.pages_rendered == again.pages - 2  # of the run pages, only aug's changed
    run_page = BeautifulSoup((site / f"runs/{store['aug']}/index.html").read_bytes(), "html.parser")
    assert run_page.find("dt", string="Compared in").find_next("dd").get_text() == "Aug vs base"


def test_a_bad_query_in_a_comparison_names_it(tmp_path: Path, store) -> None:
    config = xsite.SiteConfig(
        store=str(tmp_path / "store"),
        out=str(tmp_path / "site"),
        comparisons=(ComparisonSettings(title="Broken", runs=("params.lr >",)),),
    )
    with pytest.raises(ConfigError, match=r"comparison 'Broken': 'params.lr >' .*position 11"):
        xsite.build(config)


def test_comparisons_are_read_from_config(tmp_path: Path) -> None:
    path = tmp_path / "xsite.toml"
    path.write_text(
        '[projects.digits]\ndirections = { "train/loss" = "min" }\n'
        '[[comparisons]]\ntitle = "Sweep"\nruns = "params.lr > 0"\nmetrics = ["val/acc"]\n'
    )
    config = load_config(path)
    assert config.comparisons == (
        ComparisonSettings(title="Sweep", runs=("params.lr > 0",), metrics=("val/acc",)),
    )
    assert config.project("digits").direction_of("train/loss") == "min"
    assert config.project("digits").direction_of("val/error") == "min"
    assert config.project("digits").direction_of("val/acc") == "max"
    path.write_text('[[comparisons]]\ntitle = "No runs"\n')
    with pytest.raises(ConfigError, match=r"comparison 1 \('No runs'\): runs must be"):
        load_config(path)
