"""Images: created under their content or task (whose account, site and sector they take), read,
updated, soft-deleted and restored, listed alone or grouped by content.

Every image returned has its content and task loaded (for the titles the API shows).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from writer_service.db.base import utcnow
from writer_service.db.database import Database
from writer_service.db.models import Content, Image, Task
from writer_service.domain.changes import (
    MAX_CAPTION,
    MAX_PROMPT,
    MAX_URL,
    check_etag,
    check_lengths,
    require_fields,
)
from writer_service.domain.errors import FailedPrecondition, InvalidArgument, PreconditionViolation
from writer_service.domain.vocabulary import IMAGE_FORMATS, IMAGE_STATUSES, IMAGE_TYPES
from writer_service.services.idempotency import create_once
from writer_service.services.listing import FilterField, ListQuery, ListSpec, Page, filter_conditions, list_page
from writer_service.services.write_rules import (
    INT32_MAX,
    check_batch_ids,
    check_bounds,
    masked_changes,
    place_of,
    soft_delete,
    undelete,
)
from writer_service.tenancy.context import TenantContext
from writer_service.tenancy.scoping import (
    get_many_scoped,
    get_scoped,
    require_same_tenant,
    resolve_placement,
    scoped,
)

MAX_ALT_TEXT = 500  # images.proto
MAX_BATCH_DELETE = 100  # images.proto, BatchDeleteImages
LIMITS = {"image_url": MAX_URL, "prompt": MAX_PROMPT, "alt_text": MAX_ALT_TEXT, "caption": MAX_CAPTION}

CREATE_FIELDS = ("image_type", "content_id", "task_id", "image_url", "prompt", "alt_text", "caption", "position")
UPDATABLE = ("image_type", "image_url", "prompt", "alt_text", "caption", "position")
READ_ONLY = ("id", "account_id", "site_id", "sector_id", "content_id", "content_title", "task_id", "task_title",
             "image_path", "status", "width", "height", "format", "file_size", "failure_reason", "etag",
             "create_time", "update_time", "delete_time")

WITH_PARENTS = (selectinload(Image.content), selectinload(Image.task))

IMAGE_FILTERS = {
    "status": FilterField(Image.status, "enum", IMAGE_STATUSES),
    "image_type": FilterField(Image.image_type, "enum", IMAGE_TYPES),
    "format": FilterField(Image.format, "enum", IMAGE_FORMATS),
    "content_id": FilterField(Image.content_id, "id"),
    "task_id": FilterField(Image.task_id, "id"),
    "create_time": FilterField(Image.create_time, "time"),
    "update_time": FilterField(Image.update_time, "time"),
}
LIST_SPEC = ListSpec(
    model=Image,
    filters=IMAGE_FILTERS,
    order_fields={"create_time": Image.create_time, "update_time": Image.update_time, "position": Image.position,
                  "status": Image.status, "content_id": Image.content_id},
    search_columns=(Image.prompt, Image.alt_text, Image.caption),
    default_order="create_time desc",
)
# The grouped List filters images, not contents: its filter is applied to the images once, as one
# EXISTS (one image must match the whole filter). The group spec only checks the filter's fields,
# so that list_page accepts them and binds its page tokens to the filter.
_GROUP_IMAGE_FIELDS = ("status", "image_type", "format", "content_id", "create_time", "update_time")
GROUP_IMAGE_SPEC = ListSpec(model=Image, filters={k: IMAGE_FILTERS[k] for k in _GROUP_IMAGE_FIELDS},
                            order_fields={})
GROUP_SPEC = ListSpec(
    model=Content,
    filters={k: replace(IMAGE_FILTERS[k], condition=lambda op, value: true()) for k in _GROUP_IMAGE_FIELDS},
    order_fields={"content_id": Content.id, "content_title": Content.title},
    search_columns=(Content.title,),
    default_order="content_id desc",
)


@dataclass
class ImageGroup:
    """A content item and its images that match the List's filter, by position."""

    content: Content
    images: list[Image]


