"""A snapshot of everything some accounts own, to show that a call changed nothing: every row of every
table that belongs to them (directly by account_id, or through a foreign key to such a row), and the
files under the media root."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, CompoundSelect, Table, Text, cast, func, literal_column, or_, select, union_all

from writer_service.db import models  # noqa: F401  (registers every table on Base.metadata)
from writer_service.db.base import Base
from writer_service.db.database import Database


@dataclass(frozen=True)
class Snapshot:
    """The owned rows by table (each as JSON text of all its columns, in order) and the media files
    (relative path and size)."""

    rows: dict[str, list[str]]
    files: frozenset[tuple[str, int]]

    def differences(self, other: Snapshot) -> list[str]:
        """What changed from this snapshot to `other`: per table, the rows gone and the rows new."""
        changed = []
        for name in sorted(set(self.rows) | set(other.rows)):
            before, after = self.rows.get(name, []), other.rows.get(name, [])
            if before != after:
                gone = [row for row in before if row not in after]
                new = [row for row in after if row not in before]
                changed.append(f"{name}: gone {gone[:3]}, new {new[:3]}")
        if self.files != other.files:
            changed.append(f"media files: gone {sorted(self.files - other.files)}, "
                           f"new {sorted(other.files - self.files)}")
        return changed


def _owned(table: Table, account_ids: Collection[int]) -> ColumnElement[bool] | None:
    """The condition selecting the rows of `table` the accounts own; None for tables nobody owns."""
    ids = list(account_ids)
    if table.name == "accounts":
        return table.c.id.in_(ids)
    if "account_id" in table.c:
        return table.c.account_id.in_(ids)
    through = [fk.parent.in_(select(fk.column).where(fk.column.table.c.account_id.in_(ids)))
               for fk in table.foreign_keys if "account_id" in fk.column.table.c]
    return or_(*through) if through else None


def _as_text(table: Table, dialect: str) -> ColumnElement[str]:
    """A row as one JSON object of all its columns, so every table fits one UNION ALL."""
    build = func.json_build_object if dialect == "postgresql" else func.json_object
    pairs: list[Any] = []
    for column in table.columns:
        pairs += [literal_column(f"'{column.name}'"), column]
    return cast(build(*pairs), Text)


@cache
def _statement(account_ids: tuple[int, ...], dialect: str) -> CompoundSelect:
    """One query for every owned row of every table: (table name, row as JSON); built once."""
    parts: list[Any] = []
    for table in Base.metadata.sorted_tables:
        condition = _owned(table, account_ids)
        if condition is not None:
            parts.append(select(literal_column(f"'{table.name}'").label("t"),
                                _as_text(table, dialect).label("r")).where(condition))
    return union_all(*parts).order_by("t", "r")


async def take_snapshot(db: Database, account_ids: Collection[int], media_root: Path) -> Snapshot:
    """Every row the accounts own, and every file under the media root, as they are now."""
    rows: dict[str, list[str]] = {}
    async with db.read() as session:
        for name, row in (await session.execute(_statement(tuple(account_ids), db.engine.dialect.name))).all():
            rows.setdefault(name, []).append(row)
    return Snapshot(rows=rows, files=media_files(media_root))


def media_files(media_root: Path) -> frozenset[tuple[str, int]]:
    """Every file under the media root (staging area included): its relative path and size."""
    return frozenset((str(p.relative_to(media_root)), p.stat().st_size) for p in media_root.rglob("*") if p.is_file())
