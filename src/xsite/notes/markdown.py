"""Markdown of notes, note files and run notes alike: one renderer, one sanitizer.

CommonMark with tables, strikethrough, footnotes, task lists, heading anchors, code
highlighting (Pygments) and ``$math$`` (MathML, which browsers draw without a script), plus
two things of xsite's own:

- ``[[run id or name]]`` (or ``[[run|label]]``) links to a run;
- fenced ``xsite-chart``, ``xsite-table`` and ``xsite-compare`` blocks
  (:mod:`xsite.notes.blocks`).

Raw HTML is allowed, then everything is cleaned by an allow-list sanitizer (nh3): no script,
no event handler, no ``javascript:`` URL, no frame survives. The blocks xsite itself renders
are put in after cleaning, behind a per-render secret that a note cannot forge.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape
from typing import Any, NamedTuple, Protocol

import nh3
from latex2mathml.converter import convert as latex_to_mathml
from markdown_it import MarkdownIt
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token
from markupsafe import Markup
from mdit_py_plugins.anchors import anchors_plugin
from mdit_py_plugins.dollarmath import dollarmath_plugin
from mdit_py_plugins.footnote import footnote_plugin
from mdit_py_plugins.tasklists import tasklists_plugin
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

from xsite.errors import XsiteError

MAX_CHARS = 200_000
"""Longer Markdown is cut: pathological input renders in superlinear time."""
BLOCK_PREFIX = "xsite-"
"""Fenced blocks whose info string starts with this are xsite's blocks."""