def require_id(value: int, field: str) -> None:
    """INVALID_ARGUMENT unless `value` is an id (ids start at 1)."""
    if value <= 0:
        raise InvalidArgument.of(field, "is required (a positive id)")


def _is_image_url(url: str) -> bool:
    """An http(s) URL, or a path on the platform's own host (as the service's file URLs are)."""
    if url.startswith("/"):
        return not url.startswith("//")
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _check_values(values: Mapping[str, Any]) -> None:
    check_lengths(values, LIMITS, prefix="image.")
    check_bounds(values, {"position": (0, INT32_MAX)}, prefix="image.")
    url = values.get("image_url")
    if url and not _is_image_url(url):  # it ends up in published pages: no javascript: or data: URLs
        raise InvalidArgument.of("image.image_url", "must be an http(s) URL or a path starting with /")


async def _parents(session: AsyncSession, tenant: TenantContext, *, content_id: int,
                   task_id: int) -> tuple[Content | None, Task | None]:
    """The content and task an image is made for, both visible to the caller and in agreement."""
    content = await get_scoped(session, Content, content_id, tenant) if content_id else None
    task = await get_scoped(session, Task, task_id, tenant) if task_id else None
    if content is not None and task is not None:
        require_same_tenant(task, place_of(content))
        if content.task_id is not None and content.task_id != task.id:
            raise FailedPrecondition(
                message=f"content {content.id} was written for task {content.task_id}, not task {task.id}",
                reason="CONTENT_TASK_MISMATCH",
                violations=[PreconditionViolation("RELATION", f"content/{content.id}",
                                                  f"belongs to task {content.task_id}")],
                metadata={"content_id": str(content.id), "task_id": str(task.id),
                          "content_task_id": str(content.task_id)},
            )
    return content, task


async def _next_position(session: AsyncSession, tenant: TenantContext, content: Content | None) -> int:
    """After the content's last live image (0 for the first, and for images without content)."""
    if content is None:
        return 0
    stmt = scoped(select(func.max(Image.position)).where(Image.content_id == content.id), Image, tenant)
    last = await session.scalar(stmt)
    return 0 if last is None else last + 1


async def create_image(db: Database, tenant: TenantContext, *, values: dict[str, Any], site_id: int = 0,
                       sector_id: int = 0, request_id: str = "") -> Image:
    """A pending image under its content or task, or placed by site and sector when it has neither."""
    require_fields(values, ["image_type"], prefix="image.")
    _check_values(values)

    async def create(session: AsyncSession) -> Image:
        content, task = await _parents(session, tenant, content_id=values.get("content_id", 0),
                                       task_id=values.get("task_id", 0))
        parent = content or task
        placement = (
            place_of(parent) if parent is not None
            else await resolve_placement(session, tenant, site_id=site_id, sector_id=sector_id,
                                         fall_back_to_active_site=True)
        )
        image = Image(
            account_id=placement.account_id, site_id=placement.site_id, sector_id=placement.sector_id,
            content=content, task=task, image_type=values["image_type"], status="pending",
            image_url=values.get("image_url", ""), prompt=values.get("prompt", ""),
            alt_text=values.get("alt_text", ""), caption=values.get("caption", ""),
            position=values.get("position") or await _next_position(session, tenant, content),
        )
        session.add(image)
        await session.flush()
        return image

    async def load(session: AsyncSession, image_id: int) -> Image:
        return await get_scoped(session, Image, image_id, tenant, show_deleted=True, options=WITH_PARENTS)

    return await create_once(db, tenant, method="CreateImage", request_id=request_id, create=create, load=load)


async def get_image(db: Database, tenant: TenantContext, *, image_id: int) -> Image:
    """One image the caller may see, soft-deleted ones included (as images.proto says)."""
    require_id(image_id, "id")
    async with db.read() as session:
        return await get_scoped(session, Image, image_id, tenant, show_deleted=True, options=WITH_PARENTS)


