"""Declarative base and the column mixins every table is built from."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, MetaData
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column
from sqlalchemy.types import TypeDecorator

# Stable constraint names so Alembic migrations read the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT on PostgreSQL; INTEGER on SQLite, where only "INTEGER PRIMARY KEY" auto-increments.
Id = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """The declarative base of every writer-service table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class IdMixin:
    """A surrogate int64 primary key."""

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)


class TimestampMixin:
    """create_time and update_time, set by the database session on write."""

    create_time: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, nullable=False)
    update_time: Mapped[datetime] = mapped_column(
        UtcDateTime(), default=utcnow, onupdate=utcnow, nullable=False
    )


class SoftDeleteMixin:
    """delete_time: set instead of removing the row; cleared by Undelete."""

    delete_time: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True, default=None)


class VersionMixin:
    """An integer version, bumped on every update: the source of the resource's etag."""

    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, object]:  # noqa: N805
        return {"version_id_col": cls.version}  # type: ignore[attr-defined]


class TenantMixin:
    """account_id, site_id and sector_id: the owners of every tenant-owned row."""

    @declared_attr
    def account_id(cls) -> Mapped[int]:  # noqa: N805
        return mapped_column(Id, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False)

    @declared_attr
    def site_id(cls) -> Mapped[int]:  # noqa: N805
        return mapped_column(Id, ForeignKey("sites.id", ondelete="CASCADE"), nullable=False)

    @declared_attr
    def sector_id(cls) -> Mapped[int]:  # noqa: N805
        return mapped_column(Id, ForeignKey("sectors.id", ondelete="CASCADE"), nullable=False)
