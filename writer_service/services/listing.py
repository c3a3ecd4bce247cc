"""Every List of the service: filter, search, order_by, keyset pagination and page tokens.

A resource describes what may be filtered and ordered in a `ListSpec`; `list_page` does the rest.
Pages are keyset pages (WHERE (k1, id) > (last values)), so page 1,000 costs what page 1 costs.
A page token carries the last row's sort values and a fingerprint of the query it belongs to: a
token sent with another query is INVALID_ARGUMENT.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, literal, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from writer_service.domain import query as q
from writer_service.domain.errors import InvalidArgument
from writer_service.tenancy.context import TenantContext
from writer_service.tenancy.scoping import scoped

FIELD_KINDS = ("str", "enum", "int", "id", "bool", "time")


@dataclass(frozen=True)
class FilterField:
    """A field a List may filter on: its column, its kind and, for enums, the allowed values."""

    column: InstrumentedAttribute[Any]
    kind: str
    choices: tuple[str, ...] = ()
    # For a field that is not a column of the model (content's taxonomy_term_id): builds the SQL
    # condition from the operator and the checked value.
    condition: Callable[[str, Any], ColumnElement[bool]] | None = None


@dataclass(frozen=True)
class ListSpec:
    """What one resource's List accepts."""

    model: type[Any]
    filters: dict[str, FilterField]
    order_fields: dict[str, InstrumentedAttribute[Any]]
    search_columns: tuple[InstrumentedAttribute[Any], ...] = ()
    default_order: str = "create_time desc"


@dataclass(frozen=True)
class ListQuery:
    """The List parameters of a request, as plain values."""

    page_size: int = 0
    page_token: str = ""
    order_by: str = ""
    filter: str = ""
    search: str = ""
    show_deleted: bool = False
    site_id: int = 0
    sector_id: int = 0


@dataclass
class Page:
    """One page of rows and the token of the next (empty: this was the last)."""

    items: list[Any]
    next_page_token: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _parse_time(raw: Any, where: str) -> datetime:
    if not isinstance(raw, str):
        raise InvalidArgument.of(where, "timestamps are quoted RFC 3339 text")
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidArgument.of(where, f"not an RFC 3339 timestamp: {raw!r}") from None
    if value.tzinfo is None:
        raise InvalidArgument.of(where, f"timestamp needs a zone (e.g. Z): {raw!r}")
    return value


def _coerce(spec_field: FilterField, name: str, value: Any) -> Any:
    where = "filter"
    kind = spec_field.kind
    if kind in ("str", "enum"):
        if not isinstance(value, str):
            raise InvalidArgument.of(where, f"{name} takes a quoted string")
        if kind == "enum" and value not in spec_field.choices:
            raise InvalidArgument.of(where, f"{name} must be one of {', '.join(spec_field.choices)}")
        return value
    if kind in ("int", "id"):
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidArgument.of(where, f"{name} takes an integer")
        return value
    if kind == "bool":
        if not isinstance(value, bool):
            raise InvalidArgument.of(where, f"{name} takes true or false")
        return value
    return _parse_time(value, where)


def filter_conditions(spec: ListSpec, text: str) -> list[ColumnElement[bool]]:
    """SQL conditions of a filter text, checked against the spec's fields."""
    conditions: list[ColumnElement[bool]] = []
    for term in q.parse_filter(text):
        spec_field = spec.filters.get(term.field)
        if spec_field is None:
            allowed = ", ".join(sorted(spec.filters)) or "none"
            raise InvalidArgument.of("filter", f"cannot filter on {term.field!r}; fields: {allowed}")
        if term.op not in ("=", "!=") and spec_field.kind in ("str", "enum", "bool"):
            raise InvalidArgument.of("filter", f"{term.field} takes only = and !=")
        column = spec_field.column
        value = _coerce(spec_field, term.field, term.value)
        if spec_field.condition is not None:
            conditions.append(spec_field.condition(term.op, value))
            continue
        if spec_field.kind == "id" and value == 0:
            conditions.append(column.is_(None) if term.op == "=" else column.is_not(None))
            continue
        ops = {"=": column.__eq__, "!=": column.__ne__, "<": column.__lt__, "<=": column.__le__,
               ">": column.__gt__, ">=": column.__ge__}
        conditions.append(ops[term.op](value))
    return conditions