_WIKI_LINK = re.compile(r"\[\[([^\[\]|\n]+?)(?:\|([^\[\]\n]+?))?\]\]")
_MATHML = {
    "math", "mi", "mn", "mo", "ms", "mtext", "mspace", "mrow", "mfrac", "msqrt", "mroot",
    "mstyle", "merror", "mpadded", "mphantom", "msub", "msup", "msubsup", "munder", "mover",
    "munderover", "mtable", "mtr", "mtd", "semantics", "annotation", "menclose",
}  # fmt: skip
_MATHML_ATTRIBUTES = {
    "display", "mathvariant", "stretchy", "fence", "separator", "lspace", "rspace",
    "displaystyle", "scriptlevel", "columnalign", "rowalign", "columnspacing", "rowspacing",
    "width", "height", "depth", "linethickness", "accent", "accentunder", "movablelimits",
    "notation", "encoding", "minsize", "maxsize", "symmetric", "largeop",
}  # fmt: skip
_ALLOWED_TAGS = (nh3.ALLOWED_TAGS - {"map", "area"}) | _MATHML | {"input", "section", "sup"}
_ALLOWED_ATTRIBUTES: dict[str, set[str]] = {
    "*": {"class", "id", "title", "lang", "dir"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height", "loading"},
    "input": {"type", "checked", "disabled"},
    "th": {"style", "colspan", "rowspan", "scope"},
    "td": {"style", "colspan", "rowspan"},
    "ol": {"start", "type"},
    "code": set(),
    **{tag: _MATHML_ATTRIBUTES for tag in _MATHML},
}
_INLINE_SCHEME = "xsite-inline"
_URL_SCHEMES = {"http", "https", "mailto", _INLINE_SCHEME}


class Links(Protocol):
    """What a page's Markdown links to, resolved by whoever renders it."""

    def run(self, target: str) -> LinkedRun | None:
        """The run a ``[[target]]`` names (by id or name); None if none."""

    def rewrite(self, url: str, image: bool) -> str:
        """A link or image URL of the Markdown, as the page should use it."""

    def block(self, kind: str, source: str, line: int) -> str:
        """The trusted HTML of an ``xsite-<kind>`` block; raises an
        :class:`~xsite.errors.XsiteError` whose message says what is wrong with it."""


class LinkedRun(NamedTuple):
    id: str
    url: str
    """As the page links it."""
    name: str


@dataclass(frozen=True)
class Reference:
    """A ``[[target]]`` of the Markdown, and the run it names (None: no such run)."""

    target: str
    line: int
    run_id: str | None


@dataclass
class Rendered:
    html: Markup
    references: list[Reference] = field(default_factory=list)
    blocks: list[str] = field(default_factory=list)
    """The kinds of the xsite blocks in it (``chart``, ``table``…), in order."""
    problems: list[str] = field(default_factory=list)
    """What is wrong in it (a bad block, an unknown run), each with its line."""


class PlainLinks:
    """Links of Markdown shown without a site around it: no run, URLs as written, blocks
    shown as code."""

    def run(self, target: str) -> LinkedRun | None:
        return None

    def rewrite(self, url: str, image: bool) -> str:
        return url

    def block(self, kind: str, source: str, line: int) -> str:
        return f'<pre class="xs-code"><code>{escape(source)}</code></pre>'


def render(text: str | None, links: Links | None = None, *, first_line: int = 1) -> Rendered:
    """``text`` as safe HTML. ``first_line`` is the file line of the text's first line, so
    problems name lines of the file (front matter comes before the text)."""
    if not text:
        return Rendered(Markup(""))
    links = links or PlainLinks()
    if len(text) > MAX_CHARS:
        text = text[:MAX_CHARS] + f"\n\n*(cut at {MAX_CHARS:,} characters)*"
    rendered = Rendered(Markup(""))
    secret = secrets.token_hex(16)
    blocks: dict[str, str] = {}
    env: dict[str, Any] = {"links": links, "rendered": rendered}
    tokens = _MARKDOWN.parse(text, env)
    images = _resolve(tokens, links, rendered, first_line, secret)
    for token in _walk(tokens):
        if token.type == "fence" and token.info.strip().startswith(BLOCK_PREFIX):
            kind = token.info.strip().split()[0].removeprefix(BLOCK_PREFIX)
            line = first_line + (token.map[0] if token.map else 0)
            slot = f"{secret}-{len(blocks)}"
            blocks[slot] = _block(links, kind, token.content, line, rendered)
            token.meta["slot"] = slot
    html = _sanitize(_MARKDOWN.renderer.render(tokens, _MARKDOWN.options, env))
    for slot, block_html in blocks.items():
        html = html.replace(_slot(slot), block_html)
    for placeholder, uri in images.items():
        html = html.replace(f'src="{placeholder}"', f'src="{escape(uri)}"')
    rendered.html = Markup(html)
    return rendered


def references(text: str | None) -> list[str]:
    """The ``[[target]]``s of Markdown, in order (those in code are none)."""
    if not text or "[[" not in text:
        return []
    found: list[str] = []
    for token in _walk(_MARKDOWN.parse(text[:MAX_CHARS], {})):
        if token.type == "wikilink":
            found.append(token.meta["target"])
    return found


def highlight_css() -> str:
    """The stylesheet of highlighted code, light and dark."""
    light = HtmlFormatter(style="default").get_style_defs(".xs-markdown pre")
    dark = HtmlFormatter(style="github-dark").get_style_defs(".xs-markdown pre")
    return f"{light}\n@media (prefers-color-scheme: dark) {{\n{dark}\n}}\n"


def _block(links: Links, kind: str, source: str, line: int, rendered: Rendered) -> str:
    try:
        html = links.block(kind, source, line)
    except XsiteError as error:
        message = f"line {line}: xsite-{kind} block: {error}"
        rendered.problems.append(message)
        return f'<p class="xs-block-error" role="alert">{escape(message)}</p>'
    rendered.blocks.append(kind)
    return html


def _resolve(
    tokens: list[Token], links: Links, rendered: Rendered, first_line: int, secret: str
) -> dict[str, str]:
    """Resolve ``[[target]]`` links and rewrite URLs, with the line of each. Returns the
    ``data:`` images :meth:`Links.rewrite` made, by the placeholder URL that stands for each
    until the HTML is clean (the sanitizer lets no ``data:`` URL through)."""
    images: dict[str, str] = {}
    line = first_line
    for block in tokens:
        if block.map:
            line = first_line + block.map[0]
        for token in [block, *(block.children or [])]:
            if token.type in ("softbreak", "hardbreak"):
                line += 1
            elif token.type == "wikilink":
                target = token.meta["target"]
                found = links.run(target)
                token.meta["run"] = found
                rendered.references.append(Reference(target, line, found.id if found else None))
                if found is None:
                    rendered.problems.append(f"line {line}: [[{target}]] names no run")
            elif token.type in ("link_open", "image"):
                attribute = "src" if token.type == "image" else "href"
                url = token.attrGet(attribute)
                if not isinstance(url, str):
                    continue
                url = links.rewrite(url, image=token.type == "image")
                if token.type == "image" and url.startswith("data:image/"):
                    placeholder = f"{_INLINE_SCHEME}:{secret}-{len(images)}"
                    images[placeholder], url = url, placeholder
                token.attrSet(attribute, url)
    return images


def _walk(tokens: list[Token]) -> list[Token]:
    flat: list[Token] = []
    for token in tokens:
        flat.append(token)
        if token.children:
            flat.extend(_walk(token.children))
    return flat


def _sanitize(html: str) -> str:
    return nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        attribute_filter=_filter_attribute,
        url_schemes=_URL_SCHEMES,
        filter_style_properties={"text-align"},
        # Task lists are the only inputs of a note: every input is a disabled checkbox.
        set_tag_attribute_values={"input": {"type": "checkbox", "disabled": "disabled"}},
        link_rel="noopener noreferrer",
    )


