"""Tasks, made through TasksService."""

from __future__ import annotations

from typing import Any

import grpc
from sqlalchemy import insert

from igny8.writer.v1 import common_pb2, tasks_pb2, tasks_pb2_grpc
from tests.conftest import Tenant, unique
from tests.factories.planner import Metadata, make_cluster
from writer_service.db.database import Database
from writer_service.db.models import ContentTaxonomy, Task


def tasks_stub(channel: grpc.aio.Channel) -> tasks_pb2_grpc.TasksServiceStub:
    """A TasksService client."""
    return tasks_pb2_grpc.TasksServiceStub(channel)


async def make_task(channel: grpc.aio.Channel, tenant: Tenant, *, metadata: Metadata | None = None,
                    **fields: Any) -> tasks_pb2.Task:
    """A queued task in the tenant's site and sector: a post article in a new cluster unless the
    fields say otherwise."""
    if not fields.get("cluster_id"):
        fields["cluster_id"] = (await make_cluster(channel, tenant, metadata=metadata)).id
    fields.setdefault("title", unique("task"))
    fields.setdefault("content_type", common_pb2.CONTENT_TYPE_POST)
    fields.setdefault("content_structure", common_pb2.CONTENT_STRUCTURE_ARTICLE)
    request = tasks_pb2.CreateTaskRequest(task=tasks_pb2.Task(**fields))
    return await tasks_stub(channel).CreateTask(request, metadata=metadata or tenant.metadata())


async def insert_tasks(db: Database, tenant: Tenant, *, cluster_id: int, count: int, **fields: Any) -> None:
    """`count` tasks written straight into the table in one statement (list tests need hundreds)."""
    rows = [{"account_id": tenant.account_id, "site_id": tenant.site_id, "sector_id": tenant.sector_id,
             "cluster_id": cluster_id, "title": f"bulk {i:04d}", **fields} for i in range(count)]
    async with db.transaction() as session:
        await session.execute(insert(Task), rows)


async def insert_taxonomy_term(db: Database, tenant: Tenant, *, taxonomy_type: str = "category") -> int:
    """A taxonomy term of the tenant's site and sector, written straight into the table (so these
    tests do not depend on TaxonomyService); its id."""
    async with db.transaction() as session:
        slug = unique("term")
        term = ContentTaxonomy(account_id=tenant.account_id, site_id=tenant.site_id, sector_id=tenant.sector_id,
                               name=slug, slug=slug, taxonomy_type=taxonomy_type)
        session.add(term)
        await session.flush()
        return term.id
