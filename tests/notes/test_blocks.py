"""Fenced xsite blocks, drawn from a real store's model: tables, charts, comparisons, and the
messages a wrong block gets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

import xsite
from tests.notes.conftest import config_for
from xsite.notes.blocks import BlockData, BlockError, render_block
from xsite.site.cache import RunCache
from xsite.site.gather import gather
from xsite.site.select import RunSelector
from xsite.store.reader import StoreReader


@pytest.fixture
def data(tmp_path: Path, runs: dict[str, str]) -> BlockData:
    gathered = gather(
        StoreReader(tmp_path / "store"), RunCache(tmp_path / "cache"), chart_points=100
    )
    return BlockData(RunSelector(tuple(gathered.rows)), config_for(tmp_path))


def block(kind: str, source: str, data: BlockData, root: str = "../../") -> BeautifulSoup:
    return BeautifulSoup(render_block(kind, source, data, root), "html.parser")


def test_a_table_picks_sorts_limits_and_marks_the_best(data: BlockData, runs) -> None:
    table = block(
        "table",
        'runs: tags contains "cnn"\ncolumns: [name, params.lr, metrics.val/acc, tags]\n'
        "sort: -metrics.val/acc\nlimit: 2\ntitle: Best CNNs",
        data,
    )
    assert table.caption.get_text() == "Best CNNs"
    assert [th.get_text() for th in table("th")] == ["name", "params.lr", "metrics.val/acc", "tags"]
    rows = [[td.get_text() for td in tr("td")] for tr in table.tbody("tr")]
    assert rows == [
        ["cnn-aug-v2", "0.05", "0.93", "cnn, aug"],
        ["cnn-aug-v1", "0.1", "0.92", "cnn, aug"],
    ]
    assert table.tbody.a["href"] == f"./../../runs/{runs['cnn-aug-v2']}/"
    assert "xs-best" in table.tbody.tr("td")[2]["class"]
    assert table.figcaption.get_text() == "2 of 3 runs"


def test_a_table_sorts_ascending_without_a_minus(data: BlockData) -> None:
    table = block("table", "columns: [name]\nsort: metrics.train/loss", data)
    assert [a.get_text() for a in table.tbody("a")] == [
        "cnn-aug-v2",
        "cnn-aug-v1",
        "cnn-baseline",
        "mlp",
    ]


def test_a_chart_lists_each_runs_metrics_file_and_the_authors_settings(
    data: BlockData, runs
) -> None:
    chart = block(
        "chart",
        'metric: val/acc\nruns: tags contains "aug"\nsmoothing: 0.3\nx: wall\nlog: true',
        data,
        "/site/",
    )
    section = chart.select_one("section.xs-charts")
    assert section["data-spec"] == "/site/assets/metric-chart.vl.json"
    sources = json.loads(section["data-sources"])
    assert sources == [
        {
            "label": "cnn-aug-v2",
            "run": runs["cnn-aug-v2"],
            "src": f"/site/runs/{runs['cnn-aug-v2']}/metrics.json",
        },
        {
            "label": "cnn-aug-v1",
            "run": runs["cnn-aug-v1"],
            "src": f"/site/runs/{runs['cnn-aug-v1']}/metrics.json",
        },
    ]
    assert json.loads(section["data-settings"]) == {"smoothing": 0.3, "xaxis": "wall", "log": True}
    assert [f["data-key"] for f in section("figure")] == ["val/acc"]


def test_a_comparison_sets_runs_side_by_side_with_the_params_that_differ(
    data: BlockData, runs
) -> None:
    figure = block("compare", "runs: [cnn-baseline, cnn-aug-v2]\nmetrics: [val/acc]", data)
    assert [a.get_text() for a in figure.thead("a")] == ["cnn-aug-v2", "cnn-baseline"]
    rows = {tr.th.get_text(): [td.get_text() for td in tr("td")] for tr in figure.tbody("tr")}
    assert rows == {"metrics.val/acc": ["0.93", "0.91"], "params.lr": ["0.05", "0.1"]}
    assert "xs-best" in figure.tbody.tr("td")[0]["class"]
    link = figure.figcaption.a["href"]
    assert link == f"./../../compare/#runs={runs['cnn-aug-v2']},{runs['cnn-baseline']}"


@pytest.mark.parametrize(
    ("kind", "source", "message"),
    [
        (
            "graph",
            "metric: x",
            "unknown block kind; known: xsite-table, xsite-chart, xsite-compare",
        ),
        ("table", "columns: [name\n", "not valid YAML (line 2 of the block)"),
        ("table", "- a\n- b", "the body must be YAML settings"),
        (
            "table",
            "colums: [name]",
            "unknown setting(s) colums; known: columns, limit, runs, sort, title",
        ),
        ("table", "columns: [name, accuracy]", "unknown column 'accuracy'"),
        (
            "table",
            "runs: 'metrics.val/acc >'",
            "runs: 'metrics.val/acc >' is no run id, run name or query",
        ),
        ("table", "limit: 0", "limit must be a number from 1 to 500"),
        ("chart", "runs: mlp", "metric is required"),
        ("chart", "metric: val/acc\nsmoothing: 2", "smoothing must be a number from 0 to 0.99"),
        ("chart", "metric: val/acc\nx: time", "x must be one of step, relative, wall"),
        ("compare", "metrics: [val/acc]", "runs is required"),
    ],
)
def test_a_wrong_block_says_what_to_change(
    data: BlockData, kind: str, source: str, message: str
) -> None:
    with pytest.raises(BlockError) as error:
        render_block(kind, source, data, "../../")
    assert message in str(error.value)


def test_blocks_escape_what_comes_from_data(tmp_path: Path) -> None:
    with xsite.init(
        project="p",
        name='<img src=x onerror="alert(1)">',
        params={"k": "<b>"},
        capture=False,
        dir=tmp_path / "store",
    ) as run:
        run.log({"m": 1.0})
    gathered = gather(
        StoreReader(tmp_path / "store"), RunCache(tmp_path / "cache"), chart_points=100
    )
    data = BlockData(RunSelector(tuple(gathered.rows)), config_for(tmp_path))
    for kind, source in [
        ("table", "columns: [name, params.k]"),
        ("compare", f"runs: [{run.id}]"),
        ("chart", "metric: m"),
    ]:
        page = block(kind, source, data)
        assert page.find("img") is None and page.find("b") is None, kind