def _filter_attribute(tag: str, name: str, value: str) -> str | None:
    # The page's own elements have ids starting "xs-"; a note must not shadow them.
    if name == "id" and value.lower().startswith("xs-"):
        return None
    return value


def _slot(slot: str) -> str:
    return f'<div class="xs-block-slot">{slot}</div>'


# --------------------------------------------------------------------------- the parser


def _wiki_link(state: StateInline, silent: bool) -> bool:
    if not state.src.startswith("[[", state.pos):
        return False
    match = _WIKI_LINK.match(state.src, state.pos)
    if match is None:
        return False
    if not silent:
        token = state.push("wikilink", "", 0)
        token.meta = {"target": match.group(1).strip(), "label": (match.group(2) or "").strip()}
    state.pos = match.end()
    return True


def _render_wiki_link(self: Any, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
    meta = tokens[idx].meta
    found: LinkedRun | None = meta.get("run")
    if found is None:
        target = escape(meta["target"])
        return f'<span class="xs-broken-ref" title="no such run">[[{target}]]</span>'
    label = meta["label"] or found.name
    return f'<a class="xs-run-link" href="{escape(found.url)}">{escape(label)}</a>'


def _render_fence(self: Any, tokens: list[Token], idx: int, options: Any, env: Any) -> str:
    token = tokens[idx]
    if "slot" in token.meta:
        return _slot(token.meta["slot"]) + "\n"
    return _default_fence(tokens, idx, options, env)


def _highlight(code: str, language: str, attributes: str) -> str:
    if not language:
        return ""
    try:
        lexer = get_lexer_by_name(language)
    except ClassNotFound:
        return ""
    return highlight(code, lexer, HtmlFormatter(nowrap=True))


def _math(content: str, options: dict[str, Any]) -> str:
    display = "block" if options.get("display_mode") else "inline"
    try:
        return latex_to_mathml(content, display=display)
    except Exception:  # the converter raises many kinds of errors on TeX it does not know
        return f'<code class="xs-math-error" title="not TeX it knows">{escape(content)}</code>'


def _make_markdown() -> tuple[MarkdownIt, Callable[..., str]]:
    md = (
        MarkdownIt("commonmark", {"html": True, "typographer": False, "highlight": _highlight})
        .enable(["table", "strikethrough"])
        .use(footnote_plugin)
        .use(tasklists_plugin)
        .use(anchors_plugin, min_level=1, max_level=4, permalink=True, permalinkSymbol="#")
        .use(
            dollarmath_plugin,
            renderer=_math,
            allow_digits=False,  # "$5 and $10" is money
            allow_space=False,
            double_inline=True,
        )
    )
    md.inline.ruler.before("link", "wikilink", _wiki_link)
    default_fence = md.renderer.rules["fence"]  # type: ignore[attr-defined]  # RendererHTML
    md.add_render_rule("wikilink", _render_wiki_link)
    md.add_render_rule("fence", _render_fence)
    return md, default_fence


_MARKDOWN, _fence_rule = _make_markdown()


def _default_fence(tokens: list[Token], idx: int, options: Any, env: Any) -> str:
    return _fence_rule(tokens, idx, options, env)
