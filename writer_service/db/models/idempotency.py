"""Idempotency records: the first answer to a request_id, so a retry gets it and pays nothing twice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from writer_service.db.base import Base, Id, IdMixin, UtcDateTime, utcnow


class IdempotencyRecord(IdMixin, Base):
    """(account, method, request_id) -> the resource the first call created."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("account_id", "method", "request_id"),)

    account_id: Mapped[int] = mapped_column(Id, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False)
    request_id: Mapped[str] = mapped_column(String(64), nullable=False)  # a UUID string
    method: Mapped[str] = mapped_column(String(255), nullable=False)  # full RPC name
    resource_type: Mapped[str] = mapped_column(String(64), nullable=False)
    resource_id: Mapped[int] = mapped_column(Id, nullable=False)
    create_time: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False, default=utcnow)
