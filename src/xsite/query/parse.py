"""The run query language: tokenizer and recursive-descent parser.

The grammar (EBNF; keywords are case-insensitive, whitespace separates tokens)::

    query      = [ or_expr ] ;                      (* an empty query matches every run *)
    or_expr    = and_expr { "or" and_expr } ;
    and_expr   = not_expr { [ "and" ] not_expr } ;  (* side by side means "and" *)
    not_expr   = "not" not_expr | atom ;
    atom       = "(" or_expr ")" | condition | text ;
    condition  = field ( compare_op value
                       | "contains" value
                       | [ "not" ] "in" "(" value { "," value } ")" ) ;
    compare_op = "=" | "==" | "!=" | "<" | "<=" | ">" | ">=" ;
    field      = ( "metrics" | "params" ) "." ( key | "`" quoted "`" ) | attribute ;
    attribute  = "id" | "run_id" | "name" | "project" | "status" | "tags"
               | "started_at" | "ended_at" | "duration_s" | "notes" ;
    value      = string | number | "true" | "false" | "null" ;
    text       = word | string | number ;           (* a free-text term *)
    string     = "'" quoted "'" | '"' quoted '"' ;  (* \\ escapes ' " ` and \\ *)
    number     = [ "-" ] ( digits [ "." [ digits ] ] | "." digits ) [ ("e"|"E") ["+"|"-"] digits ] ;
    key, word  = a run of characters up to whitespace or one of ( ) = ! < > , ;

A word is a field when an operator, ``contains``, ``in`` or ``not in`` follows it, and must
then be an attribute; anywhere else it is a free-text term. Positions are 0-based indices
into the query string (code points here; the JavaScript twin counts UTF-16 code units, so
each indexes its own language's strings).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, cast

from xsite.errors import XsiteError

Value = str | float | bool | None
FieldKind = Literal["metrics", "params", "attr", "text"]
Operator = Literal["=", "!=", "<", "<=", ">", ">=", "contains"]

ATTRIBUTES = (
    "id",
    "name",
    "project",
    "status",
    "tags",
    "started_at",
    "ended_at",
    "duration_s",
    "notes",
)
ALIASES = {"run_id": "id"}
ORDERING = frozenset({"<", "<=", ">", ">="})

_WHITESPACE = frozenset(" \t\n\r\f\v")
_STOP = _WHITESPACE | frozenset("()=!<>,")
_ESCAPABLE = frozenset("'\"`\\")
_KEYWORDS = frozenset({"and", "or", "not", "contains", "in"})
_LITERALS: dict[str, Value] = {"true": True, "false": False, "null": None}
_PREFIXES: dict[str, FieldKind] = {"metrics.": "metrics", "params.": "params"}
_NUMBER = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")


class QuerySyntaxError(XsiteError):
    """A query that cannot be parsed; ``position`` is the 0-based index of the problem."""

    def __init__(self, reason: str, position: int, hint: str = "") -> None:
        self.reason = reason
        self.position = position
        self.message = f"{reason} at position {position}" + (f" ({hint})" if hint else "")
        super().__init__(self.message)


# -- the syntax tree ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    """What a condition reads: ``kind`` ``metrics``/``params`` with the key, or ``attr`` with
    the attribute's name. ``text`` is the free-text haystack that getters also provide."""

    kind: FieldKind
    key: str


TEXT_FIELD = Field("text", "")


@dataclass(frozen=True)
class Compare:
    field: Field
    op: Operator
    value: Value


@dataclass(frozen=True)
class In:
    field: Field
    values: tuple[Value, ...]
    negated: bool


@dataclass(frozen=True)
class Text:
    """A free-text term, lower-cased."""

    term: str


@dataclass(frozen=True)
class Not:
    operand: Expr


@dataclass(frozen=True)
class And:
    operands: tuple[Expr, ...]


@dataclass(frozen=True)
class Or:
    operands: tuple[Expr, ...]


Expr = Compare | In | Text | Not | And | Or


# -- tokens -------------------------------------------------------------------------------------

