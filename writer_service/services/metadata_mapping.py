"""The source's MetadataMappingService: a task's cluster, taxonomy term and attributes, carried over
to the content written for it.

Used by CreateContent when the content names its task, and by generation. The caller has loaded
both rows within the caller's scope (or, in a worker, by id); the rows touched here are their
children and inherit their account, site and sector. Running it twice changes nothing the second time.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from writer_service.db.models import Content, ContentAttribute, ContentClusterMap, ContentTaxonomyLink, Task
from writer_service.services.taxonomy import recount

DEFAULT_ROLE = "supporting"  # when the task has no cluster map of its own to copy the role from


async def map_task_to_content(session: AsyncSession, *, task: Task, content: Content) -> None:
    """Map the task's cluster (a ContentClusterMap row), taxonomy term (a link) and attributes
    (ContentAttribute rows) onto the content, adding only what is not there yet."""
    if content.cluster_id is None:
        content.cluster_id = task.cluster_id
    await _map_cluster(session, task, content)
    await _map_taxonomy_term(session, task, content)
    await _copy_attributes(session, task, content)
    await session.flush()


def _tenancy(content: Content) -> dict[str, int]:
    return {"account_id": content.account_id, "site_id": content.site_id, "sector_id": content.sector_id}


async def _map_cluster(session: AsyncSession, task: Task, content: Content) -> None:
    mapped = await session.scalar(
        select(ContentClusterMap.id).where(
            ContentClusterMap.content_id == content.id, ContentClusterMap.cluster_id == task.cluster_id
        )
    )
    if mapped is not None:
        return
    task_map = await session.scalar(
        select(ContentClusterMap)
        .where(ContentClusterMap.task_id == task.id, ContentClusterMap.cluster_id == task.cluster_id,
               ContentClusterMap.content_id.is_(None))
        .order_by(ContentClusterMap.id)
        .limit(1)
    )
    role = task_map.role if task_map else DEFAULT_ROLE
    source = task_map.source if task_map else ("import" if content.source == "wordpress" else "manual")
    session.add(ContentClusterMap(**_tenancy(content), content_id=content.id, task_id=task.id,
                                  cluster_id=task.cluster_id, role=role, source=source))


async def _map_taxonomy_term(session: AsyncSession, task: Task, content: Content) -> None:
    term_id = task.taxonomy_term_id
    if term_id is None:
        return
    linked = await session.scalar(
        select(ContentTaxonomyLink.taxonomy_id).where(
            ContentTaxonomyLink.content_id == content.id, ContentTaxonomyLink.taxonomy_id == term_id
        )
    )
    if linked is not None:
        return
    session.add(ContentTaxonomyLink(content_id=content.id, taxonomy_id=term_id))
    await session.flush()
    await recount(session, [term_id])


async def _copy_attributes(session: AsyncSession, task: Task, content: Content) -> None:
    # The task's own attributes are those not yet copied to a content (content_id NULL).
    task_attributes = (await session.execute(
        select(ContentAttribute)
        .where(ContentAttribute.task_id == task.id, ContentAttribute.content_id.is_(None))
        .order_by(ContentAttribute.id)
    )).scalars().all()
    if not task_attributes:
        return
    present = {(kind, name) for kind, name in await session.execute(
        select(ContentAttribute.attribute_type, ContentAttribute.name).where(ContentAttribute.content_id == content.id)
    )}
    for attribute in task_attributes:
        key = (attribute.attribute_type, attribute.name)
        if key in present:
            continue
        present.add(key)
        session.add(ContentAttribute(
            **_tenancy(content), content_id=content.id, task_id=task.id, cluster_id=attribute.cluster_id,
            attribute_type=attribute.attribute_type, name=attribute.name, value=attribute.value,
            source=attribute.source, attribute_metadata=dict(attribute.attribute_metadata),
        ))