def search_condition(spec: ListSpec, text: str) -> ColumnElement[bool] | None:
    """Case-insensitive substring match of `text` on the spec's search columns."""
    text = text.strip()
    if not text:
        return None
    if len(text) > q.MAX_SEARCH_LENGTH:
        raise InvalidArgument.of("search", f"must be at most {q.MAX_SEARCH_LENGTH} characters")
    if not spec.search_columns:
        raise InvalidArgument.of("search", "this List has no free-text search")
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return or_(*(column.ilike(pattern, escape="\\") for column in spec.search_columns))


def order_terms(spec: ListSpec, text: str) -> list[tuple[str, InstrumentedAttribute[Any], bool]]:
    """(name, column, descending) of the order, whitelisted, with id as the final tie-breaker."""
    terms = q.parse_order_by(text or spec.default_order)
    out: list[tuple[str, InstrumentedAttribute[Any], bool]] = []
    for term in terms:
        column = spec.order_fields.get(term.field)
        if column is None:
            allowed = ", ".join(sorted(spec.order_fields))
            raise InvalidArgument.of("order_by", f"cannot order by {term.field!r}; fields: {allowed}")
        if term.field in (name for name, _, _ in out):
            raise InvalidArgument.of("order_by", f"{term.field!r} appears twice")
        out.append((term.field, column, term.descending))
    if "id" not in (name for name, _, _ in out):
        out.append(("id", spec.model.id, out[-1][2] if out else False))
    return out


def _fingerprint(list_query: ListQuery, tenant: TenantContext) -> str:
    basis = json.dumps([list_query.order_by, list_query.filter, list_query.search.strip(), list_query.show_deleted,
                        list_query.site_id, list_query.sector_id, tenant.account_id, tenant.site_id,
                        tenant.sector_id])
    return hashlib.sha256(basis.encode()).hexdigest()[:16]


def _encode_value(value: Any) -> Any:
    return {"t": value.isoformat()} if isinstance(value, datetime) else value


def _decode_value(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"t"}:
        return datetime.fromisoformat(value["t"])
    return value


