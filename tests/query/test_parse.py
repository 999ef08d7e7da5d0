"""The run query language in Python: its grammar, its errors, every case of the shared table
(``xsite/query/cases.json``, which the browser's query.js is tested against too), and
``filter_runs`` on a real store compared with the site's own rows."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from importlib import resources
from typing import Any

import pytest

import xsite
from xsite.errors import XsiteError
from xsite.query import Field, Query, QuerySyntaxError, default_get, filter_runs, parse
from xsite.query.evaluate import js_number_text
from xsite.query.parse import And, Compare, In, Not, Or, Text

TABLE = json.loads((resources.files("xsite.query") / "cases.json").read_text(encoding="utf-8"))
ROWS: list[dict[str, Any]] = TABLE["rows"]
CASES: list[dict[str, Any]] = TABLE["cases"]


def outcome(text: str, rows: list[dict[str, Any]], get: Any = None) -> dict[str, Any]:
    """A case's result as cases.json writes it."""
    try:
        query = parse(text)
    except QuerySyntaxError as error:
        return {"error": {"position": error.position, "message": str(error)}}
    return {"ids": [row["id"] for row in rows if query.matches(row, get)]}


def check(case: dict[str, Any], got: dict[str, Any]) -> None:
    if "ids" in case:
        assert got == {"ids": case["ids"]}, case.get("note")
    else:
        assert "error" in got, f"{case['query']!r} parsed"
        assert got["error"]["position"] == case["error"]["position"], got["error"]["message"]
        assert case["error"]["message_contains"] in got["error"]["message"]


# -- the shared table ---------------------------------------------------------------------------


def test_the_table_covers_every_operator_and_many_errors() -> None:
    queries = " ".join(c["query"] for c in CASES)
    for word in ("=", "==", "!=", "<", "<=", ">", ">=", "contains", " in ", "not in", "`"):
        assert word in queries, word
    assert len(CASES) >= 60
    assert sum("error" in c for c in CASES) >= 25
    assert len({c["query"] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c["query"] or "<empty>" for c in CASES])
def test_case(case: dict[str, Any]) -> None:
    check(case, outcome(case["query"], ROWS))


def table_row(row: dict[str, Any]) -> dict[str, Any]:
    """A row as the site's runs table holds it: metrics as [last, min, max]."""
    return {**row, "metrics": {k: [v, None, None] for k, v in row["metrics"].items()}}


def table_get(row: dict[str, Any], field: Field) -> Any:
    if field.kind == "metrics":
        cells = row["metrics"].get(field.key)
        return None if cells is None else cells[0]
    return default_get(row, field)


@pytest.mark.parametrize("case", CASES, ids=[c["query"] or "<empty>" for c in CASES])
def test_case_through_a_getter(case: dict[str, Any]) -> None:
    check(case, outcome(case["query"], [table_row(r) for r in ROWS], table_get))


# -- the grammar --------------------------------------------------------------------------------


def test_precedence_is_not_then_and_then_or() -> None:
    a, b, c = Text("a"), Text("b"), Text("c")
    assert parse("a or b and c").expr == Or((a, And((b, c))))
    assert parse("a and b or c").expr == Or((And((a, b)), c))
    assert parse("not a and b").expr == And((Not(a), b))
    assert parse("not (a and b)").expr == Not(And((a, b)))
    assert parse("(a or b) c").expr == And((Or((a, b)), c))
    assert parse("a b or c").expr == parse("a and b or c").expr
    assert parse("not not a").expr == Not(Not(a))
    assert parse("A OR b AnD c").expr == parse("a or b and c").expr


