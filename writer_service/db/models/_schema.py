"""Table-building helpers: vocabulary CHECKs and the indexes that serve keyset pagination."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import CheckConstraint, Index


def _literal(value: str | int) -> str:
    if isinstance(value, int):
        return str(value)
    if "'" in value:
        raise ValueError(f"vocabulary value with a quote: {value!r}")
    return f"'{value}'"


def one_of(column: str, values: Sequence[str | int], name: str | None = None) -> CheckConstraint:
    """CHECK (column IN (...)), named "<column>_valid" (ck_<table>_<column>_valid in the database).

    NULL passes, as with every SQL CHECK, so a nullable column stays nullable.
    """
    allowed = ", ".join(_literal(v) for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=name or f"{column}_valid")


def not_negative(column: str) -> CheckConstraint:
    """CHECK (column >= 0), named "<column>_not_negative"."""
    return CheckConstraint(f"{column} >= 0", name=f"{column}_not_negative")


def tenant_list_indexes(table: str) -> tuple[Index, Index]:
    """The keyset-pagination indexes of a List-able tenant-owned table: by scope and by creation."""
    return (
        Index(f"ix_{table}_account_site_sector_id", "account_id", "site_id", "sector_id", "id"),
        Index(f"ix_{table}_account_site_create_time_id", "account_id", "site_id", "create_time", "id"),
    )


def account_column_index(table: str, column: str) -> Index:
    """(account_id, <column>, id): lists filtered by status or state within an account."""
    return Index(f"ix_{table}_account_{column}_id", "account_id", column, "id")
