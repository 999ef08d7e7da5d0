"""Turning a query's syntax tree into a predicate over runs, compiled once into closures.

A getter ``get(row, field)`` reads values out of a row; :func:`default_get` reads the
canonical row shape. Its twin in ``themes/default/static/query.js`` must agree with every
rule here: ``xsite/query/cases.json`` is the table both are tested against.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from typing import Any

from xsite.query.parse import (
    TEXT_FIELD,
    And,
    Compare,
    Expr,
    Field,
    In,
    Not,
    Or,
    Text,
    Value,
)

Row = Mapping[str, Any]
Getter = Callable[[Row, Field], Any]
Predicate = Callable[[Row], bool]
Test = Callable[[Any], bool]

# The site's JSON spells non-finite numbers this way; metrics and params read them back as
# numbers so that a run compares the same in Python and in the browser.
SPELLED = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_TAGS = Field("attr", "tags")


def default_get(row: Row, field: Field) -> Any:
    """Read ``field`` from a canonical row (see ``docs/query.md``)."""
    if field.kind == "attr":
        return row.get(field.key)
    if field.kind == "text":
        return haystack(row)
    return (row.get(field.kind) or {}).get(field.key)


def haystack(row: Row) -> str:
    """What free-text terms search: id, name, status, tags and param values, lower-cased."""
    pieces: list[str] = []
    for key in ("id", "name", "status"):
        _add_text(pieces, row.get(key))
    _add_text(pieces, row.get("tags"))
    _add_text(pieces, list((row.get("params") or {}).values()))
    return "\0".join(pieces).lower()


def _add_text(pieces: list[str], value: Any) -> None:
    if value is None:
        return
    if isinstance(value, str):
        pieces.append(value)
    elif isinstance(value, bool):
        pieces.append("true" if value else "false")
    elif isinstance(value, int | float):
        pieces.append(js_number_text(value))
    elif isinstance(value, Mapping):
        _add_text(pieces, list(value.values()))
    elif isinstance(value, list | tuple):
        for item in value:
            _add_text(pieces, item)


def js_number_text(x: float) -> str:
    """``x`` spelled as JavaScript's ``String(x)`` spells it, so free text matches the same
    runs in both languages (``1e-05`` is ``0.00001`` there, ``1.0`` is ``1``)."""
    if isinstance(x, int) and abs(x) < 2**53:
        return str(x)
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "0"
    if x < 0:
        return "-" + js_number_text(-x)
    # ECMAScript Number::toString: shortest digits s (k of them), value = s × 10^(n − k).
    mantissa, _, exponent = repr(x).partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).lstrip("0")
    scale = int(exponent or 0) - len(fraction)
    stripped = digits.rstrip("0")
    scale += len(digits) - len(stripped)
    s, k = stripped, len(stripped)
    n = scale + k
    if k <= n <= 21:
        return s + "0" * (n - k)
    if 0 < n <= 21:
        return f"{s[:n]}.{s[n:]}"
    if -6 < n <= 0:
        return "0." + "0" * -n + s
    e = n - 1
    sign = "+" if e >= 0 else "-"
    head = s if k == 1 else f"{s[0]}.{s[1:]}"
    return f"{head}e{sign}{abs(e)}"


# -- compiling ----------------------------------------------------------------------------------


def compile_predicate(expr: Expr | None, get: Getter = default_get) -> Predicate:
    """A function ``row -> bool`` for ``expr`` (None, the empty query, matches everything)."""
    if expr is None:
        return lambda row: True
    return _compile(expr, get)


def _compile(expr: Expr, get: Getter) -> Predicate:
    if isinstance(expr, And):
        parts = [_compile(e, get) for e in expr.operands]
        return lambda row: all(p(row) for p in parts)
    if isinstance(expr, Or):
        parts = [_compile(e, get) for e in expr.operands]
        return lambda row: any(p(row) for p in parts)
    if isinstance(expr, Not):
        inner = _compile(expr.operand, get)
        return lambda row: not inner(row)
    if isinstance(expr, Text):
        term = expr.term
        return lambda row: term in (get(row, TEXT_FIELD) or "")
    field = expr.field
    test = _tags_test(expr) if field == _TAGS else _value_test(expr)
    if field.kind == "attr":
        return lambda row: test(get(row, field))
    return lambda row: test(_normal(get(row, field)))


def _normal(value: Any) -> Any:
    """Metric and param values with the site's spelled non-finite numbers read back."""
    if isinstance(value, str):
        return SPELLED.get(value, value)
    if isinstance(value, list | tuple):
        return [_normal(v) for v in value]
    return value


def _value_test(expr: Compare | In) -> Test:
    """The test for one field value; None is a missing value and never compares true,
    except ``= null`` (and ``!= null`` asks that it is present)."""
    if isinstance(expr, In):
        tests = [_compare("!=" if expr.negated else "=", v) for v in expr.values]
        if expr.negated:
            return lambda v: all(t(v) for t in tests)
        return lambda v: any(t(v) for t in tests)
    return _compare(expr.op, expr.value)


def _compare(op: str, literal: Value) -> Test:
    if literal is None:
        return (lambda v: v is None) if op == "=" else (lambda v: v is not None)
    if op == "=":
        return lambda v: v is not None and _equal(v, literal)
    if op == "!=":
        return lambda v: v is not None and not _is_nan(v) and not _equal(v, literal)
    if op == "contains":
        return lambda v: v is not None and _contains(v, literal)
    order = _ORDER[op]
    if isinstance(literal, str):
        return lambda v: isinstance(v, str) and order(*_comparable(v, literal))
    return lambda v: _is_number(v) and order(v, literal)


def _tags_test(expr: Compare | In) -> Test:
    """Tags are a set of labels: =, contains and in ask whether one of them equals a value
    (ignoring case); = null asks whether there are none."""
    values = expr.values if isinstance(expr, In) else (expr.value,)
    negated = expr.negated if isinstance(expr, In) else expr.op == "!="

    def has_any(tags: Any) -> bool:
        tags = tags or []
        return any((not tags) if lit is None else _contains(tags, lit) for lit in values)

    return (lambda tags: not has_any(tags)) if negated else has_any


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _is_nan(v: Any) -> bool:
    return isinstance(v, float) and math.isnan(v)


def _equal(v: Any, literal: str | float | bool) -> bool:
    # No coercion: a number never equals a string, and True is not 1.
    if isinstance(literal, bool):
        return isinstance(v, bool) and v == literal
    if isinstance(literal, str):
        return isinstance(v, str) and v == literal
    return _is_number(v) and v == literal


def _contains(v: Any, literal: str | float | bool) -> bool:
    if isinstance(v, list | tuple):
        return any(_same(item, literal) for item in v)
    return isinstance(v, str) and isinstance(literal, str) and literal.lower() in v.lower()


def _same(item: Any, literal: str | float | bool) -> bool:
    if isinstance(item, str) and isinstance(literal, str):
        return item.lower() == literal.lower()
    return item is not None and _equal(item, literal)


def _bmp(text: str) -> bool:
    return text.isascii() or max(text) < "\U00010000"


def _comparable(a: str, b: str) -> tuple[str, str] | tuple[bytes, bytes]:
    # JavaScript orders strings by UTF-16 code units, which differs from code points only
    # above U+FFFF: only strings with such characters pay for the encoding.
    return (a, b) if _bmp(a) and _bmp(b) else (_utf16(a), _utf16(b))


def _utf16(text: str) -> bytes:
    return text.encode("utf-16-be", "surrogatepass")
