"""Tasks: what to write, one per idea at most, each tied to a keyword cluster."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from writer_service.db.base import (
    Base,
    Id,
    IdMixin,
    SoftDeleteMixin,
    TenantMixin,
    TimestampMixin,
    VersionMixin,
)
from writer_service.db.models._schema import account_column_index, one_of
from writer_service.domain.vocabulary import CONTENT_STRUCTURES, CONTENT_TYPES, TASK_STATUSES

if TYPE_CHECKING:
    from writer_service.db.models.planner import Cluster


class Task(IdMixin, TenantMixin, TimestampMixin, SoftDeleteMixin, VersionMixin, Base):
    """A piece of writing to be done; generation turns it into content and marks it completed."""

    __tablename__ = "tasks"
    __table_args__ = (
        one_of("status", TASK_STATUSES),
        one_of("content_type", CONTENT_TYPES),
        one_of("content_structure", CONTENT_STRUCTURES),
        # ListTasks' keyset pages: the default order (create_time desc) in a site and in a sector,
        # and every other order ListTasks takes (update_time, title, status, word_count) in a sector
        # (x-sector-id).
        Index("ix_tasks_account_site_create_time_id", "account_id", "site_id", "create_time", "id"),
        Index("ix_tasks_account_site_sector_create_time_id", "account_id", "site_id", "sector_id", "create_time",
              "id"),
        Index("ix_tasks_account_site_sector_update_time_id", "account_id", "site_id", "sector_id", "update_time",
              "id"),
        Index("ix_tasks_account_site_sector_title_id", "account_id", "site_id", "sector_id", "title", "id"),
        Index("ix_tasks_account_site_sector_status_id", "account_id", "site_id", "sector_id", "status", "id"),
        Index("ix_tasks_account_site_sector_word_count_id", "account_id", "site_id", "sector_id", "word_count",
              "id"),
        account_column_index("tasks", "status"),
        Index("ix_tasks_cluster_id", "cluster_id"),
    )

    title: Mapped[str] = mapped_column(String(255), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    # No ON DELETE: clusters are soft-deleted; purging one that still has tasks is refused.
    cluster_id: Mapped[int] = mapped_column(Id, ForeignKey("clusters.id"), nullable=False)
    # UNIQUE: an idea gives at most one task.
    idea_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("content_ideas.id", ondelete="SET NULL"), nullable=True, unique=True
    )
    taxonomy_term_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("content_taxonomies.id", ondelete="SET NULL"), nullable=True
    )
    content_type: Mapped[str] = mapped_column(String(32), nullable=False, default="post")
    content_structure: Mapped[str] = mapped_column(String(32), nullable=False, default="article")
    keywords: Mapped[str] = mapped_column(Text, nullable=False, default="")
    word_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # the target length
    status: Mapped[str] = mapped_column(String(32), nullable=False, default="queued")

    cluster: Mapped[Cluster] = relationship(lazy="raise")
