"""Content: creating (and importing) content, updating it, deleting and restoring it, its taxonomy.

The word count is always derived from the HTML. Content made here starts in draft; imported content
(source wordpress) mirrors the external post's status. Content written for a task lives where the
task lives and receives the task's cluster, term and attributes (services/metadata_mapping).
Editorial status changes are in services/content_workflow.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from writer_service.db.base import utcnow
from writer_service.db.database import Database
from writer_service.db.models import Cluster, Content, ContentTaxonomyLink, Task
from writer_service.domain.changes import (
    MAX_EXTERNAL_ID,
    MAX_HTML_BYTES,
    MAX_META_DESCRIPTION,
    MAX_META_TITLE,
    MAX_SECONDARY_KEYWORDS,
    MAX_TITLE,
    MAX_URL,
    check_etag,
    check_lengths,
    require_fields,
)
from writer_service.domain.errors import FieldViolation, InvalidArgument
from writer_service.domain.html_text import count_words
from writer_service.services.content_queries import ContentView, present_one
from writer_service.services.idempotency import create_once
from writer_service.services.metadata_mapping import map_task_to_content
from writer_service.services.taxonomy import recount, terms_for_site
from writer_service.services.write_rules import (
    COMMON_READ_ONLY,
    load_reference,
    masked_changes,
    place_of,
    soft_delete,
    undelete,
)
from writer_service.tenancy.context import TenantContext
from writer_service.tenancy.scoping import Placement, get_scoped, resolve_placement

# Input limits, as content.proto documents them.
MAX_KEYWORD = 255  # primary_keyword and each secondary keyword
MAX_EXTERNAL_TYPE = 64
MAX_TERMS = 100  # distinct taxonomy terms per content
LIMITS = {"title": MAX_TITLE, "content_html": MAX_HTML_BYTES, "meta_title": MAX_META_TITLE,
          "meta_description": MAX_META_DESCRIPTION, "primary_keyword": MAX_KEYWORD,
          "secondary_keywords": MAX_SECONDARY_KEYWORDS, "external_id": MAX_EXTERNAL_ID, "external_url": MAX_URL,
          "external_type": MAX_EXTERNAL_TYPE}

UPDATABLE = ("title", "content_html", "meta_title", "meta_description", "primary_keyword", "secondary_keywords",
             "cluster_id", "content_type", "content_structure", "external_id", "external_url", "external_type",
             "external_metadata", "sync_status")
CREATE_FIELDS = (*UPDATABLE, "task_id", "source", "status", "publish_time")
READ_ONLY = (*COMMON_READ_ONLY, "cluster_name", "sector_name", "task_title", "word_count", "categories", "tags",
             "image_status")
REQUIRED = ("title", "content_type")
REQUIRED_ON_UPDATE = (*REQUIRED, "content_structure", "sync_status")  # enums: "unspecified" is no value
# Changing these on synced content means the external post is now behind: sync status pending.
SYNCED_FIELDS = ("title", "content_html", "meta_title", "meta_description", "primary_keyword",
                 "secondary_keywords", "content_type", "content_structure")


def _clean(values: Mapping[str, Any]) -> dict[str, Any]:
    """Limits checked; keywords trimmed and de-duplicated; empty external fields stored as NULL."""
    check_lengths(values, LIMITS, prefix="content.")
    out = dict(values)
    if "secondary_keywords" in out:
        keywords = [k.strip() for k in out["secondary_keywords"] or []]
        too_long = [FieldViolation(f"content.secondary_keywords[{i}]", f"must be at most {MAX_KEYWORD} characters")
                    for i, k in enumerate(keywords) if len(k) > MAX_KEYWORD]
        if too_long:
            raise InvalidArgument(message="; ".join(f"{v.field} {v.description}" for v in too_long),
                                  violations=too_long)
        out["secondary_keywords"] = list(dict.fromkeys(k for k in keywords if k))
    for name in ("external_id", "external_url", "external_type"):
        if name in out:
            out[name] = out[name] or None
    if "cluster_id" in out:
        out["cluster_id"] = out["cluster_id"] or None
    if "content_html" in out:
        out["word_count"] = count_words(out["content_html"] or "")
    return out


def _check_status(values: dict[str, Any]) -> None:
    """igny8 content starts in draft; imports mirror the external post (published ones get a publish time)."""
    source = values.setdefault("source", "igny8")
    status = values.setdefault("status", "draft")
    values.setdefault("sync_status", "imported" if source == "wordpress" else "native")
    if source == "wordpress":
        if status == "published" and not values.get("publish_time"):
            values["publish_time"] = utcnow()
        return
    if status != "draft":
        raise InvalidArgument.of("content.status", "content made here starts in draft: move it with "
                                 "SubmitContentForReview and PublishContent", reason="INITIAL_STATUS_NOT_DRAFT")
    if values.get("publish_time"):
        raise InvalidArgument.of("content.publish_time", "is set by PublishContent; only imports may send it")


def distinct_term_ids(term_ids: Sequence[int], *, field: str) -> list[int]:
    """The distinct term ids, at most MAX_TERMS of them, each positive."""
    ids = list(dict.fromkeys(term_ids))
    if len(ids) > MAX_TERMS:
        raise InvalidArgument.of(field, f"at most {MAX_TERMS} distinct terms, got {len(ids)}")
    if any(i <= 0 for i in ids):
        raise InvalidArgument.of(field, "term ids must be positive")
    return ids


async def _placement(session: AsyncSession, tenant: TenantContext, task: Task | None, site_id: int,
                     sector_id: int) -> Placement:
    if task is None:
        return await resolve_placement(session, tenant, site_id=site_id, sector_id=sector_id,
                                       fall_back_to_active_site=True)
    if (site_id and site_id != task.site_id) or (sector_id and sector_id != task.sector_id):
        raise InvalidArgument.of("content.task_id", f"task {task.id} is in site {task.site_id}, sector "
                                 f"{task.sector_id}: content written for it lives there",
                                 reason="REFERENCE_OUT_OF_PLACEMENT")
    return place_of(task)


async def create_content(db: Database, tenant: TenantContext, *, values: dict[str, Any], site_id: int = 0,
                         sector_id: int = 0, term_ids: Sequence[int] = (), request_id: str = "") -> ContentView:
    """New content (or an import), with its terms and, when it names a task, the task's metadata."""
    require_fields(values, REQUIRED, prefix="content.")
    values = _clean({k: v for k, v in values.items() if k in CREATE_FIELDS and v is not None})
    _check_status(values)
    ids = distinct_term_ids(term_ids, field="taxonomy_term_ids")
    views: list[ContentView] = []

    async def create(session: AsyncSession) -> Content:
        task_id = values.pop("task_id", 0)
        task = await get_scoped(session, Task, task_id, tenant) if task_id else None
        place = await _placement(session, tenant, task, site_id, sector_id)
        if task is not None and not values.get("cluster_id"):
            values["cluster_id"] = task.cluster_id
        if values.get("cluster_id"):
            await load_reference(session, tenant, Cluster, values["cluster_id"], place=place,
                                 field="content.cluster_id")
        terms = await terms_for_site(session, tenant, site_id=place.site_id, term_ids=ids)
        content = Content(account_id=place.account_id, site_id=place.site_id, sector_id=place.sector_id,
                          task_id=task.id if task else None, **values)
        session.add(content)
        await session.flush()
        session.add_all(ContentTaxonomyLink(content_id=content.id, taxonomy_id=t.id) for t in terms)
        await session.flush()
        await recount(session, [t.id for t in terms])
        if task is not None:
            await map_task_to_content(session, task=task, content=content)
        views.append(await present_one(session, tenant, content))
        return content

    async def load(session: AsyncSession, content_id: int) -> Content:
        content = await get_scoped(session, Content, content_id, tenant, show_deleted=True)
        views.append(await present_one(session, tenant, content))
        return content

    await create_once(db, tenant, method="CreateContent", request_id=request_id, create=create, load=load)
    return views[-1]


