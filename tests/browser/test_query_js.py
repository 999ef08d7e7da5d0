"""The browser's query.js in Chromium: every case of the shared table, the runs table's
row shape through a lookup, and random queries compared with the Python implementation."""

from __future__ import annotations

import json
import random
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import WatchedPage
from xsite.query import QuerySyntaxError, parse

QUERY_JS = Path(__file__).resolve().parents[2] / "themes" / "default" / "static" / "query.js"
TABLE = json.loads((resources.files("xsite.query") / "cases.json").read_text(encoding="utf-8"))

# Runs every query on the rows, with the runs table's accessor when `cells` is set (metrics
# as [last, min, max]); returns ids, or the error's position and message.
RUN_QUERIES = """([rows, queries, cells]) => {
  const q = window.xsite.query;
  const lookup = cells
    ? (row, field) => field.kind === "metrics"
      ? (Object.hasOwn(row.metrics, field.key) ? row.metrics[field.key][0] : undefined)
      : q.defaultLookup(row, field)
    : undefined;
  if (cells) {
    rows = rows.map((r) => ({...r, metrics: Object.fromEntries(
      Object.entries(r.metrics).map(([k, v]) => [k, [v, null, null]]))}));
  }
  return queries.map((text) => {
    try {
      const keep = q.compile(text, lookup);
      return {ids: rows.filter(keep).map((r) => r.id)};
    } catch (e) {
      if (!(e instanceof q.QuerySyntaxError)) throw e;
      return {error: {position: e.position, message: e.message, name: e.name}};
    }
  });
}"""


@pytest.fixture
def page(watched: WatchedPage) -> Page:
    watched.page.set_content("<!doctype html><html lang='en'><title>q</title><body></body></html>")
    watched.page.add_script_tag(path=str(QUERY_JS))
    return watched.page


def mismatches(cases: list[dict[str, Any]], results: list[dict[str, Any]]) -> list[str]:
    wrong = []
    for case, got in zip(cases, results, strict=True):
        if "ids" in case:
            if got != {"ids": case["ids"]}:
                wrong.append(f"{case['query']!r}: expected {case['ids']}, got {got}")
        elif (
            "error" not in got
            or got["error"]["position"] != case["error"]["position"]
            or case["error"]["message_contains"] not in got["error"]["message"]
        ):
            wrong.append(f"{case['query']!r}: expected {case['error']}, got {got}")
    return wrong


@pytest.mark.parametrize("cells", [False, True], ids=["canonical", "runs-table-lookup"])
def test_every_case_of_the_table(page: Page, watched: WatchedPage, cells: bool) -> None:
    cases = TABLE["cases"]
    results = page.evaluate(RUN_QUERIES, [TABLE["rows"], [c["query"] for c in cases], cells])
    assert mismatches(cases, results) == []
    assert all(r["error"]["name"] == "QuerySyntaxError" for r in results if "error" in r)
    assert watched.problems == []


def test_the_api(page: Page) -> None:
    api = page.evaluate(
        """() => {
          const q = window.xsite.query;
          let error;
          try { q.compile("metrics.val/acc >"); } catch (e) { error = e; }
          return {
            keys: Object.keys(q).sort(),
            parsed: q.parse("a or b"),
            empty: q.parse("  "),
            error: {message: error.message, position: error.position, reason: error.reason,
                    isError: error instanceof Error},
            fromTree: [{id: "x", name: "A"}].filter(q.compile(q.parse("a"))).length,
            emoji: (() => { try { q.parse("'🚀' foo > 1"); } catch (e) { return e.position; } })(),
          };
        }"""
    )
    assert api["keys"] == ["ATTRIBUTES", "QuerySyntaxError", "compile", "defaultLookup", "parse"]
    assert api["parsed"] == {
        "type": "or",
        "operands": [{"type": "text", "term": "a"}, {"type": "text", "term": "b"}],
    }
    assert api["empty"] is None
    assert api["error"] == {
        "message": "expected a value after '>' at position 17",
        "position": 17,
        "reason": "expected a value after '>'",
        "isError": True,
    }
    assert api["fromTree"] == 1
    assert api["emoji"] == 5  # UTF-16 code units; Python says 4


