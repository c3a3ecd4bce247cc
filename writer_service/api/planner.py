"""PlannerService: clusters and content ideas; proto in, service call, proto out."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

import grpc

from igny8.writer.v1 import planner_pb2 as pb
from igny8.writer.v1 import planner_pb2_grpc
from writer_service.api.convert import from_proto, list_query, present, to_proto
from writer_service.services import planner
from writer_service.tenancy.context import current_tenant

if TYPE_CHECKING:
    from writer_service.api.server import Runtime

Context: TypeAlias = grpc.aio.ServicerContext


def idea_message(view: planner.IdeaView) -> pb.ContentIdea:
    """A ContentIdea message; the cluster's name is mapped here."""
    return to_proto(pb.ContentIdea, view.idea, cluster_name=view.cluster_name)


class PlannerServicer(planner_pb2_grpc.PlannerServiceServicer):
    """Each method turns its request into plain arguments and its answer into a message."""

    def __init__(self, runtime: Runtime) -> None:
        self.db = runtime.db

    async def CreateCluster(self, request: pb.CreateClusterRequest, context: Context) -> pb.Cluster:  # noqa: N802
        cluster = await planner.create_cluster(
            self.db, current_tenant(), values=present(from_proto(request.cluster, planner.CLUSTER_FIELDS)),
            site_id=request.site_id, sector_id=request.sector_id, request_id=request.request_id,
        )
        return to_proto(pb.Cluster, cluster)

    async def GetCluster(self, request: pb.GetClusterRequest, context: Context) -> pb.Cluster:  # noqa: N802
        return to_proto(pb.Cluster, await planner.get_cluster(self.db, current_tenant(), cluster_id=request.id))

    async def UpdateCluster(self, request: pb.UpdateClusterRequest, context: Context) -> pb.Cluster:  # noqa: N802
        cluster = await planner.update_cluster(
            self.db, current_tenant(), cluster_id=request.cluster.id, etag=request.cluster.etag,
            paths=list(request.update_mask.paths), values=from_proto(request.cluster, planner.CLUSTER_FIELDS),
        )
        return to_proto(pb.Cluster, cluster)

    async def DeleteCluster(self, request: pb.DeleteClusterRequest, context: Context) -> pb.Cluster:  # noqa: N802
        cluster = await planner.delete_cluster(self.db, current_tenant(), cluster_id=request.id, etag=request.etag)
        return to_proto(pb.Cluster, cluster)

    async def UndeleteCluster(self, request: pb.UndeleteClusterRequest, context: Context) -> pb.Cluster:  # noqa: N802
        cluster = await planner.undelete_cluster(self.db, current_tenant(), cluster_id=request.id, etag=request.etag)
        return to_proto(pb.Cluster, cluster)

    async def ListClusters(  # noqa: N802
        self, request: pb.ListClustersRequest, context: Context
    ) -> pb.ListClustersResponse:
        page = await planner.list_clusters(self.db, current_tenant(), query=list_query(request))
        return pb.ListClustersResponse(clusters=[to_proto(pb.Cluster, c) for c in page.items],
                                       next_page_token=page.next_page_token)

    async def CreateContentIdea(  # noqa: N802
        self, request: pb.CreateContentIdeaRequest, context: Context
    ) -> pb.ContentIdea:
        view = await planner.create_content_idea(
            self.db, current_tenant(), values=present(from_proto(request.content_idea, planner.IDEA_FIELDS)),
            site_id=request.site_id, sector_id=request.sector_id, request_id=request.request_id,
        )
        return idea_message(view)

    async def GetContentIdea(self, request: pb.GetContentIdeaRequest, context: Context) -> pb.ContentIdea:  # noqa: N802
        return idea_message(await planner.get_content_idea(self.db, current_tenant(), idea_id=request.id))

    async def UpdateContentIdea(  # noqa: N802
        self, request: pb.UpdateContentIdeaRequest, context: Context
    ) -> pb.ContentIdea:
        view = await planner.update_content_idea(
            self.db, current_tenant(), idea_id=request.content_idea.id, etag=request.content_idea.etag,
            paths=list(request.update_mask.paths), values=from_proto(request.content_idea, planner.IDEA_FIELDS),
        )
        return idea_message(view)

    async def DeleteContentIdea(  # noqa: N802
        self, request: pb.DeleteContentIdeaRequest, context: Context
    ) -> pb.ContentIdea:
        view = await planner.delete_content_idea(self.db, current_tenant(), idea_id=request.id, etag=request.etag)
        return idea_message(view)

    async def UndeleteContentIdea(  # noqa: N802
        self, request: pb.UndeleteContentIdeaRequest, context: Context
    ) -> pb.ContentIdea:
        view = await planner.undelete_content_idea(self.db, current_tenant(), idea_id=request.id, etag=request.etag)
        return idea_message(view)

    async def ListContentIdeas(  # noqa: N802
        self, request: pb.ListContentIdeasRequest, context: Context
    ) -> pb.ListContentIdeasResponse:
        views, token = await planner.list_content_ideas(self.db, current_tenant(), query=list_query(request))
        return pb.ListContentIdeasResponse(content_ideas=[idea_message(v) for v in views], next_page_token=token)
