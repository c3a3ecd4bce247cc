"""Taxonomy terms: the categories and tags of a site, native or synced from WordPress."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from writer_service.db.base import Base, Id, IdMixin, TenantMixin, TimestampMixin, VersionMixin
from writer_service.db.models._schema import not_negative, one_of, tenant_list_indexes
from writer_service.domain.vocabulary import SYNC_STATUSES, TAXONOMY_TYPES


class ContentTaxonomy(IdMixin, TenantMixin, TimestampMixin, VersionMixin, Base):
    """A category or tag; deleted for real (no delete_time), its content links go with it."""

    __tablename__ = "content_taxonomies"
    __table_args__ = (
        UniqueConstraint("site_id", "slug", "taxonomy_type"),
        # NULL external ids never collide, so native terms are not constrained by this one.
        UniqueConstraint("site_id", "external_taxonomy", "external_id"),
        one_of("taxonomy_type", TAXONOMY_TYPES),
        one_of("sync_status", SYNC_STATUSES),
        not_negative("count"),
        *tenant_list_indexes("content_taxonomies"),
    )

    name: Mapped[str] = mapped_column(String(255), nullable=False)
    slug: Mapped[str] = mapped_column(String(255), nullable=False)
    taxonomy_type: Mapped[str] = mapped_column(String(32), nullable=False)
    parent_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("content_taxonomies.id", ondelete="SET NULL"), nullable=True
    )
    # The WordPress taxonomy ("category", "post_tag", ...) and term id; NULL for native terms.
    external_taxonomy: Mapped[str | None] = mapped_column(String(64), nullable=True)
    external_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    sync_status: Mapped[str] = mapped_column(String(32), nullable=False, default="native")
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # linked content
    # "metadata" is reserved on declarative classes, hence the attribute name.
    term_metadata: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, nullable=False, default=dict)