def test_conditions() -> None:
    assert parse("metrics.val/acc >= 0.9").expr == Compare(Field("metrics", "val/acc"), ">=", 0.9)
    assert parse("params.lr == 1e-3").expr == Compare(Field("params", "lr"), "=", 0.001)
    assert parse("run_id = 'x'").expr == Compare(Field("attr", "id"), "=", "x")
    assert parse("Status != null").expr == Compare(Field("attr", "status"), "!=", None)
    assert parse("tags contains true").expr == Compare(Field("attr", "tags"), "contains", True)
    assert parse("params.seed in (1, -2.5, 'a')").expr == In(
        Field("params", "seed"), (1.0, -2.5, "a"), negated=False
    )
    assert parse("status NOT IN (null)").expr == In(Field("attr", "status"), (None,), negated=True)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("metrics.val/acc", Field("metrics", "val/acc")),
        ("params.optimizer.name", Field("params", "optimizer.name")),
        ("metrics.f1-score", Field("metrics", "f1-score")),
        ("metrics.a'b\"c", Field("metrics", "a'b\"c")),
        ("metrics.`val acc (%)`", Field("metrics", "val acc (%)")),
        ("params.`a = b, c`", Field("params", "a = b, c")),
        ("metrics.`back\\`tick`", Field("metrics", "back`tick")),
        ("metrics.`back\\\\slash`", Field("metrics", "back\\slash")),
        ("METRICS.Loss", Field("metrics", "Loss")),
    ],
)
def test_keys(text: str, field: Field) -> None:
    assert parse(f"{text} = 1").expr == Compare(field, "=", 1.0)
    assert parse(f"{text}=1").expr == Compare(field, "=", 1.0)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('"a b"', "a b"),
        ("'a b'", "a b"),
        (r'"say \"hi\""', 'say "hi"'),
        (r"'it\'s'", "it's"),
        (r'"back\\slash"', "back\\slash"),
        (r'"C:\data"', "C:\\data"),
        ('"it\'s"', "it's"),
        ("-1", -1.0),
        ("1.5e3", 1500.0),
        ("2E-2", 0.02),
        (".5", 0.5),
        ("5.", 5.0),
        ("TRUE", True),
        ("false", False),
        ("Null", None),
    ],
)
def test_values(text: str, value: Any) -> None:
    assert parse(f"name = {text}").expr == Compare(Field("attr", "name"), "=", value)


def test_free_text_terms() -> None:
    assert parse("cnn baseline").expr == And((Text("cnn"), Text("baseline")))
    assert parse("ResNet").expr == Text("resnet")
    assert parse("'x Y' 0.01 run-3").expr == And((Text("x y"), Text("0.01"), Text("run-3")))
    assert parse("status").expr == Text("status")
    assert parse("").expr is None and parse(" \t").expr is None
    row = {
        "id": "r1",
        "name": "ResNet-50",
        "status": "failed",
        "tags": ["Big"],
        "params": {"opt": {"name": "Adam"}, "lr": 1e-05, "flag": True, "xs": [1, "Deep"]},
        "notes": "secret",
        "project": "vision",
        "metrics": {"acc": 0.5},
    }
    for found in ("resnet", "r1", "failed", "big", "adam", "0.00001", "true", "deep", "net-5"):
        assert parse(found).matches(row), found
    for not_found in ("secret", "vision", "acc", "lr", "1e-05", "none"):
        assert not parse(not_found).matches(row), not_found


def test_js_number_text() -> None:
    spelled = {
        1e-05: "0.00001",
        1e-7: "1e-7",
        1.0: "1",
        123.456: "123.456",
        1e21: "1e+21",
        1.5e16: "15000000000000000",
        -0.0: "0",
        -2.5e-9: "-2.5e-9",
        math.nan: "NaN",
        -math.inf: "-Infinity",
        2**60: "1152921504606847000",
        7: "7",
    }
    for number, text in spelled.items():
        assert js_number_text(number) == text


# -- errors -------------------------------------------------------------------------------------


def test_errors_carry_a_message_and_a_position() -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse("metrics.acc > 0.9 and foo > 1")
    error = caught.value
    assert isinstance(error, XsiteError)
    assert error.position == 22
    assert error.reason == "unknown field 'foo'"
    assert str(error) == error.message
    assert str(error).startswith("unknown field 'foo' at position 22 (did you mean")
    assert str(QuerySyntaxError("expected a value after '>'", 14)) == (
        "expected a value after '>' at position 14"
    )


