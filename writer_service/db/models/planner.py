"""Planner inputs: keyword clusters and the content ideas drawn from them, which tasks come from."""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from writer_service.db.base import (
    Base,
    Id,
    IdMixin,
    SoftDeleteMixin,
    TenantMixin,
    TimestampMixin,
    VersionMixin,
)
from writer_service.db.models._schema import account_column_index, one_of, tenant_list_indexes
from writer_service.domain.vocabulary import (
    CLUSTER_STATUSES,
    CONTENT_STRUCTURES,
    CONTENT_TYPES,
    IDEA_STATUSES,
)


class Cluster(IdMixin, TenantMixin, TimestampMixin, SoftDeleteMixin, VersionMixin, Base):
    """A group of related keywords a site wants to rank for."""

    __tablename__ = "clusters"
    __table_args__ = (
        one_of("status", CLUSTER_STATUSES),
        *tenant_list_indexes("clusters"),
        account_column_index("clusters", "status"),
    )

    name: Mapped[str] = mapped_column(String(255), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    keywords: Mapped[str] = mapped_column(Text, nullable=False, default="")  # comma separated
    status: Mapped[str] = mapped_column(String(32), nullable=False, default="active")
    search_volume: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    keyword_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class ContentIdea(IdMixin, TenantMixin, TimestampMixin, SoftDeleteMixin, VersionMixin, Base):
    """A piece of content the planner proposes for a cluster; it becomes at most one task."""

    __tablename__ = "content_ideas"
    __table_args__ = (
        one_of("status", IDEA_STATUSES),
        one_of("content_type", CONTENT_TYPES),
        one_of("content_structure", CONTENT_STRUCTURES),
        *tenant_list_indexes("content_ideas"),
        account_column_index("content_ideas", "status"),
        Index("ix_content_ideas_cluster_id", "cluster_id"),
    )

    # No ON DELETE: clusters are soft-deleted; purging one that still has ideas is refused.
    cluster_id: Mapped[int] = mapped_column(Id, ForeignKey("clusters.id"), nullable=False)
    title: Mapped[str] = mapped_column(String(255), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    target_keywords: Mapped[str] = mapped_column(Text, nullable=False, default="")
    content_type: Mapped[str] = mapped_column(String(32), nullable=False, default="post")
    content_structure: Mapped[str] = mapped_column(String(32), nullable=False, default="article")
    estimated_word_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    status: Mapped[str] = mapped_column(String(32), nullable=False, default="new")
    taxonomy_term_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("content_taxonomies.id", ondelete="SET NULL"), nullable=True
    )