def test_it_keeps_what_window_xsite_already_holds(watched: WatchedPage) -> None:
    page = watched.page
    page.set_content("<!doctype html><title>q</title><script>window.xsite = {other: 1}</script>")
    page.add_script_tag(path=str(QUERY_JS))
    assert page.evaluate("[window.xsite.other, typeof window.xsite.query.compile]") == [
        1,
        "function",
    ]
    assert watched.problems == []


# -- random queries, Python against JavaScript -------------------------------------------------

FIELDS = ["metrics.val/acc", "metrics.train/loss", "metrics.`val acc (%)`", "metrics.big",
          "metrics.constructor", "params.lr", "params.optimizer.name", "params.layers",
          "params.flag", "params.nested.list", "params.emoji", "status", "tags", "name", "id",
          "notes", "started_at", "ended_at", "duration_s", "foo"]  # fmt: skip
OPS = ["=", "==", "!=", "<", "<=", ">", ">=", "contains", "in", "not in", "!"]
VALUES = ['"adam"', "'cnn'", "0.9", "-1", "1e999", "true", "null", '"2026-11-20"', '"ｚ"',
          '"🚀"', "64", '"NaN"', "finished", '"Infinity"', '""']  # fmt: skip
WORDS = ["cnn", "adam", "baseline", "0.01", "'x y'", "🚀", "and", "or", "not", "(", ")", ",",
         "`", '"', "status", "metrics.", "in"]  # fmt: skip


def random_query(rng: random.Random) -> str:
    def condition() -> str:
        field, op = rng.choice(FIELDS), rng.choice(OPS)
        if op.endswith("in"):
            return f"{field} {op} ({', '.join(rng.choices(VALUES, k=rng.randint(0, 3)))})"
        return f"{field} {op} {rng.choice(VALUES)}"

    def expr(depth: int) -> str:
        r = rng.random()
        if depth > 3 or r < 0.4:
            return condition() if rng.random() < 0.7 else rng.choice(WORDS[:6])
        if r < 0.55:
            return "not " + expr(depth + 1)
        if r < 0.7:
            return f"({expr(depth + 1)})"
        return expr(depth + 1) + rng.choice([" and ", " or ", " ", " AND "]) + expr(depth + 1)

    words = expr(0).split(" ")
    if rng.random() < 0.3:  # break it: most of these are syntax errors
        k = rng.randrange(len(words))
        if rng.random() < 0.5:
            del words[k]
        else:
            words.insert(k, rng.choice(WORDS + OPS + VALUES))
    return ("" if rng.random() < 0.1 else " ").join(words)


def python_outcome(text: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    try:
        query = parse(text)
    except QuerySyntaxError as error:
        # Python counts code points and JavaScript UTF-16 code units: compare in the latter.
        units = len(text[: error.position].encode("utf-16-le")) // 2
        message = str(error).replace(f"position {error.position}", f"position {units}", 1)
        return {"error": {"position": units, "message": message, "name": "QuerySyntaxError"}}
    return {"ids": [row["id"] for row in rows if query.matches(row)]}


def test_random_queries_agree_with_python(page: Page) -> None:
    rng = random.Random(20261120)
    queries = [random_query(rng) for _ in range(1500)]
    rows = TABLE["rows"]
    results = page.evaluate(RUN_QUERIES, [rows, queries, False])
    expected = [python_outcome(text, rows) for text in queries]
    wrong = [(q, e, g) for q, e, g in zip(queries, expected, results, strict=True) if e != g]
    assert wrong == []
    errors = sum("error" in e for e in expected)
    assert 300 < errors < 1200  # both sides of the grammar are exercised