@pytest.mark.parametrize(
    ("text", "position", "message"),
    [
        ("metrics.val/acc >", 17, "expected a value after '>' at position 17"),
        ("status = finished", 9, 'at position 9 (put text in quotes: "finished")'),
        ("name = 'x", 7, "unterminated string at position 7"),
        ("name = x'", 7, "expected a value after '='"),
        ("metrics.`x", 8, "unterminated quoted key"),
        ("a (b", 4, "expected ')' at position 4"),
        ("a b)", 3, "unexpected ')' at position 3"),
        ("a, b", 1, "unexpected ','"),
        ("tags <= 'a'", 5, "tags can't be compared with '<='"),
        ("params. = 1", 7, "expected a key after 'params.'"),
        ("params.x contains", 17, "expected a value after 'contains'"),
        ("params.x not 1", 9, "expected an operator after 'params.x'"),
        ("params.x in 1", 12, "expected '(' after 'in'"),
        ("params.x in (1 2)", 15, "expected ',' or ')'"),
        ("params.x in (1", 14, "expected ',' or ')'"),
        ("params.x >= false", 12, "expected a number or a string after '>='"),
        ("x ! y", 2, "unexpected '!' at position 2 (did you mean '!='?)"),
        ("and", 0, "expected a condition at position 0"),
        ("a and or b", 6, "expected a condition after 'and'"),
        ("a not", 5, "expected a condition after 'not'"),
        ("bar not in (1)", 0, "unknown field 'bar'"),
        ("bar contains 'x'", 0, "unknown field 'bar'"),
        ("`k` = 1", 0, "needs metrics. or params. before it"),
        ("metrics.`k`x = 1", 11, "unexpected character after a quoted key"),
        # Python counts code points; query.js counts UTF-16 code units (5 here).
        ("'🚀' foo > 1", 4, "unknown field 'foo' at position 4"),
    ],
)
def test_error(text: str, position: int, message: str) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse(text)
    assert caught.value.position == position
    assert message in str(caught.value)


# -- semantics the table can't show ------------------------------------------------------------


def test_python_values_compare_like_the_sites_json() -> None:
    row = {
        "id": "r",
        "metrics": {"a": math.nan, "b": math.inf, "c": "Infinity"},
        "params": {"n": 3, "b": True, "nan": math.nan, "t": (1, "X")},
    }
    assert parse("metrics.a != null and not metrics.a < 0 and not metrics.a >= 0").matches(row)
    assert not parse("metrics.a != 1").matches(row)
    assert parse("metrics.b > 1e308 and metrics.c > 1e308 and metrics.b >= 1e999").matches(row)
    assert parse("params.n = 3 and params.n = 3.0 and params.n != true").matches(row)
    assert parse("params.b = true and params.b != 1 and not params.b > 0").matches(row)
    assert parse("params.t contains 'x' and params.t contains 1").matches(row)
    assert parse("params.nan != null").matches(row)
    assert not parse("params.nan != 1 or params.nan = 1 or params.nan <= 1e999").matches(row)


def test_a_query_is_reusable() -> None:
    query = parse("metrics.acc > 0.5")
    assert isinstance(query, Query)
    assert repr(query) == "parse('metrics.acc > 0.5')"
    keep = query.predicate()
    rows = [{"id": str(i), "metrics": {"acc": i / 10}} for i in range(10)]
    assert [r["id"] for r in rows if keep(r)] == ["6", "7", "8", "9"]
    assert [r["id"] for r in rows if query.matches(r)] == ["6", "7", "8", "9"]


# -- filter_runs on a real store ----------------------------------------------------------------