async def update_image(db: Database, tenant: TenantContext, *, image_id: int, values: Mapping[str, Any],
                       paths: Sequence[str], etag: str = "") -> Image:
    """Change the masked fields of a live image; status and file facts are the server's."""
    require_id(image_id, "image.id")
    changes = masked_changes(values, paths, updatable=UPDATABLE, read_only=READ_ONLY, required=["image_type"],
                             prefix="image.")
    _check_values(changes)
    async with db.transaction() as session:
        image = await get_scoped(session, Image, image_id, tenant, options=WITH_PARENTS)
        check_etag(etag, image.version, resource="Image", resource_id=image.id)
        for name, value in changes.items():
            setattr(image, name, value)
        await session.flush()
        return image


async def delete_image(db: Database, tenant: TenantContext, *, image_id: int, etag: str = "") -> Image:
    """Soft-delete a live image (its file is kept)."""
    require_id(image_id, "id")
    async with db.transaction() as session:
        image = await get_scoped(session, Image, image_id, tenant, options=WITH_PARENTS)
        soft_delete(image, etag)
        await session.flush()
        return image


async def undelete_image(db: Database, tenant: TenantContext, *, image_id: int, etag: str = "") -> Image:
    """Restore a soft-deleted image; FAILED_PRECONDITION when it is not deleted."""
    require_id(image_id, "id")
    async with db.transaction() as session:
        image = await get_scoped(session, Image, image_id, tenant, show_deleted=True, options=WITH_PARENTS)
        undelete(image, etag)
        await session.flush()
        return image


async def batch_delete_images(db: Database, tenant: TenantContext, *, ids: Sequence[int]) -> list[Image]:
    """Soft-delete 1 to 100 live images, all or none; NOT_FOUND names any unknown, foreign or deleted id."""
    check_batch_ids(ids, limit=MAX_BATCH_DELETE)
    async with db.transaction() as session:
        await get_many_scoped(session, Image, ids, tenant, for_update=True)
        stmt = scoped(select(Image).where(Image.id.in_(ids)), Image, tenant).options(*WITH_PARENTS)
        rows = {row.id: row for row in (await session.execute(stmt)).scalars()}
        now = utcnow()
        for row in rows.values():
            row.delete_time = now
        await session.flush()
        return [rows[i] for i in ids]


async def list_images(db: Database, tenant: TenantContext, *, query: ListQuery) -> Page:
    """One page of the images the caller may see, as the List request asks."""
    async with db.read() as session:
        return await list_page(session, LIST_SPEC, tenant, query, options=WITH_PARENTS)


def _matching_images(stmt: Any, tenant: TenantContext, query: ListQuery, conditions: list[Any]) -> Any:
    return scoped(stmt, Image, tenant, show_deleted=query.show_deleted).where(*conditions)


async def list_image_groups(db: Database, tenant: TenantContext, *, query: ListQuery) -> Page:
    """One page of content items with matching images (Page.items: ImageGroup), images by position."""
    conditions = filter_conditions(GROUP_IMAGE_SPEC, query.filter)
    has_match = _matching_images(select(Image.id), tenant, query, conditions).where(Image.content_id == Content.id)
    async with db.read() as session:
        page = await list_page(session, GROUP_SPEC, tenant, query, stmt=select(Content).where(has_match.exists()))
        ids = [content.id for content in page.items]
        images_stmt = (
            _matching_images(select(Image), tenant, query, conditions).where(Image.content_id.in_(ids))
            .order_by(Image.content_id, Image.position, Image.id).options(*WITH_PARENTS)
        )
        by_content: dict[int, list[Image]] = {i: [] for i in ids}
        for image in (await session.execute(images_stmt)).scalars():
            by_content[image.content_id or 0].append(image)
    page.items = [ImageGroup(content=content, images=by_content[content.id]) for content in page.items]
    return page
