"""Reading content: GetContent, ListContents, and the derived fields every Content answer carries.

The derived fields (cluster, sector and task names, categories and tags, image flags) are read for
a whole page at once: a fixed handful of queries, whatever the page size.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, String, cast, exists, func, not_, select
from sqlalchemy.ext.asyncio import AsyncSession

from writer_service.db.database import Database
from writer_service.db.models import Cluster, Content, ContentTaxonomy, ContentTaxonomyLink, Image, Sector, Task
from writer_service.domain.errors import InvalidArgument
from writer_service.domain.vocabulary import (
    CONTENT_SOURCES,
    CONTENT_STATUSES,
    CONTENT_STRUCTURES,
    CONTENT_TYPES,
    SYNC_STATUSES,
)
from writer_service.services.listing import FilterField, ListQuery, ListSpec, list_page
from writer_service.tenancy.context import TenantContext
from writer_service.tenancy.scoping import get_scoped, scoped


@dataclass
class ImageFlags:
    """The state of a content's images."""

    has_featured_image: bool = False
    images_pending: int = 0
    images_generated: int = 0
    images_failed: int = 0


@dataclass
class ContentView:
    """A content row with the derived fields of its answer."""

    content: Content
    cluster_name: str = ""
    sector_name: str = ""
    task_title: str = ""
    categories: list[ContentTaxonomy] = field(default_factory=list)
    tags: list[ContentTaxonomy] = field(default_factory=list)
    image_status: ImageFlags = field(default_factory=ImageFlags)


async def _names(
    session: AsyncSession, tenant: TenantContext, model: type[Any], column: Any, ids: set[int]
) -> dict[int, str]:
    if not ids:
        return {}
    stmt = scoped(select(model.id, column).where(model.id.in_(ids)), model, tenant, show_deleted=True)
    return {row_id: name for row_id, name in (await session.execute(stmt)).all()}


async def _terms(session: AsyncSession, tenant: TenantContext, ids: list[int]) -> dict[int, list[ContentTaxonomy]]:
    stmt = (
        select(ContentTaxonomyLink.content_id, ContentTaxonomy)
        .join(ContentTaxonomy, ContentTaxonomy.id == ContentTaxonomyLink.taxonomy_id)
        .where(ContentTaxonomyLink.content_id.in_(ids))
        .order_by(ContentTaxonomy.name, ContentTaxonomy.id)
    )
    out: dict[int, list[ContentTaxonomy]] = defaultdict(list)
    for content_id, term in (await session.execute(scoped(stmt, ContentTaxonomy, tenant))).all():
        out[content_id].append(term)
    return out


async def _image_flags(session: AsyncSession, tenant: TenantContext, ids: list[int]) -> dict[int, ImageFlags]:
    stmt = (
        select(Image.content_id, Image.image_type, Image.status, func.count())
        .where(Image.content_id.in_(ids))
        .group_by(Image.content_id, Image.image_type, Image.status)
    )
    out: dict[int, ImageFlags] = defaultdict(ImageFlags)
    for content_id, image_type, status, count in (await session.execute(scoped(stmt, Image, tenant))).all():
        flags = out[content_id or 0]
        if status == "pending":
            flags.images_pending += count
        elif status == "generated":
            flags.images_generated += count
            flags.has_featured_image |= image_type == "featured"
        elif status == "failed":
            flags.images_failed += count
    return out


async def present(session: AsyncSession, tenant: TenantContext, contents: Sequence[Content]) -> list[ContentView]:
    """Views of content rows, their derived fields read in one batch for all of them."""
    if not contents:
        return []
    ids = [c.id for c in contents]
    clusters = await _names(session, tenant, Cluster, Cluster.name, {c.cluster_id for c in contents if c.cluster_id})
    tasks = await _names(session, tenant, Task, Task.title, {c.task_id for c in contents if c.task_id})
    sectors = await _names(session, tenant, Sector, Sector.name, {c.sector_id for c in contents})
    terms = await _terms(session, tenant, ids)
    images = await _image_flags(session, tenant, ids)
    return [
        ContentView(
            content=c,
            cluster_name=clusters.get(c.cluster_id or 0, ""),
            sector_name=sectors.get(c.sector_id, ""),
            task_title=tasks.get(c.task_id or 0, ""),
            categories=[t for t in terms.get(c.id, []) if t.taxonomy_type == "category"],
            tags=[t for t in terms.get(c.id, []) if t.taxonomy_type == "tag"],
            image_status=images.get(c.id, ImageFlags()),
        )
        for c in contents
    ]


async def present_one(session: AsyncSession, tenant: TenantContext, content: Content) -> ContentView:
    """The view of one content row."""
    return (await present(session, tenant, [content]))[0]


async def get_content(db: Database, tenant: TenantContext, *, content_id: int) -> ContentView:
    """One content item, soft-deleted ones included (as the contract's GetContent says)."""
    async with db.read() as session:
        content = await get_scoped(session, Content, content_id, tenant, show_deleted=True)
        return await present_one(session, tenant, content)


def _has_term(op: str, term_id: Any) -> ColumnElement[bool]:
    """taxonomy_term_id: content assigned that term (=), not assigned it (!=); 0 is "no term at all"."""
    if op not in ("=", "!="):
        raise InvalidArgument.of("filter", "taxonomy_term_id takes only = and !=")
    link = select(ContentTaxonomyLink.content_id).where(ContentTaxonomyLink.content_id == Content.id)
    if term_id:
        link = link.where(ContentTaxonomyLink.taxonomy_id == term_id)
    assigned = exists(link)
    return assigned if (op == "=") == bool(term_id) else not_(assigned)


CONTENT_LIST = ListSpec(
    model=Content,
    filters={
        "status": FilterField(Content.status, "enum", CONTENT_STATUSES),
        "source": FilterField(Content.source, "enum", CONTENT_SOURCES),
        "sync_status": FilterField(Content.sync_status, "enum", SYNC_STATUSES),
        "content_type": FilterField(Content.content_type, "enum", CONTENT_TYPES),
        "content_structure": FilterField(Content.content_structure, "enum", CONTENT_STRUCTURES),
        "cluster_id": FilterField(Content.cluster_id, "id"),
        "task_id": FilterField(Content.task_id, "id"),
        "taxonomy_term_id": FilterField(Content.id, "id", condition=_has_term),
        "external_id": FilterField(Content.external_id, "str"),
        "create_time": FilterField(Content.create_time, "time"),
        "update_time": FilterField(Content.update_time, "time"),
        "publish_time": FilterField(Content.publish_time, "time"),
    },
    order_fields={
        "create_time": Content.create_time,
        "update_time": Content.update_time,
        "publish_time": Content.publish_time,
        "title": Content.title,
        "status": Content.status,
        "word_count": Content.word_count,
    },
    # secondary_keywords is a JSON list: searched in its JSON text.
    search_columns=(Content.title, Content.primary_keyword, cast(Content.secondary_keywords, String)),  # type: ignore[arg-type]
    default_order="create_time desc",
)


async def list_contents(db: Database, tenant: TenantContext, *, query: ListQuery) -> tuple[list[ContentView], str]:
    """One page of content as ListContents asks, and the next page's token."""
    async with db.read() as session:
        page = await list_page(session, CONTENT_LIST, tenant, query)
        return await present(session, tenant, page.items), page.next_page_token