TokenKind = Literal["(", ")", ",", "op", "string", "number", "word", "keyword", "field"]
_PUNCTUATION: dict[str, TokenKind] = {"(": "(", ")": ")", ",": ","}


@dataclass(frozen=True)
class Token:
    kind: TokenKind
    raw: str  # the source text, as error messages quote it
    pos: int
    value: str | float = ""  # the string, number, lower-cased keyword or operator
    field: Field | None = None


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in _WHITESPACE:
            i += 1
        elif c in "(),":
            tokens.append(Token(_PUNCTUATION[c], c, i))
            i += 1
        elif c in "=!<>":
            two = text[i : i + 2]
            if two in ("==", "!=", "<=", ">="):
                tokens.append(Token("op", two, i, "=" if two == "==" else two))
                i += 2
            elif c == "!":
                raise QuerySyntaxError("unexpected '!'", i, "did you mean '!='?")
            else:
                tokens.append(Token("op", c, i, c))
                i += 1
        elif c in "'\"":
            value, end = _quoted(text, i, "string")
            tokens.append(Token("string", text[i:end], i, value))
            i = end
        elif c == "`":
            raise QuerySyntaxError("a `quoted` key needs metrics. or params. before it", i)
        else:
            token, i = _word(text, i)
            tokens.append(token)
    return tokens


def _quoted(text: str, start: int, what: str) -> tuple[str, int]:
    """The content of the quoted run at ``start`` and the index just after it."""
    quote, chars, j = text[start], [], start + 1
    while j < len(text):
        c = text[j]
        if c == "\\" and j + 1 < len(text) and text[j + 1] in _ESCAPABLE:
            chars.append(text[j + 1])
            j += 2
        elif c == quote:
            return "".join(chars), j + 1
        else:
            chars.append(c)
            j += 1
    raise QuerySyntaxError(f"unterminated {what}", start)


def _word(text: str, start: int) -> tuple[Token, int]:
    j = start
    while j < len(text) and text[j] not in _STOP:
        if text[j] == "`" and (prefix := text[start:j].lower()) in _PREFIXES:
            key, end = _quoted(text, j, "quoted key")
            if end < len(text) and text[end] not in _STOP:
                raise QuerySyntaxError("unexpected character after a quoted key", end)
            field = Field(_PREFIXES[prefix], key)
            return Token("field", text[start:end], start, field=field), end
        j += 1
    raw = text[start:j]
    lower = raw.lower()
    if lower in _KEYWORDS:
        return Token("keyword", raw, start, lower), j
    if _NUMBER.match(raw):
        return Token("number", raw, start, float(raw)), j
    for prefix, kind in _PREFIXES.items():
        if lower.startswith(prefix):
            if len(raw) == len(prefix):
                raise QuerySyntaxError(f"expected a key after '{raw}'", j)
            field = Field(kind, raw[len(prefix) :])
            return Token("field", raw, start, field=field), j
    return Token("word", raw, start), j


# -- the parser ---------------------------------------------------------------------------------


