"""Automation runs: one pass of the writer's pipeline stages (3 to 6) over a site and sector."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, false, text
from sqlalchemy.orm import Mapped, mapped_column

from writer_service.db.base import Base, Id, IdMixin, TenantMixin, TimestampMixin, UtcDateTime, utcnow
from writer_service.db.models._schema import account_column_index, one_of, tenant_list_indexes
from writer_service.domain.vocabulary import AUTOMATION_RUN_STATES, AUTOMATION_STAGES


class AutomationRun(IdMixin, TenantMixin, TimestampMixin, Base):
    """A run of one automation stage, or of the whole pipeline (stage 0), with its tallies."""

    __tablename__ = "automation_runs"
    __table_args__ = (
        one_of("stage", AUTOMATION_STAGES),
        one_of("state", AUTOMATION_RUN_STATES),
        *tenant_list_indexes("automation_runs"),
        account_column_index("automation_runs", "state"),
        # The sweep of runs whose process stopped beating (services/automation/runs.py).
        Index("ix_automation_runs_state_heartbeat_time", "state", "heartbeat_time"),
    )

    stage: Mapped[int] = mapped_column(Integer, nullable=False)
    state: Mapped[str] = mapped_column(String(32), nullable=False, default="running")
    items_done: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    items_failed: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    items_skipped: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    credits_used: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    # A run stopped by credits keeps what its next item needed and what the account had, so a
    # retry of the same request_id can answer with the summary the first call ended with.
    credits_exhausted: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False, server_default=false())
    credits_required: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0, server_default=text("0"))
    credits_available: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0, server_default=text("0"))
    created_by_user_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    start_time: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False, default=utcnow)
    end_time: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    # Kept current by the process driving a running run (NULL until its first beat, when the start
    # time stands for it); a running run whose heartbeat has stopped lost its process (killed,
    # crashed) and is swept to failed.
    heartbeat_time: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