async def update_content(db: Database, tenant: TenantContext, *, content_id: int, etag: str, paths: Iterable[str],
                         values: Mapping[str, Any]) -> ContentView:
    """The masked fields of live content changed (word count re-derived), if the etag is current."""
    changes = masked_changes(values, paths, updatable=UPDATABLE, read_only=READ_ONLY, required=REQUIRED_ON_UPDATE,
                             prefix="content.")
    changes = _clean(changes)
    async with db.transaction() as session:
        content = await get_scoped(session, Content, content_id, tenant, for_update=True)
        check_etag(etag, content.version, resource="Content", resource_id=content.id)
        changed = {k: v for k, v in changes.items() if getattr(content, k) != v}
        if changed.get("cluster_id"):
            await load_reference(session, tenant, Cluster, changed["cluster_id"], place=place_of(content),
                                 field="content.cluster_id")
        if content.sync_status == "synced" and "sync_status" not in changed and changed.keys() & set(SYNCED_FIELDS):
            changed["sync_status"] = "pending"
        for name, value in changed.items():
            setattr(content, name, value)
        await session.flush()
        return await present_one(session, tenant, content)


async def linked_term_ids(session: AsyncSession, content_id: int) -> list[int]:
    """The ids of the terms assigned to a content."""
    stmt = select(ContentTaxonomyLink.taxonomy_id).where(ContentTaxonomyLink.content_id == content_id)
    return list((await session.execute(stmt)).scalars())


async def delete_content(db: Database, tenant: TenantContext, *, content_id: int, etag: str) -> ContentView:
    """Soft-delete live content; its terms count it no more. Its images stay."""
    async with db.transaction() as session:
        content = await get_scoped(session, Content, content_id, tenant, for_update=True)
        soft_delete(content, etag)
        await session.flush()
        await recount(session, await linked_term_ids(session, content.id))
        return await present_one(session, tenant, content)


async def undelete_content(db: Database, tenant: TenantContext, *, content_id: int, etag: str) -> ContentView:
    """Restore soft-deleted content; its terms count it again."""
    async with db.transaction() as session:
        content = await get_scoped(session, Content, content_id, tenant, show_deleted=True, for_update=True)
        undelete(content, etag)
        await session.flush()
        await recount(session, await linked_term_ids(session, content.id))
        return await present_one(session, tenant, content)


async def set_content_taxonomy(db: Database, tenant: TenantContext, *, content_id: int, term_ids: Sequence[int],
                               etag: str) -> ContentView:
    """Replace the terms of live content with `term_ids` (all in its site); both old and new are recounted."""
    ids = distinct_term_ids(term_ids, field="taxonomy_term_ids")
    async with db.transaction() as session:
        content = await get_scoped(session, Content, content_id, tenant, for_update=True)
        check_etag(etag, content.version, resource="Content", resource_id=content.id)
        terms = await terms_for_site(session, tenant, site_id=content.site_id, term_ids=ids)
        before = set(await linked_term_ids(session, content.id))
        after = {t.id for t in terms}
        if before != after:
            await session.execute(delete(ContentTaxonomyLink).where(
                ContentTaxonomyLink.content_id == content.id, ContentTaxonomyLink.taxonomy_id.in_(before - after)))
            session.add_all(ContentTaxonomyLink(content_id=content.id, taxonomy_id=i) for i in sorted(after - before))
            content.update_time = utcnow()  # the terms are part of the content: a new version, a new etag
            await session.flush()
            await recount(session, before | after)
        return await present_one(session, tenant, content)
