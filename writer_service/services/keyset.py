"""Keyset pagination: the ORDER BY of a List and the condition "after the last row of the page".

Pages are keyset pages (WHERE (k1, id) > (last values)), so page 1,000 costs what page 1 costs,
provided the condition narrows the index range rather than filtering the rows before it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BindParameter, ColumnElement, and_, false, literal, or_, tuple_
from sqlalchemy.orm import InstrumentedAttribute

# (name, column, descending) of each sort term, id last.
Terms = list[tuple[str, InstrumentedAttribute[Any], bool]]


def after(terms: Terms, values: list[Any]) -> ColumnElement[bool]:
    """Rows strictly after `values` in the order of `terms` (any mix of directions). A value may be
    a bind parameter (typed as its column) standing for the value, except NULL.

    One direction over NOT NULL columns is a row comparison, `(k, id) < (:k, :id)`, an index
    condition on PostgreSQL and SQLite alike; other orders spell out the steps and put the first
    column's bound in front, so that the index range starts at the last row's value.
    """
    columns = [column for _, column, _ in terms]
    descending = terms[0][2]
    if all(desc == descending for _, _, desc in terms) and not any(map(nullable, columns)) \
            and all(value is not None for value in values):
        keys = tuple_(*columns)
        bound = tuple_(*(value if isinstance(value, BindParameter) else literal(value, column.type)
                         for column, value in zip(columns, values, strict=True)))
        return keys < bound if descending else keys > bound
    clauses = []
    for i, (_, column, desc) in enumerate(terms):
        equal_prefix = [terms[j][1] == values[j] for j in range(i)]  # "== None" is IS NULL
        clauses.append(and_(*equal_prefix, _step(column, values[i], desc)))
    steps = or_(*clauses)
    first, first_value = columns[0], values[0]
    if nullable(first) or first_value is None:
        return steps
    return and_(first <= first_value if descending else first >= first_value, steps)


def nullable(column: InstrumentedAttribute[Any]) -> bool:
    """Whether the column may hold NULL."""
    return bool(getattr(column.expression, "nullable", False))


def _step(column: InstrumentedAttribute[Any], value: Any, descending: bool) -> ColumnElement[bool]:
    """Rows after `value` in one column; NULL sorts as the largest value (see sort_term)."""
    if not nullable(column):
        return column < value if descending else column > value
    if value is None:
        return column.is_not(None) if descending else false()
    return column < value if descending else or_(column > value, column.is_(None))


def sort_term(column: InstrumentedAttribute[Any], descending: bool) -> Any:
    """ORDER BY term; a nullable column puts NULL last ascending and first descending on every
    backend (SQLite's default is the opposite of PostgreSQL's), as `after` expects."""
    if not nullable(column):
        return column.desc() if descending else column.asc()
    return column.desc().nulls_first() if descending else column.asc().nulls_last()
