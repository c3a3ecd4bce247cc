"""Planner inputs: the keyword clusters and content ideas that writing tasks are made from."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from writer_service.db.database import Database
from writer_service.db.models import Cluster, ContentIdea, ContentTaxonomy, Task
from writer_service.domain.changes import (
    MAX_DESCRIPTION,
    MAX_KEYWORDS,
    MAX_NAME,
    MAX_TITLE,
    check_etag,
    check_lengths,
    require_fields,
)
from writer_service.domain.errors import FailedPrecondition, PreconditionViolation
from writer_service.domain.vocabulary import CLUSTER_STATUSES, CONTENT_STRUCTURES, CONTENT_TYPES, IDEA_STATUSES
from writer_service.services.idempotency import create_once
from writer_service.services.listing import FilterField, ListQuery, ListSpec, Page, list_page
from writer_service.services.write_rules import (
    COMMON_READ_ONLY,
    INT32_MAX,
    check_bounds,
    load_reference,
    masked_changes,
    nullable_ids,
    place_of,
    soft_delete,
    undelete,
)
from writer_service.tenancy.context import TenantContext
from writer_service.tenancy.scoping import Placement, get_scoped, resolve_placement, scoped

CLUSTER_FIELDS = ("name", "description", "keywords", "status", "search_volume", "keyword_count")
CLUSTER_LIMITS = {"name": MAX_NAME, "description": MAX_DESCRIPTION, "keywords": MAX_KEYWORDS}
CLUSTER_BOUNDS = {"search_volume": (0, INT32_MAX), "keyword_count": (0, INT32_MAX)}
IDEA_FIELDS = ("cluster_id", "title", "description", "target_keywords", "content_type", "content_structure",
               "estimated_word_count", "status", "taxonomy_term_id")
IDEA_LIMITS = {"title": MAX_TITLE, "description": MAX_DESCRIPTION, "target_keywords": MAX_KEYWORDS}
IDEA_BOUNDS = {"estimated_word_count": (0, INT32_MAX)}

CLUSTER_LIST = ListSpec(
    model=Cluster,
    filters={"status": FilterField(Cluster.status, "enum", CLUSTER_STATUSES),
             "search_volume": FilterField(Cluster.search_volume, "int"),
             "keyword_count": FilterField(Cluster.keyword_count, "int"),
             "create_time": FilterField(Cluster.create_time, "time"),
             "update_time": FilterField(Cluster.update_time, "time")},
    order_fields={"name": Cluster.name, "create_time": Cluster.create_time, "update_time": Cluster.update_time,
                  "search_volume": Cluster.search_volume, "keyword_count": Cluster.keyword_count},
    search_columns=(Cluster.name, Cluster.keywords),
    default_order="name",
)
IDEA_LIST = ListSpec(
    model=ContentIdea,
    filters={"status": FilterField(ContentIdea.status, "enum", IDEA_STATUSES),
             "cluster_id": FilterField(ContentIdea.cluster_id, "id"),
             "taxonomy_term_id": FilterField(ContentIdea.taxonomy_term_id, "id"),
             "content_type": FilterField(ContentIdea.content_type, "enum", CONTENT_TYPES),
             "content_structure": FilterField(ContentIdea.content_structure, "enum", CONTENT_STRUCTURES),
             "create_time": FilterField(ContentIdea.create_time, "time"),
             "update_time": FilterField(ContentIdea.update_time, "time")},
    order_fields={"create_time": ContentIdea.create_time, "update_time": ContentIdea.update_time,
                  "title": ContentIdea.title, "status": ContentIdea.status,
                  "estimated_word_count": ContentIdea.estimated_word_count},
    search_columns=(ContentIdea.title, ContentIdea.target_keywords),
)


# Clusters.

def _check_cluster(values: Mapping[str, Any]) -> None:
    check_lengths(values, CLUSTER_LIMITS, prefix="cluster.")
    check_bounds(values, CLUSTER_BOUNDS, prefix="cluster.")


async def create_cluster(db: Database, tenant: TenantContext, *, values: dict[str, Any], site_id: int = 0,
                         sector_id: int = 0, request_id: str = "") -> Cluster:
    """A new cluster (status active unless given) in the request's or the headers' site and sector."""
    require_fields(values, ["name"], prefix="cluster.")
    _check_cluster(values)

    async def create(session: AsyncSession) -> Cluster:
        place = await resolve_placement(session, tenant, site_id=site_id, sector_id=sector_id,
                                        fall_back_to_active_site=True)
        cluster = Cluster(account_id=place.account_id, site_id=place.site_id, sector_id=place.sector_id,
                          **{k: v for k, v in values.items() if k in CLUSTER_FIELDS})
        session.add(cluster)
        await session.flush()
        return cluster

    async def load(session: AsyncSession, cluster_id: int) -> Cluster:
        return await get_scoped(session, Cluster, cluster_id, tenant, show_deleted=True)

    return await create_once(db, tenant, method="CreateCluster", request_id=request_id, create=create, load=load)


async def get_cluster(db: Database, tenant: TenantContext, *, cluster_id: int) -> Cluster:
    """One cluster, soft-deleted ones too."""
    async with db.read() as session:
        return await get_scoped(session, Cluster, cluster_id, tenant, show_deleted=True)


async def update_cluster(db: Database, tenant: TenantContext, *, cluster_id: int, etag: str,
                         paths: Iterable[str], values: Mapping[str, Any]) -> Cluster:
    """The masked fields of a live cluster changed, if the etag is current."""
    changes = masked_changes(values, paths, updatable=CLUSTER_FIELDS, read_only=COMMON_READ_ONLY,
                             required=("name", "status"), prefix="cluster.")
    _check_cluster(changes)
    async with db.transaction() as session:
        cluster = await get_scoped(session, Cluster, cluster_id, tenant, for_update=True)
        check_etag(etag, cluster.version, resource="Cluster", resource_id=cluster.id)
        for name, value in changes.items():
            setattr(cluster, name, value)
    return cluster


async def delete_cluster(db: Database, tenant: TenantContext, *, cluster_id: int, etag: str) -> Cluster:
    """Soft-delete a cluster; its ideas, tasks and content keep their link to it."""
    async with db.transaction() as session:
        cluster = await get_scoped(session, Cluster, cluster_id, tenant, for_update=True)
        soft_delete(cluster, etag)
    return cluster


async def undelete_cluster(db: Database, tenant: TenantContext, *, cluster_id: int, etag: str) -> Cluster:
    """Restore a soft-deleted cluster."""
    async with db.transaction() as session:
        cluster = await get_scoped(session, Cluster, cluster_id, tenant, show_deleted=True, for_update=True)
        undelete(cluster, etag)
    return cluster


async def list_clusters(db: Database, tenant: TenantContext, *, query: ListQuery) -> Page:
    """One page of clusters, by name unless asked otherwise."""
    async with db.read() as session:
        return await list_page(session, CLUSTER_LIST, tenant, query)


# Content ideas.

@dataclass(frozen=True)
class IdeaView:
    """An idea with the name of its cluster, as responses show it."""

    idea: ContentIdea
    cluster_name: str


def _check_idea(values: Mapping[str, Any]) -> None:
    check_lengths(values, IDEA_LIMITS, prefix="content_idea.")
    check_bounds(values, IDEA_BOUNDS, prefix="content_idea.")


async def _idea_views(session: AsyncSession, tenant: TenantContext, ideas: Sequence[ContentIdea]) -> list[IdeaView]:
    ids = {idea.cluster_id for idea in ideas}
    stmt = scoped(select(Cluster.id, Cluster.name).where(Cluster.id.in_(ids)), Cluster, tenant, show_deleted=True)
    names = {i: name for i, name in await session.execute(stmt)} if ids else {}
    return [IdeaView(idea, names.get(idea.cluster_id, "")) for idea in ideas]


async def _check_idea_references(session: AsyncSession, tenant: TenantContext, values: Mapping[str, Any],
                                 place: Placement) -> None:
    if values.get("cluster_id"):
        await load_reference(session, tenant, Cluster, values["cluster_id"], place=place,
                             field="content_idea.cluster_id")
    if values.get("taxonomy_term_id"):
        await load_reference(session, tenant, ContentTaxonomy, values["taxonomy_term_id"], place=place,
                             field="content_idea.taxonomy_term_id")


async def create_content_idea(db: Database, tenant: TenantContext, *, values: dict[str, Any], site_id: int = 0,
                              sector_id: int = 0, request_id: str = "") -> IdeaView:
    """A new idea (status new unless given) in a cluster of its site and sector."""
    require_fields(values, ["cluster_id", "title"], prefix="content_idea.")
    _check_idea(values)
    values = nullable_ids(values, ["taxonomy_term_id"])
    views: list[IdeaView] = []

    async def create(session: AsyncSession) -> ContentIdea:
        place = await resolve_placement(session, tenant, site_id=site_id, sector_id=sector_id,
                                        fall_back_to_active_site=True)
        await _check_idea_references(session, tenant, values, place)
        idea = ContentIdea(account_id=place.account_id, site_id=place.site_id, sector_id=place.sector_id,
                           **{k: v for k, v in values.items() if k in IDEA_FIELDS})
        session.add(idea)
        await session.flush()
        views.extend(await _idea_views(session, tenant, [idea]))
        return idea

    async def load(session: AsyncSession, idea_id: int) -> ContentIdea:
        idea = await get_scoped(session, ContentIdea, idea_id, tenant, show_deleted=True)
        views.extend(await _idea_views(session, tenant, [idea]))
        return idea

    await create_once(db, tenant, method="CreateContentIdea", request_id=request_id, create=create, load=load)
    return views[-1]


async def get_content_idea(db: Database, tenant: TenantContext, *, idea_id: int) -> IdeaView:
    """One idea, soft-deleted ones too."""
    async with db.read() as session:
        idea = await get_scoped(session, ContentIdea, idea_id, tenant, show_deleted=True)
        return (await _idea_views(session, tenant, [idea]))[0]


async def _refuse_moving_planned_idea(session: AsyncSession, tenant: TenantContext, idea: ContentIdea) -> None:
    # A task and its idea share one cluster; moving the idea alone would split them.
    stmt = scoped(select(Task.id).where(Task.idea_id == idea.id), Task, tenant, show_deleted=True)
    task_id = await session.scalar(stmt)
    if task_id is not None:
        raise FailedPrecondition(
            message=f"content idea {idea.id} has task {task_id}: unlink the task (idea_id 0) before moving the idea",
            reason="IDEA_HAS_TASK",
            violations=[PreconditionViolation("TASK", f"task/{task_id}", "is made from this idea")],
            metadata={"id": str(idea.id), "task_id": str(task_id)},
        )


async def update_content_idea(db: Database, tenant: TenantContext, *, idea_id: int, etag: str,
                              paths: Iterable[str], values: Mapping[str, Any]) -> IdeaView:
    """The masked fields of a live idea changed, references re-checked, if the etag is current."""
    changes = masked_changes(values, paths, updatable=IDEA_FIELDS, read_only=(*COMMON_READ_ONLY, "cluster_name"),
                             required=("cluster_id", "title", "content_type", "content_structure", "status"),
                             prefix="content_idea.")
    _check_idea(changes)
    changes = nullable_ids(changes, ["taxonomy_term_id"])
    async with db.transaction() as session:
        idea = await get_scoped(session, ContentIdea, idea_id, tenant, for_update=True)
        check_etag(etag, idea.version, resource="ContentIdea", resource_id=idea.id)
        moved = {k: v for k, v in changes.items() if getattr(idea, k) != v}
        await _check_idea_references(session, tenant, moved, place_of(idea))
        if "cluster_id" in moved:
            await _refuse_moving_planned_idea(session, tenant, idea)
        for name, value in changes.items():
            setattr(idea, name, value)
        await session.flush()
        return (await _idea_views(session, tenant, [idea]))[0]


async def delete_content_idea(db: Database, tenant: TenantContext, *, idea_id: int, etag: str) -> IdeaView:
    """Soft-delete an idea; a task made from it keeps its link."""
    async with db.transaction() as session:
        idea = await get_scoped(session, ContentIdea, idea_id, tenant, for_update=True)
        soft_delete(idea, etag)
        await session.flush()
        return (await _idea_views(session, tenant, [idea]))[0]


async def undelete_content_idea(db: Database, tenant: TenantContext, *, idea_id: int, etag: str) -> IdeaView:
    """Restore a soft-deleted idea."""
    async with db.transaction() as session:
        idea = await get_scoped(session, ContentIdea, idea_id, tenant, show_deleted=True, for_update=True)
        undelete(idea, etag)
        await session.flush()
        return (await _idea_views(session, tenant, [idea]))[0]


async def list_content_ideas(db: Database, tenant: TenantContext, *, query: ListQuery) -> tuple[list[IdeaView], str]:
    """One page of ideas, newest first unless asked otherwise, and the next page's token."""
    async with db.read() as session:
        page = await list_page(session, IDEA_LIST, tenant, query)
        return await _idea_views(session, tenant, page.items), page.next_page_token