def parse_expr(text: str) -> Expr | None:
    """The syntax tree of ``text``; None for an empty query."""
    parser = _Parser(text)
    if parser.peek() is None:
        return None
    expr = parser.or_expr()
    token = parser.peek()
    if token is not None:
        raise QuerySyntaxError(f"unexpected '{token.raw}'", token.pos)
    return expr


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0

    def peek(self, ahead: int = 0) -> Token | None:
        i = self.index + ahead
        return self.tokens[i] if i < len(self.tokens) else None

    def next(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def here(self) -> int:
        token = self.peek()
        return len(self.text) if token is None else token.pos

    def is_keyword(self, word: str, ahead: int = 0) -> bool:
        token = self.peek(ahead)
        return token is not None and token.kind == "keyword" and token.value == word

    def or_expr(self) -> Expr:
        operands = [self.and_expr()]
        while self.is_keyword("or"):
            self.next()
            operands.append(self.and_expr())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def and_expr(self) -> Expr:
        operands = [self.not_expr()]
        while True:
            if self.is_keyword("and"):
                self.next()
            elif not self.starts_operand():
                break
            operands.append(self.not_expr())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def starts_operand(self) -> bool:
        token = self.peek()
        if token is None:
            return False
        if token.kind == "keyword":
            return token.value == "not"
        return token.kind in ("(", "field", "word", "string", "number")

    def not_expr(self) -> Expr:
        if self.is_keyword("not"):
            self.next()
            return Not(self.not_expr())
        return self.atom()

    def atom(self) -> Expr:
        token = self.peek()
        if token is None or not self.starts_operand():
            previous = self.tokens[self.index - 1] if self.index else None
            after = f" after '{previous.raw}'" if previous else ""
            raise QuerySyntaxError(f"expected a condition{after}", self.here())
        self.next()
        if token.kind == "(":
            expr = self.or_expr()
            closing = self.peek()
            if closing is None or closing.kind != ")":
                raise QuerySyntaxError("expected ')'", self.here())
            self.next()
            return expr
        if token.kind == "field":
            assert token.field is not None
            return self.condition(token, token.field)
        if token.kind == "word" and self.starts_condition():
            name = token.raw.lower()
            name = ALIASES.get(name, name)
            if name not in ATTRIBUTES:
                raise QuerySyntaxError(
                    f"unknown field '{token.raw}'",
                    token.pos,
                    f"did you mean metrics.{token.raw} or params.{token.raw}? "
                    "Quote text to search for it",
                )
            return self.condition(token, Field("attr", name))
        if token.kind == "string":
            return Text(str(token.value).lower())
        return Text(token.raw.lower())

    def starts_condition(self) -> bool:
        token = self.peek()
        if token is None:
            return False
        if token.kind == "op" or self.is_keyword("contains") or self.is_keyword("in"):
            return True
        return self.is_keyword("not") and self.is_keyword("in", 1)

    def condition(self, field_token: Token, field: Field) -> Expr:
        token = self.peek()
        if token is not None and token.kind == "op":
            self.next()
            op = str(token.value)
            if field == Field("attr", "tags") and op in ORDERING:
                raise QuerySyntaxError(
                    f"tags can't be compared with '{token.raw}'; use =, contains or in", token.pos
                )
            value, value_pos = self.value(token)
            if op in ORDERING and (value is None or isinstance(value, bool)):
                raise QuerySyntaxError(
                    f"expected a number or a string after '{token.raw}'", value_pos
                )
            return Compare(field, cast(Operator, op), value)
        if self.is_keyword("contains"):
            keyword = self.next()
            value, value_pos = self.value(keyword)
            if value is None:
                raise QuerySyntaxError(
                    f"expected a string, number or boolean after '{keyword.raw}'", value_pos
                )
            return Compare(field, "contains", value)
        negated = self.is_keyword("not") and self.is_keyword("in", 1)
        if negated:
            self.next()
        if self.is_keyword("in"):
            return In(field, self.value_list(self.next()), negated)
        raise QuerySyntaxError(f"expected an operator after '{field_token.raw}'", self.here())

    def value(self, after: Token) -> tuple[Value, int]:
        token = self.peek()
        position = self.here()
        if token is not None:
            if token.kind in ("string", "number"):
                self.next()
                return token.value, position
            literal = token.raw.lower()
            if token.kind == "word" and literal in _LITERALS:
                self.next()
                return _LITERALS[literal], position
            if token.kind == "word":
                raise QuerySyntaxError(
                    f"expected a value after '{after.raw}'",
                    position,
                    f'put text in quotes: "{token.raw}"',
                )
        raise QuerySyntaxError(f"expected a value after '{after.raw}'", position)

    def value_list(self, in_token: Token) -> tuple[Value, ...]:
        opening = self.peek()
        if opening is None or opening.kind != "(":
            raise QuerySyntaxError(f"expected '(' after '{in_token.raw}'", self.here())
        self.next()
        values = [self.value(opening)[0]]
        while True:
            token = self.peek()
            if token is not None and token.kind == ")":
                self.next()
                return tuple(values)
            if token is None or token.kind != ",":
                raise QuerySyntaxError("expected ',' or ')'", self.here())
            self.next()
            values.append(self.value(token)[0])
