"""Every List of the service: filter, search, order_by, keyset pagination and page tokens.

A resource describes what may be filtered and ordered in a `ListSpec`; `list_page` does the rest.
Pages are keyset pages (see keyset.py), so page 1,000 costs what page 1 costs.
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

from sqlalchemy import ColumnElement, Select, bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from writer_service.db.database import Database
from writer_service.domain import query as q
from writer_service.domain.errors import InvalidArgument
from writer_service.services.keyset import Terms, after, sort_term
from writer_service.tenancy.context import TenantContext
from writer_service.tenancy.scoping import ScopeShape, scope_shape, scope_values, scoped

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


def _filtered(spec: ListSpec, scope: TenantContext | ScopeShape, list_query: ListQuery, stmt: Select[Any] | None
              ) -> Select[Any]:
    """The spec's rows in scope that the query's filter, search, site and sector leave."""
    stmt = scoped(stmt if stmt is not None else select(spec.model), spec.model, scope,
                  show_deleted=list_query.show_deleted)
    if list_query.site_id:
        stmt = stmt.where(spec.model.site_id == list_query.site_id)
    if list_query.sector_id:
        stmt = stmt.where(spec.model.sector_id == list_query.sector_id)
    stmt = stmt.where(*filter_conditions(spec, list_query.filter))
    searched = search_condition(spec, list_query.search)
    return stmt if searched is None else stmt.where(searched)


def _paged(stmt: Select[Any], terms: Terms, keyset: list[Any] | None, size: int) -> Select[Any]:
    """One page of `stmt` (and a row more) after the `keyset` values, if any."""
    if keyset is not None:
        stmt = stmt.where(after(terms, keyset))
    return stmt.order_by(*(sort_term(column, desc) for _, column, desc in terms)).limit(size + 1)


def _page(rows: list[Any], size: int, terms: Terms, fingerprint: str,
          value: Callable[[Any, str], Any] = getattr) -> Page:
    if len(rows) <= size:
        return Page(items=rows)
    rows = rows[:size]
    last = rows[-1]
    return Page(items=rows, next_page_token=encode_token(fingerprint, [value(last, c.key) for _, c, _ in terms]))


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
    size = q.page_size(list_query.page_size)
    terms = order_terms(spec, list_query.order_by)
    fingerprint = _fingerprint(list_query, tenant)
    filtered = _filtered(spec, tenant, list_query, stmt)
    keyset = decode_token(list_query.page_token, fingerprint, len(terms)) if list_query.page_token else None
    paged = _paged(filtered, terms, keyset, size)
    if options:
        paged = paged.options(*options)
    return _page(list((await session.execute(paged)).scalars().unique()), size, terms, fingerprint)


# Statements of list_rows, by query: the filtered rows, and their pages by which token values are NULL.
_KEPT: dict[tuple[Any, ...], Select[Any]] = {}
MAX_KEPT = 2000


def _kept(key: tuple[Any, ...], build: Callable[[], Select[Any]]) -> Select[Any]:
    stmt = _KEPT.get(key)
    if stmt is None:
        if len(_KEPT) >= MAX_KEPT:
            _KEPT.clear()
        stmt = _KEPT[key] = build()
    return stmt


async def list_rows(db: Database, spec: ListSpec, tenant: TenantContext, list_query: ListQuery, *,
                    build: Callable[[ScopeShape], Select[Any]]) -> Page:
    """`list_page` for a List answered from the rows of `build(shape)` (the columns of the spec's
    model and what is joined to them), as dicts, rather than from ORM objects: a hot read
    (Database.fetch).

    Its statements are kept, as KeptSelect keeps them, by everything they are built from (the List
    parameters, the shape of scope): the caller's scope and the page token's values are bound per call.
    """
    size = q.page_size(list_query.page_size)
    terms = order_terms(spec, list_query.order_by)
    fingerprint = _fingerprint(list_query, tenant)
    shape = scope_shape(tenant)
    query = (id(spec), build, shape, list_query.filter, list_query.search, list_query.show_deleted,
             list_query.site_id, list_query.sector_id)
    filtered = _kept(query, lambda: _filtered(spec, shape, list_query, build(shape)))
    values = decode_token(list_query.page_token, fingerprint, len(terms)) if list_query.page_token else None
    nulls = None if values is None else tuple(value is None for value in values)

    def page() -> Select[Any]:
        keyset = None if values is None else [
            None if value is None else bindparam(f"keyset_{i}", type_=column.type)
            for i, ((_, column, _), value) in enumerate(zip(terms, values, strict=True))
        ]
        return _paged(filtered, terms, keyset, size)

    paged = _kept((*query, list_query.order_by, size, nulls), page)
    params = scope_values(tenant) | {f"keyset_{i}": value for i, value in enumerate(values or ()) if value is not None}
    rows = await db.fetch(paged, params)
    return _page(rows.dicts(), size, terms, fingerprint, dict.__getitem__)
