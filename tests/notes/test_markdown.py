"""The Markdown renderer of notes: what it renders, what it links, and what it never lets
through."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

from xsite.notes.blocks import BlockError
from xsite.notes.markdown import MAX_CHARS, LinkedRun, PlainLinks, references, render


class Links(PlainLinks):
    """One run, and blocks drawn as a marked element (the real blocks: test_blocks.py)."""

    def run(self, target: str) -> LinkedRun | None:
        baseline = LinkedRun("r1", "./../../runs/r1/", "baseline")
        return baseline if target in (baseline.id, baseline.name) else None

    def block(self, kind: str, source: str, line: int) -> str:
        if "fail" in source:
            raise BlockError("this block fails")
        return f'<div class="trusted" data-kind="{kind}" onclick="allowed()"></div>'


def html(text: str) -> BeautifulSoup:
    return BeautifulSoup(render(text, Links()).html, "html.parser")


def test_commonmark_with_tables_footnotes_task_lists_anchors_code_and_math() -> None:
    page = html(
        "# Results\n\n| lr | acc |\n|---:|-----|\n| 0.1 | 0.9 |\n\n"
        "Footnote[^1].\n\n[^1]: the detail\n\n- [x] done\n- [ ] open\n\n"
        "```python\ndef f(): return 1\n```\n\n"
        "Loss $\\frac{a}{b}$ and\n\n$$\nx^2\n$$\n\n~~gone~~"
    )
    heading = page.h1
    assert (
        heading["id"] == "results"
        and heading.find("a", class_="header-anchor")["href"] == "#results"
    )
    assert page.table.th["style"] == "text-align:right" and page.table.td.get_text() == "0.1"
    assert page.select_one("sup.footnote-ref a")["href"] == "#fn1"
    boxes = page.select("input.task-list-item-checkbox")
    assert [box.has_attr("checked") for box in boxes] == [True, False]
    assert all(box["type"] == "checkbox" and box.has_attr("disabled") for box in boxes)
    code = page.select_one("pre code.language-python")
    assert code.select_one("span.k").get_text() == "def"  # highlighted by Pygments
    maths = page("math")
    assert [m["display"] for m in maths] == ["inline", "block"]
    assert maths[0].find("mfrac") is not None
    assert page.find("s").get_text() == "gone"


def test_run_links_resolve_by_id_or_name_and_unknown_ones_are_reported() -> None:
    result = render("See [[r1]], [[baseline|the baseline]]\nand [[nope]]. `[[code]]`", Links())
    page = BeautifulSoup(result.html, "html.parser")
    links = page.select("a.xs-run-link")
    assert [(a["href"], a.get_text()) for a in links] == [
        ("./../../runs/r1/", "baseline"),
        ("./../../runs/r1/", "the baseline"),
    ]
    assert page.select_one(".xs-broken-ref").get_text() == "[[nope]]"
    assert [(r.target, r.line, r.run_id) for r in result.references] == [
        ("r1", 1, "r1"),
        ("baseline", 1, "r1"),
        ("nope", 2, None),
    ]
    assert result.problems == ["line 2: [[nope]] names no run"]
    assert references("a [[x]] `[[not code]]`\n\n    [[indented code]]\n") == ["x"]


def test_problems_name_the_line_of_the_file() -> None:
    text = "intro\n\n```xsite-table\nfail: yes\n```\n\n[[missing]]\n"
    result = render(text, Links(), first_line=5)
    assert result.problems == [
        "line 11: [[missing]] names no run",
        "line 7: xsite-table block: this block fails",
    ]
    page = BeautifulSoup(result.html, "html.parser")
    assert "this block fails" in page.select_one(".xs-block-error").get_text()


HOSTILE = """\
<script>window.pwned = 1</script>
<img src="x.png" onerror="window.pwned = 2">
[click](javascript:window.pwned=3) <a href="javascript:window.pwned=4">raw</a>
<a href="JaVaScRiPt:window.pwned=5">case</a> <a href="data:text/html,<script>x</script>">data</a>
<iframe src="https://example.com"></iframe><object data="x.swf"></object><embed src="x">
<svg onload="window.pwned=6"><script>window.pwned=7</script></svg>
<math><maction actiontype="statusline" xlink:href="javascript:alert(1)">x</maction></math>
<form action="https://evil.example"><input type="text" name="q"><button>go</button></form>
<base href="https://evil.example/"><meta http-equiv="refresh" content="0;url=https://evil">
<link rel="stylesheet" href="https://evil.example/x.css"><style>body{display:none}</style>
<p id="xs-search-input" style="position:fixed;top:0">shadow</p>
<td style="text-align:right; background:url(javascript:x)">cell</td>
<div class="xs-block-slot">0-0</div>

$\\href{javascript:alert(1)}{x}$
"""


def test_hostile_markdown_keeps_its_text_and_loses_everything_that_could_act() -> None:
    result = render(HOSTILE, Links())
    page = BeautifulSoup(result.html, "html.parser")
    for tag in ("script", "iframe", "object", "embed", "svg", "form", "base", "meta", "link"):
        assert page.find(tag) is None, tag
    assert page.find("style") is None and page.find("maction") is None
    # Task lists are a note's only inputs: any input is a disabled checkbox.
    assert all(i["type"] == "checkbox" and i.has_attr("disabled") for i in page("input"))
    for element in page.find_all(True):
        for name, value in element.attrs.items():
            assert not name.startswith("on"), element
            text = " ".join(value) if isinstance(value, list) else value
            assert "javascript" not in text.lower(), element
            assert not text.lower().startswith("data:"), element
    assert page.find(id="xs-search-input") is None  # no shadowing of the page's own ids
    assert "shadow" in page.get_text()
    assert page.find(style=lambda s: s and "position" in s) is None
    # A note cannot forge the slot of a trusted block.
    assert page.find(class_="trusted") is None


def test_trusted_blocks_are_put_in_after_sanitizing() -> None:
    page = html("```xsite-chart\nmetric: loss\n```\n\n```python\nx = 1\n```")
    block = page.find(class_="trusted")
    assert block["data-kind"] == "chart" and block["onclick"] == "allowed()"


def test_very_long_markdown_is_cut() -> None:
    result = render("word " * (MAX_CHARS // 4))
    assert "cut at 200,000 characters" in result.html


@pytest.mark.parametrize("text", [None, ""])
def test_no_markdown_renders_nothing(text: str | None) -> None:
    assert render(text).html == ""
