"""Generation jobs and their items: long work that is asked for now and watched until it ends."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from writer_service.db.base import Base, Id, IdMixin, TenantMixin, TimestampMixin, UtcDateTime, VersionMixin, utcnow
from writer_service.db.models._schema import account_column_index, one_of
from writer_service.domain.vocabulary import JOB_EVENT_TYPES, JOB_ITEM_STATES, JOB_KINDS, JOB_STATES


class Job(IdMixin, TenantMixin, TimestampMixin, VersionMixin, Base):
    """A batch of generation work; `version` is its event sequence, bumped on every change."""

    __tablename__ = "jobs"
    __table_args__ = (
        # NULL request ids never collide: only retries that name one are deduplicated.
        UniqueConstraint("account_id", "request_id"),
        one_of("kind", JOB_KINDS),
        one_of("state", JOB_STATES),
        Index("ix_jobs_account_create_time_id", "account_id", "create_time", "id"),
        account_column_index("jobs", "state"),
    )

    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    state: Mapped[str] = mapped_column(String(32), nullable=False, default="pending")
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_by_user_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    wait_requested: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    total_items: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    succeeded_items: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    failed_items: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    cancelled_items: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    credits_reserved: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    credits_charged: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    credits_released: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    error_reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
    start_time: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    end_time: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    # The automation run that asked for the job, if any: its AI calls are summed per run.
    automation_run_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("automation_runs.id", ondelete="SET NULL"), nullable=True, index=True
    )
    # What the kind of job needs beyond its items (e.g. max_in_article_images for image prompts).
    params: Mapped[dict[str, object]] = mapped_column(JSON, nullable=False, default=dict, server_default=text("'{}'"))

    # passive_deletes: the database's ON DELETE CASCADE removes items; nothing is loaded for it.
    items: Mapped[list[JobItem]] = relationship(
        lazy="raise",
        order_by="JobItem.position",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class JobItem(IdMixin, TimestampMixin, Base):
    """One unit of a job: one task to write, one content to illustrate, one image to render."""

    __tablename__ = "job_items"
    __table_args__ = (
        # Unique as well as indexed: an item's place in its job is its identity in progress events.
        UniqueConstraint("job_id", "position"),
        one_of("state", JOB_ITEM_STATES),
        Index("ix_job_items_task_id", "task_id"),
    )

    job_id: Mapped[int] = mapped_column(Id, ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    task_id: Mapped[int | None] = mapped_column(Id, ForeignKey("tasks.id", ondelete="SET NULL"), nullable=True)
    content_id: Mapped[int | None] = mapped_column(Id, ForeignKey("contents.id", ondelete="SET NULL"), nullable=True)
    image_id: Mapped[int | None] = mapped_column(Id, ForeignKey("images.id", ondelete="SET NULL"), nullable=True)
    state: Mapped[str] = mapped_column(String(32), nullable=False, default="pending")
    result_content_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("contents.id", ondelete="SET NULL"), nullable=True
    )
    credits_reserved: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    credits_charged: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    error_reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    start_time: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    end_time: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)


class JobEvent(IdMixin, Base):
    """One change of a job, as WatchJob streams it: written in the transaction that made the change.

    `id` is global and increasing, so one poller per server follows every job with one query;
    `sequence` is the job's version after the change. `payload` holds the job's (and the item's)
    fields as they were right after it.
    """

    __tablename__ = "job_events"
    __table_args__ = (
        UniqueConstraint("job_id", "sequence"),
        one_of("type", JOB_EVENT_TYPES),
    )

    job_id: Mapped[int] = mapped_column(Id, ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False)
    sequence: Mapped[int] = mapped_column(Integer, nullable=False)
    type: Mapped[str] = mapped_column(String(32), nullable=False)
    job_item_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("job_items.id", ondelete="CASCADE"), nullable=True
    )
    payload: Mapped[dict[str, object]] = mapped_column(JSON, nullable=False, default=dict)
    create_time: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False, default=utcnow)
