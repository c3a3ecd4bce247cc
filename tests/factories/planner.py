"""Clusters and content ideas, made through PlannerService."""

from __future__ import annotations

from typing import Any

import grpc

from igny8.writer.v1 import common_pb2, planner_pb2, planner_pb2_grpc
from tests.conftest import Tenant, unique

Metadata = tuple[tuple[str, str], ...]


def planner_stub(channel: grpc.aio.Channel) -> planner_pb2_grpc.PlannerServiceStub:
    """A PlannerService client."""
    return planner_pb2_grpc.PlannerServiceStub(channel)


async def make_cluster(channel: grpc.aio.Channel, tenant: Tenant, *, metadata: Metadata | None = None,
                       **fields: Any) -> planner_pb2.Cluster:
    """A cluster in the tenant's site and sector (a unique name unless given)."""
    fields.setdefault("name", unique("cluster"))
    request = planner_pb2.CreateClusterRequest(cluster=planner_pb2.Cluster(**fields))
    return await planner_stub(channel).CreateCluster(request, metadata=metadata or tenant.metadata())


async def make_idea(channel: grpc.aio.Channel, tenant: Tenant, *, metadata: Metadata | None = None,
                    **fields: Any) -> planner_pb2.ContentIdea:
    """A content idea in the tenant's site and sector; in a new cluster unless `cluster_id` is given."""
    if not fields.get("cluster_id"):
        fields["cluster_id"] = (await make_cluster(channel, tenant, metadata=metadata)).id
    fields.setdefault("title", unique("idea"))
    fields.setdefault("content_type", common_pb2.CONTENT_TYPE_POST)
    fields.setdefault("content_structure", common_pb2.CONTENT_STRUCTURE_ARTICLE)
    request = planner_pb2.CreateContentIdeaRequest(content_idea=planner_pb2.ContentIdea(**fields))
    return await planner_stub(channel).CreateContentIdea(request, metadata=metadata or tenant.metadata())
