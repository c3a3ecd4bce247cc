"""Billing: the append-only credit ledger and the log of every AI call."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from writer_service.db.base import Base, Id, IdMixin, TenantMixin, UtcDateTime, utcnow
from writer_service.db.models._schema import not_negative, one_of
from writer_service.domain.vocabulary import AI_OPERATIONS, AI_OUTCOMES, CREDIT_TRANSACTION_KINDS


class CreditTransaction(IdMixin, Base):
    """One move of an account's credits; rows are only ever added, never changed."""

    __tablename__ = "credit_transactions"
    __table_args__ = (
        one_of("kind", CREDIT_TRANSACTION_KINDS),
        not_negative("balance_after"),
        Index("ix_credit_transactions_account_id_id", "account_id", "id"),
        # ListCreditTransactions pages by (create_time, id) within an account.
        Index("ix_credit_transactions_account_create_time_id", "account_id", "create_time", "id"),
    )

    account_id: Mapped[int] = mapped_column(Id, ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False)  # negative takes from the balance
    balance_after: Mapped[int] = mapped_column(BigInteger, nullable=False)
    # SET NULL: the ledger outlives the jobs it paid for.
    job_id: Mapped[int | None] = mapped_column(Id, ForeignKey("jobs.id", ondelete="SET NULL"), nullable=True)
    job_item_id: Mapped[int | None] = mapped_column(Id, ForeignKey("job_items.id", ondelete="SET NULL"), nullable=True)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    create_time: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False, default=utcnow)


class AIRequestLog(IdMixin, TenantMixin, Base):
    """One call to a text or image model: what it cost and how it went."""

    __tablename__ = "ai_request_logs"
    __table_args__ = (
        one_of("operation", AI_OPERATIONS),
        one_of("outcome", AI_OUTCOMES),
        Index("ix_ai_request_logs_account_id_id", "account_id", "id"),
        # ListAIRequestLogs pages by (create_time, id) within an account and site.
        Index("ix_ai_request_logs_account_site_create_time_id", "account_id", "site_id", "create_time", "id"),
        Index("ix_ai_request_logs_automation_run_id", "automation_run_id"),
        Index("ix_ai_request_logs_job_id", "job_id"),
    )

    job_id: Mapped[int | None] = mapped_column(Id, ForeignKey("jobs.id", ondelete="SET NULL"), nullable=True)
    job_item_id: Mapped[int | None] = mapped_column(Id, ForeignKey("job_items.id", ondelete="SET NULL"), nullable=True)
    automation_run_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("automation_runs.id", ondelete="SET NULL"), nullable=True
    )
    operation: Mapped[str] = mapped_column(String(32), nullable=False)
    provider: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    model: Mapped[str] = mapped_column(String(128), nullable=False, default="")
    tokens_in: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    tokens_out: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    credits: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    duration_ms: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    outcome: Mapped[str] = mapped_column(String(32), nullable=False)
    error: Mapped[str] = mapped_column(Text, nullable=False, default="")
    create_time: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False, default=utcnow)
