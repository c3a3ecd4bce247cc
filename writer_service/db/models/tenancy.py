"""Accounts, sites, sectors, users and API keys: who owns the writing work and who may touch it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from writer_service.db.base import Base, Id, IdMixin, TimestampMixin, UtcDateTime, utcnow


class Account(IdMixin, TimestampMixin, Base):
    """A customer; holds the credit balance every AI call is billed from."""

    __tablename__ = "accounts"
    __table_args__ = (CheckConstraint("credits >= 0", name="credits_not_negative"),)

    name: Mapped[str] = mapped_column(String(255), nullable=False)
    slug: Mapped[str] = mapped_column(String(255), nullable=False, unique=True)
    credits: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class Site(IdMixin, TimestampMixin, Base):
    """A website of an account."""

    __tablename__ = "sites"
    __table_args__ = (Index("ix_sites_account_id_id", "account_id", "id"),)

    account_id: Mapped[int] = mapped_column(Id, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    domain: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # No FK: sites and sectors reference each other; the service keeps it consistent.
    default_sector_id: Mapped[int | None] = mapped_column(Id, nullable=True)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class Sector(IdMixin, TimestampMixin, Base):
    """A topical sector inside a site."""

    __tablename__ = "sectors"
    __table_args__ = (
        UniqueConstraint("site_id", "slug"),
        Index("ix_sectors_account_id_site_id", "account_id", "site_id"),
    )

    account_id: Mapped[int] = mapped_column(Id, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False)
    site_id: Mapped[int] = mapped_column(Id, ForeignKey("sites.id", ondelete="CASCADE"), nullable=False)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    slug: Mapped[str] = mapped_column(String(255), nullable=False)
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class User(IdMixin, TimestampMixin, Base):
    """A person or a system that calls the service; its role decides what it may do."""

    __tablename__ = "users"

    # Platform roles (admin, developer, system) belong to no account.
    account_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=True, index=True
    )
    email: Mapped[str] = mapped_column(String(255), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    active_site_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("sites.id", ondelete="SET NULL"), nullable=True
    )
    is_active: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)


class ApiKey(IdMixin, Base):
    """An API key of a user; only its SHA-256 is stored, the key itself is shown once."""

    __tablename__ = "api_keys"

    user_id: Mapped[int] = mapped_column(Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    prefix: Mapped[str] = mapped_column(String(16), nullable=False, unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    create_time: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, nullable=False)
    last_used_time: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    revoke_time: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