def encode_token(fingerprint: str, values: Sequence[Any]) -> str:
    """An opaque page token holding the query's fingerprint and the last row's sort values."""
    raw = json.dumps({"q": fingerprint, "k": [_encode_value(v) for v in values]}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_token(token: str, fingerprint: str, size: int) -> list[Any]:
    """The sort values in a page token; INVALID_ARGUMENT if it is not one of this query's."""
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        values = [_decode_value(v) for v in data["k"]]
        bound_to = data["q"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise InvalidArgument.of("page_token", "is not a page token of this List") from None
    if bound_to != fingerprint or len(values) != size:
        raise InvalidArgument.of(
            "page_token", "belongs to another query: send the same filter, order_by, search and show_deleted"
        )
    return values


def _after(terms: list[tuple[str, InstrumentedAttribute[Any], bool]], values: list[Any]) -> ColumnElement[bool]:
    """Rows strictly after `values` in the order of `terms` (any mix of directions).

    The condition must narrow the index range, or a deep page reads every row before it: one
    direction over NOT NULL columns is a row comparison, `(k, id) < (:k, :id)`, which is an index
    condition on PostgreSQL and SQLite alike; other orders spell out the steps and put the first
    column's bound in front, so that the index range starts at the last row's value.
    """
    columns = [column for _, column, _ in terms]
    descending = terms[0][2]
    if all(desc == descending for _, _, desc in terms) and not any(map(_nullable, columns)) \
            and None not in values:
        keys = tuple_(*columns)
        bound = tuple_(*(literal(value, column.type) for column, value in zip(columns, values, strict=True)))
        return keys < bound if descending else keys > bound
    clauses = []
    for i, (_, column, desc) in enumerate(terms):
        equal_prefix = [terms[j][1] == values[j] for j in range(i)]  # "== None" is IS NULL
        clauses.append(and_(*equal_prefix, _step(column, values[i], desc)))
    steps = or_(*clauses)
    first, first_value = columns[0], values[0]
    if _nullable(first) or first_value is None:
        return steps
    return and_(first <= first_value if descending else first >= first_value, steps)


def _nullable(column: InstrumentedAttribute[Any]) -> bool:
    return bool(getattr(column.expression, "nullable", False))


def _step(column: InstrumentedAttribute[Any], value: Any, descending: bool) -> ColumnElement[bool]:
    """Rows after `value` in one column; NULL sorts as the largest value (see _sort)."""
    if not _nullable(column):
        return column < value if descending else column > value
    if value is None:
        return column.is_not(None) if descending else false()
    return column < value if descending else or_(column > value, column.is_(None))


def _sort(column: InstrumentedAttribute[Any], descending: bool) -> Any:
    """ORDER BY term; a nullable column puts NULL last ascending and first descending on every
    backend (SQLite's default is the opposite of PostgreSQL's), as _step expects."""
    if not _nullable(column):
        return column.desc() if descending else column.asc()
    return column.desc().nulls_first() if descending else column.asc().nulls_last()


@dataclass(frozen=True)
class _PageQuery:
    """The statement of one page (a row more than the page holds) and what makes the next token."""

    stmt: Select[Any]
    size: int
    keys: list[str]  # attribute names of the sort columns, id last
    fingerprint: str


def _page_query(spec: ListSpec, tenant: TenantContext, list_query: ListQuery, stmt: Select[Any] | None) -> _PageQuery:
    size = q.page_size(list_query.page_size)
    terms = order_terms(spec, list_query.order_by)
    fingerprint = _fingerprint(list_query, tenant)
    stmt = scoped(stmt if stmt is not None else select(spec.model), spec.model, tenant,
                  show_deleted=list_query.show_deleted)
    if list_query.site_id:
        stmt = stmt.where(spec.model.site_id == list_query.site_id)
    if list_query.sector_id:
        stmt = stmt.where(spec.model.sector_id == list_query.sector_id)
    stmt = stmt.where(*filter_conditions(spec, list_query.filter))
    searched = search_condition(spec, list_query.search)
    if searched is not None:
        stmt = stmt.where(searched)
    if list_query.page_token:
        stmt = stmt.where(_after(terms, decode_token(list_query.page_token, fingerprint, len(terms))))
    stmt = stmt.order_by(*(_sort(column, desc) for _, column, desc in terms)).limit(size + 1)
    return _PageQuery(stmt=stmt, size=size, keys=[column.key for _, column, _ in terms], fingerprint=fingerprint)


def _page(rows: list[Any], page_query: _PageQuery) -> Page:
    if len(rows) <= page_query.size:
        return Page(items=rows)
    rows = rows[:page_query.size]
    last = rows[-1]
    return Page(items=rows, next_page_token=encode_token(page_query.fingerprint,
                                                         [getattr(last, key) for key in page_query.keys]))


async def list_page(
    session: AsyncSession,
    spec: ListSpec,
    tenant: TenantContext,
    list_query: ListQuery,
    *,
    stmt: Select[Any] | None = None,
    options: Sequence[Any] = (),
) -> Page:
    """One page of the spec's rows the caller may see, as the List request asks."""
    page_query = _page_query(spec, tenant, list_query, stmt)
    paged = page_query.stmt.options(*options) if options else page_query.stmt
    return _page(list((await session.execute(paged)).scalars().unique()), page_query)


async def list_rows(
    connection: AsyncConnection, spec: ListSpec, tenant: TenantContext, list_query: ListQuery, *, stmt: Select[Any]
) -> Page:
    """`list_page` for a List answered from Core rows of `stmt` (the columns of the spec's model and
    what is joined to them) rather than from ORM objects."""
    page_query = _page_query(spec, tenant, list_query, stmt)
    return _page(list((await connection.execute(page_query.stmt)).all()), page_query)