STORE_QUERIES = [
    "",
    "cnn",
    "cnn baseline",
    "adam",
    "0.001",
    "metrics.val/acc > 0.9",
    "metrics.val/acc != 0.5",
    "not metrics.val/acc > 0.9",
    "metrics.`val acc (%)` >= 90",
    "metrics.train/loss > 1e308",
    "metrics.train/loss < 1",
    "params.optimizer.name = 'adam'",
    "params.optimizer.name contains 'ADAM'",
    "params.optimizer.name = null",
    "params.optimizer.name not in ('adam')",
    "params.lr < 0.01",
    "params.lr = '0.01'",
    "params.augment = true",
    "params.layers contains 64",
    "params.layers contains 'relu'",
    "tags contains 'CNN'",
    "tags = null",
    "tags not in ('cnn', 'mlp')",
    "status = 'failed' or status = 'finished' and tags contains 'cnn'",
    "name contains '<img'",
    "project = 'cifar'",
    "notes = null",
    "notes contains 'baseline'",
    "ended_at != null",
    "ended_at = null and status = 'running'",
    "duration_s >= 0",
    "started_at > '2000-01-01' and started_at < '2999'",
]


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, list[dict[str, Any]]]]:
    """A store written through the API, as ``load_runs`` reads it and as the site's rows."""
    tmp = tmp_path_factory.mktemp("query-store")
    store = tmp / "store"
    runs = [
        (
            "mnist",
            "cnn-baseline",
            {"lr": 0.001, "optimizer": {"name": "adam"}, "augment": False, "layers": [64, 32]},
            ["cnn", "baseline"],
            {"val/acc": 0.91, "train/loss": 0.2, "val acc (%)": 91.0},
            "finished",
            "Why: baseline.",
        ),
        (
            "mnist",
            "CNN-Augmented",
            {
                "lr": 0.01,
                "optimizer": {"name": "SGD"},
                "augment": True,
                "layers": [128, 64, "relu"],
            },
            ["CNN"],
            {"val/acc": 0.95, "val acc (%)": 95.0},
            "finished",
            None,
        ),
        (
            "cifar",
            "resnet",
            {"lr": 1e-05, "optimizer": {"name": "Adam"}},
            ["resnet"],
            {"val/acc": math.nan, "train/loss": math.inf},
            "failed",
            None,
        ),
        ("cifar", "<img src=x onerror=alert(1)>", {}, [], {}, "finished", "<b>notes</b>"),
        (
            "mnist",
            "mlp",
            {"lr": "0.01", "optimizer": {"name": None}},
            ["mlp"],
            {"val/acc": 0.5, "train/loss": math.nan},
            "failed",
            None,
        ),
    ]
    for project, name, params, tags, metrics, status, notes in runs:
        run = xsite.init(
            project=project,
            name=name,
            params=params,
            tags=tags,
            notes=notes,
            capture=False,
            dir=store,
        )
        if metrics:
            run.log(metrics)
        run.finish(status)
    going = xsite.init(project="cifar", name="still-going", tags=["cnn"], capture=False, dir=store)
    going.log({"val/acc": 0.99})
    going.flush()
    frame = xsite.load_runs(store)
    xsite.build(xsite.SiteConfig(store=str(store), out=str(tmp / "site")))
    site = json.loads((tmp / "site" / "runs.json").read_text())["runs"]
    order = {run_id: i for i, run_id in enumerate(frame["run_id"])}
    rows = sorted(
        ({**run, "metrics": {k: m["last"] for k, m in run["metrics"].items()}} for run in site),
        key=lambda row: order[row["id"]],
    )
    yield frame, rows
    going.finish()


@pytest.mark.parametrize("text", STORE_QUERIES)
def test_filter_runs_matches_the_sites_rows(
    logged: tuple[Any, list[dict[str, Any]]], text: str
) -> None:
    frame, rows = logged
    expected = [row["id"] for row in rows if parse(text).matches(row)]
    result = filter_runs(frame, text)
    assert list(result["run_id"]) == expected
    assert list(result.columns) == list(frame.columns)
    assert list(result.index) == list(range(len(result)))


def test_filter_runs_meaningfully(logged: tuple[Any, list[dict[str, Any]]]) -> None:
    frame, _ = logged
    names = list(filter_runs(frame, "tags contains 'cnn' and metrics.val/acc > 0.9")["name"])
    assert names == ["cnn-baseline", "CNN-Augmented", "still-going"]
    assert list(filter_runs(frame, "ended_at = null")["name"]) == ["still-going"]
    assert list(filter_runs(frame, parse("status = 'failed'"))["name"]) == ["resnet", "mlp"]
    assert len(filter_runs(frame.iloc[:0], "cnn")) == 0


def test_filter_runs_cannot_tell_a_nan_metric_from_a_missing_one(
    logged: tuple[Any, list[dict[str, Any]]],
) -> None:
    """The documented difference: load_runs has NaN for both."""
    frame, rows = logged
    text = "metrics.val/acc = null"
    assert list(filter_runs(frame, text)["name"]) == ["resnet", "<img src=x onerror=alert(1)>"]
    assert [row["name"] for row in rows if parse(text).matches(row)] == [
        "<img src=x onerror=alert(1)>"
    ]


def test_filter_runs_raises_the_syntax_error(logged: tuple[Any, list[dict[str, Any]]]) -> None:
    frame, _ = logged
    with pytest.raises(QuerySyntaxError, match="at position 0"):
        filter_runs(frame, "lr=0.01")
