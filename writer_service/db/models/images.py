"""Images: the featured and in-article pictures of content, generated from a prompt."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
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
from writer_service.db.models._schema import account_column_index, one_of, tenant_list_indexes
from writer_service.domain.vocabulary import IMAGE_FORMATS, IMAGE_STATUSES, IMAGE_TYPES

if TYPE_CHECKING:
    from writer_service.db.models.content import Content
    from writer_service.db.models.tasks import Task


class Image(IdMixin, TenantMixin, TimestampMixin, SoftDeleteMixin, VersionMixin, Base):
    """An image of a piece of content (or of the task that will write it)."""

    __tablename__ = "images"
    __table_args__ = (
        one_of("image_type", IMAGE_TYPES),
        one_of("status", IMAGE_STATUSES),
        one_of("format", IMAGE_FORMATS),
        *tenant_list_indexes("images"),
        account_column_index("images", "status"),
        Index("ix_images_content_id_position", "content_id", "position"),
        Index("ix_images_task_id", "task_id"),
    )

    # An image belongs with its content; a task only lends it a place until the content exists.
    content_id: Mapped[int | None] = mapped_column(Id, ForeignKey("contents.id", ondelete="CASCADE"), nullable=True)
    task_id: Mapped[int | None] = mapped_column(Id, ForeignKey("tasks.id", ondelete="SET NULL"), nullable=True)
    image_type: Mapped[str] = mapped_column(String(32), nullable=False, default="in_article")
    image_url: Mapped[str] = mapped_column(Text, nullable=False, default="")
    image_path: Mapped[str] = mapped_column(String(1024), nullable=False, default="")  # under the media root
    prompt: Mapped[str] = mapped_column(Text, nullable=False, default="")
    alt_text: Mapped[str] = mapped_column(String(512), nullable=False, default="")
    caption: Mapped[str] = mapped_column(Text, nullable=False, default="")
    status: Mapped[str] = mapped_column(String(32), nullable=False, default="pending")
    position: Mapped[int] = mapped_column(Integer, nullable=False, default=0)  # order within the content
    # Known once the file exists; NULL while pending.
    width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    format: Mapped[str | None] = mapped_column(String(32), nullable=True)
    file_size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    failure_reason: Mapped[str] = mapped_column(Text, nullable=False, default="")

    content: Mapped[Content | None] = relationship(lazy="raise")
    task: Mapped[Task | None] = relationship(lazy="raise")
