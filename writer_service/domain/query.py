"""The List query language of the contract: `filter` and `order_by` text, parsed into plain terms.

    filter     := comparison { "AND" comparison }
    comparison := field op value
    op         := "=" | "!=" | "<" | "<=" | ">" | ">="
    value      := "quoted string" | integer | true | false

Parsing knows no columns: which fields a List accepts is decided where the query is built.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from writer_service.domain.errors import InvalidArgument

MAX_FILTER_LENGTH = 2000
MAX_FILTER_TERMS = 20
MAX_SEARCH_LENGTH = 200
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500

OPERATORS = ("=", "!=", "<", "<=", ">", ">=")

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<op><=|>=|!=|=|<|>)
      | (?P<number>-?\d+)(?![\w.])
      | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
    )""",
    re.VERBOSE,
)

Value = str | int | bool


@dataclass(frozen=True)
class Comparison:
    """One `field op value` term of a filter."""

    field: str
    op: str
    value: Value


@dataclass(frozen=True)
class OrderTerm:
    """One `field [asc|desc]` term of an order_by."""

    field: str
    descending: bool


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise InvalidArgument.of("filter", f"cannot parse near position {pos}: {text[pos:pos + 20]!r}")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


def _value(kind: str, raw: str) -> Value:
    if kind == "string":
        return re.sub(r"\\(.)", r"\1", raw[1:-1])
    if kind == "number":
        return int(raw)
    if kind == "word" and raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    raise InvalidArgument.of("filter", f"expected a value, got {raw!r} (quote strings)")


def parse_filter(text: str) -> list[Comparison]:
    """The comparisons of a filter (empty text: none)."""
    if len(text) > MAX_FILTER_LENGTH:
        raise InvalidArgument.of("filter", f"must be at most {MAX_FILTER_LENGTH} characters")
    tokens = _tokens(text)
    terms: list[Comparison] = []
    i = 0
    while i < len(tokens):
        if terms:
            kind, raw = tokens[i]
            if kind != "word" or raw.upper() != "AND":
                raise InvalidArgument.of("filter", f"expected AND between comparisons, got {raw!r}")
            i += 1
        if i + 3 > len(tokens):
            raise InvalidArgument.of("filter", "incomplete comparison: expected field op value")
        (fkind, field), (okind, op), (vkind, raw) = tokens[i : i + 3]
        if fkind != "word":
            raise InvalidArgument.of("filter", f"expected a field name, got {field!r}")
        if okind != "op":
            raise InvalidArgument.of("filter", f"expected an operator after {field!r}, got {op!r}")
        terms.append(Comparison(field=field, op=op, value=_value(vkind, raw)))
        i += 3
    if len(terms) > MAX_FILTER_TERMS:
        raise InvalidArgument.of("filter", f"at most {MAX_FILTER_TERMS} comparisons")
    return terms


def parse_order_by(text: str) -> list[OrderTerm]:
    """The terms of an order_by (empty text: none)."""
    terms: list[OrderTerm] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        words = part.split()
        if len(words) > 2 or (len(words) == 2 and words[1].lower() not in ("asc", "desc")):
            raise InvalidArgument.of("order_by", f"expected 'field [asc|desc]', got {part!r}")
        terms.append(OrderTerm(field=words[0], descending=len(words) == 2 and words[1].lower() == "desc"))
    if text.strip() and not terms:
        raise InvalidArgument.of("order_by", f"cannot parse {text!r}")
    return terms


def page_size(requested: int) -> int:
    """The page size to use: default 50, at most 500; negative is invalid."""
    if requested < 0:
        raise InvalidArgument.of("page_size", "must not be negative")
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
