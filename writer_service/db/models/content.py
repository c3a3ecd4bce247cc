"""Content (written or imported) and what hangs off it: taxonomy links, cluster maps, attributes."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from writer_service.db.base import (
    Base,
    Id,
    IdMixin,
    SoftDeleteMixin,
    TenantMixin,
    TimestampMixin,
    UtcDateTime,
    VersionMixin,
    utcnow,
)
from writer_service.db.models._schema import account_column_index, one_of, tenant_list_indexes
from writer_service.domain.vocabulary import (
    ATTRIBUTE_TYPES,
    CLUSTER_MAP_ROLES,
    CLUSTER_MAP_SOURCES,
    CONTENT_SOURCES,
    CONTENT_STATUSES,
    CONTENT_STRUCTURES,
    CONTENT_TYPES,
    SYNC_STATUSES,
)

if TYPE_CHECKING:
    from writer_service.db.models.planner import Cluster
    from writer_service.db.models.taxonomy import ContentTaxonomy


class Content(IdMixin, TenantMixin, TimestampMixin, SoftDeleteMixin, VersionMixin, Base):
    """An article, page or product text: generated from a task or imported from WordPress."""

    __tablename__ = "contents"
    __table_args__ = (
        one_of("status", CONTENT_STATUSES),
        one_of("sync_status", SYNC_STATUSES),
        one_of("source", CONTENT_SOURCES),
        one_of("content_type", CONTENT_TYPES),
        one_of("content_structure", CONTENT_STRUCTURES),
        *tenant_list_indexes("contents"),
        account_column_index("contents", "status"),
        Index("ix_contents_task_id", "task_id"),
        Index("ix_contents_cluster_id", "cluster_id"),
    )

    title: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    content_html: Mapped[str] = mapped_column(Text, nullable=False, default="")
    meta_title: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    meta_description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    primary_keyword: Mapped[str] = mapped_column(String(255), nullable=False, default="")
    secondary_keywords: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)
    cluster_id: Mapped[int | None] = mapped_column(Id, ForeignKey("clusters.id", ondelete="SET NULL"), nullable=True)
    task_id: Mapped[int | None] = mapped_column(Id, ForeignKey("tasks.id", ondelete="SET NULL"), nullable=True)
    content_type: Mapped[str] = mapped_column(String(32), nullable=False, default="post")
    content_structure: Mapped[str] = mapped_column(String(32), nullable=False, default="article")
    # The row's identity in the external system (WordPress post id, type, URL); NULL when native.
    external_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    external_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    external_type: Mapped[str | None] = mapped_column(String(64), nullable=True)
    external_metadata: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    sync_status: Mapped[str] = mapped_column(String(32), nullable=False, default="native")
    source: Mapped[str] = mapped_column(String(32), nullable=False, default="igny8")
    status: Mapped[str] = mapped_column(String(32), nullable=False, default="draft")
    word_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # derived from the HTML
    publish_time: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)

    cluster: Mapped[Cluster | None] = relationship(lazy="raise")
    taxonomy_terms: Mapped[list[ContentTaxonomy]] = relationship(
        secondary="content_taxonomy_links", lazy="raise", order_by="ContentTaxonomy.id"
    )


class ContentTaxonomyLink(Base):
    """Content <-> taxonomy term (a category or tag the content is filed under)."""

    __tablename__ = "content_taxonomy_links"
    __table_args__ = (Index("ix_content_taxonomy_links_taxonomy_id", "taxonomy_id"),)

    content_id: Mapped[int] = mapped_column(Id, ForeignKey("contents.id", ondelete="CASCADE"), primary_key=True)
    taxonomy_id: Mapped[int] = mapped_column(
        Id, ForeignKey("content_taxonomies.id", ondelete="CASCADE"), primary_key=True
    )
    create_time: Mapped[datetime] = mapped_column(UtcDateTime(), nullable=False, default=utcnow)


class ContentClusterMap(IdMixin, TenantMixin, TimestampMixin, Base):
    """The role a piece of content (or the task that will write it) plays in a keyword cluster."""

    __tablename__ = "content_cluster_maps"
    __table_args__ = (
        one_of("role", CLUSTER_MAP_ROLES),
        one_of("source", CLUSTER_MAP_SOURCES),
        Index("ix_content_cluster_maps_content_id", "content_id"),
        Index("ix_content_cluster_maps_task_id", "task_id"),
        Index("ix_content_cluster_maps_cluster_id", "cluster_id"),
    )

    content_id: Mapped[int | None] = mapped_column(Id, ForeignKey("contents.id", ondelete="CASCADE"), nullable=True)
    task_id: Mapped[int | None] = mapped_column(Id, ForeignKey("tasks.id", ondelete="CASCADE"), nullable=True)
    cluster_id: Mapped[int] = mapped_column(Id, ForeignKey("clusters.id", ondelete="CASCADE"), nullable=False)
    role: Mapped[str] = mapped_column(String(32), nullable=False, default="supporting")
    source: Mapped[str] = mapped_column(String(32), nullable=False, default="manual")


class ContentAttribute(IdMixin, TenantMixin, TimestampMixin, Base):
    """A structured fact about content, a task or a cluster (a product spec, a service modifier...)."""

    __tablename__ = "content_attributes"
    __table_args__ = (
        one_of("attribute_type", ATTRIBUTE_TYPES),
        Index("ix_content_attributes_content_id", "content_id"),
        Index("ix_content_attributes_task_id", "task_id"),
        Index("ix_content_attributes_cluster_id", "cluster_id"),
    )

    content_id: Mapped[int | None] = mapped_column(Id, ForeignKey("contents.id", ondelete="CASCADE"), nullable=True)
    task_id: Mapped[int | None] = mapped_column(Id, ForeignKey("tasks.id", ondelete="CASCADE"), nullable=True)
    cluster_id: Mapped[int | None] = mapped_column(Id, ForeignKey("clusters.id", ondelete="CASCADE"), nullable=True)
    attribute_type: Mapped[str] = mapped_column(String(32), nullable=False)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    value: Mapped[str] = mapped_column(Text, nullable=False, default="")
    # Free text in entities.md (no vocabulary): where the attribute came from.
    source: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    # "metadata" is reserved on declarative classes, hence the attribute name.
    attribute_metadata: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, nullable=False, default=dict)
