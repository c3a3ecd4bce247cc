"""PlannerService clusters, through the real gRPC stack, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

import grpc
import pytest
from google.protobuf import field_mask_pb2
from google.rpc import error_details_pb2
from grpc.aio import Channel

from igny8.writer.v1 import planner_pb2 as pb
from igny8.writer.v1 import tasks_pb2
from tests.conftest import Tenant, TenantFactory
from tests.factories.planner import make_cluster, make_idea, planner_stub
from tests.factories.tasks import make_task, tasks_stub
from tests.rich import expect_error

pytestmark = pytest.mark.asyncio(loop_scope="session")

ACTIVE, ARCHIVED = pb.CLUSTER_STATUS_ACTIVE, pb.CLUSTER_STATUS_ARCHIVED


def fields_of(error: object) -> list[str]:
    return [v.field for v in error.detail(error_details_pb2.BadRequest).field_violations]  # type: ignore[attr-defined]


def update(cluster: pb.Cluster, *paths: str) -> pb.UpdateClusterRequest:
    return pb.UpdateClusterRequest(cluster=cluster, update_mask=field_mask_pb2.FieldMask(paths=list(paths)))


async def get(channel: Channel, owner: Tenant, cluster_id: int) -> pb.Cluster:
    return await planner_stub(channel).GetCluster(pb.GetClusterRequest(id=cluster_id), metadata=owner.metadata())


async def names(channel: Channel, owner: Tenant, **request: object) -> list[str]:
    page = await planner_stub(channel).ListClusters(pb.ListClustersRequest(**request),  # type: ignore[arg-type]
                                                    metadata=owner.metadata())
    return [c.name for c in page.clusters]


async def test_create_cluster_defaults_to_active_in_the_callers_site_and_sector(
    channel: Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    cluster = await make_cluster(channel, owner, name="Trail running", keywords="trail, running",
                                 search_volume=12000, keyword_count=2, description="d")
    assert cluster.status == ACTIVE
    assert (cluster.account_id, cluster.site_id, cluster.sector_id) == (owner.account_id, owner.site_id,
                                                                        owner.sector_id)
    assert (cluster.keywords, cluster.search_volume, cluster.keyword_count) == ("trail, running", 12000, 2)
    assert await get(channel, owner, cluster.id) == cluster
    assert (await make_cluster(channel, owner, status=ARCHIVED)).status == ARCHIVED


async def test_cluster_names_need_not_be_unique(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    first = await make_cluster(channel, owner, name="Shoes")
    second = await make_cluster(channel, owner, name="Shoes")
    assert first.id != second.id


async def test_create_cluster_requires_a_name_and_bounds_its_fields(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    error = await expect_error(make_cluster(channel, owner, name=""), grpc.StatusCode.INVALID_ARGUMENT)
    assert fields_of(error) == ["cluster.name"]
    error = await expect_error(make_cluster(channel, owner, name="x" * 256, keywords="k" * 2001),
                               grpc.StatusCode.INVALID_ARGUMENT)
    assert fields_of(error) == ["cluster.name", "cluster.keywords"]
    error = await expect_error(make_cluster(channel, owner, search_volume=-1, keyword_count=-2),
                               grpc.StatusCode.INVALID_ARGUMENT)
    assert fields_of(error) == ["cluster.search_volume", "cluster.keyword_count"]
    error = await expect_error(make_cluster(channel, owner, search_volume=2**31), grpc.StatusCode.INVALID_ARGUMENT)
    assert fields_of(error) == ["cluster.search_volume"]


async def test_create_cluster_with_the_same_request_id_returns_the_first(
    channel: Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    request = pb.CreateClusterRequest(cluster=pb.Cluster(name="once"), request_id=str(uuid.uuid4()))
    first = await planner_stub(channel).CreateCluster(request, metadata=owner.metadata())
    again = await planner_stub(channel).CreateCluster(request, metadata=owner.metadata())
    assert again == first and await names(channel, owner) == ["once"]


async def test_create_cluster_in_another_accounts_site_is_not_found(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    stranger = await tenants.account()
    request = pb.CreateClusterRequest(cluster=pb.Cluster(name="x"), site_id=stranger.site_id)
    await expect_error(planner_stub(channel).CreateCluster(request, metadata=owner.metadata(site=False,
                                                                                           sector=False)),
                       grpc.StatusCode.NOT_FOUND)


async def test_get_cluster_of_another_account_is_not_found(channel: Channel, tenants: TenantFactory) -> None:
    cluster = await make_cluster(channel, await tenants.account())
    error = await expect_error(get(channel, await tenants.account(), cluster.id), grpc.StatusCode.NOT_FOUND)
    assert error.detail(error_details_pb2.ResourceInfo).resource_type == "Cluster"


async def test_update_cluster_changes_the_masked_fields_with_a_current_etag(
    channel: Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    cluster = await make_cluster(channel, owner, name="Old", keywords="old")
    change = pb.Cluster(id=cluster.id, etag=cluster.etag, name="New", keywords="ignored", status=ARCHIVED)
    updated = await planner_stub(channel).UpdateCluster(update(change, "name", "status"), metadata=owner.metadata())
    assert (updated.name, updated.keywords, updated.status) == ("New", "old", ARCHIVED)
    error = await expect_error(planner_stub(channel).UpdateCluster(update(change, "name"), metadata=owner.metadata()),
                               grpc.StatusCode.ABORTED)
    assert error.info.reason == "ETAG_MISMATCH"


@pytest.mark.parametrize(("paths", "field"), [
    (["etag"], "update_mask"), (["site_id"], "update_mask"), (["bogus"], "update_mask"), ([], "update_mask"),
    (["status"], "cluster.status"), (["name"], "cluster.name"), (["search_volume"], "cluster.search_volume"),
])
async def test_update_cluster_refuses_bad_masks_and_values(
    channel: Channel, tenants: TenantFactory, paths: list[str], field: str
) -> None:
    owner = await tenants.account()
    cluster = await make_cluster(channel, owner)
    change = pb.Cluster(id=cluster.id, search_volume=-5)  # no name, no status
    error = await expect_error(planner_stub(channel).UpdateCluster(update(change, *paths), metadata=owner.metadata()),
                               grpc.StatusCode.INVALID_ARGUMENT)
    assert fields_of(error) == [field]


async def test_delete_cluster_with_ideas_and_tasks_is_soft_and_they_keep_their_link(
    channel: Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    cluster = await make_cluster(channel, owner, name="Going")
    idea = await make_idea(channel, owner, cluster_id=cluster.id)
    task = await make_task(channel, owner, cluster_id=cluster.id, idea_id=idea.id)
    deleted = await planner_stub(channel).DeleteCluster(pb.DeleteClusterRequest(id=cluster.id, etag=cluster.etag),
                                                        metadata=owner.metadata())
    assert deleted.HasField("delete_time") and await get(channel, owner, cluster.id) == deleted
    kept = await tasks_stub(channel).GetTask(tasks_pb2.GetTaskRequest(id=task.id), metadata=owner.metadata())
    assert (kept.cluster_id, kept.cluster_name) == (cluster.id, "Going")
    assert await names(channel, owner) == []
    assert await names(channel, owner, show_deleted=True) == ["Going"]
    # No new work goes into a deleted cluster, until it is restored.
    await expect_error(make_task(channel, owner, cluster_id=cluster.id), grpc.StatusCode.NOT_FOUND)
    await expect_error(make_idea(channel, owner, cluster_id=cluster.id), grpc.StatusCode.NOT_FOUND)
    await expect_error(planner_stub(channel).DeleteCluster(pb.DeleteClusterRequest(id=cluster.id),
                                                           metadata=owner.metadata()), grpc.StatusCode.NOT_FOUND)
    restored = await planner_stub(channel).UndeleteCluster(
        pb.UndeleteClusterRequest(id=cluster.id, etag=deleted.etag), metadata=owner.metadata())
    assert not restored.HasField("delete_time")
    assert (await make_task(channel, owner, cluster_id=cluster.id)).cluster_name == "Going"


async def test_undelete_of_a_live_cluster_is_failed_precondition(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    cluster = await make_cluster(channel, owner)
    error = await expect_error(planner_stub(channel).UndeleteCluster(pb.UndeleteClusterRequest(id=cluster.id),
                                                                     metadata=owner.metadata()),
                               grpc.StatusCode.FAILED_PRECONDITION)
    assert error.detail(error_details_pb2.PreconditionFailure).violations[0].subject == f"cluster/{cluster.id}"


async def test_delete_cluster_with_a_stale_etag_is_aborted(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    cluster = await make_cluster(channel, owner)
    await planner_stub(channel).UpdateCluster(update(pb.Cluster(id=cluster.id, name="n"), "name"),
                                              metadata=owner.metadata())
    await expect_error(planner_stub(channel).DeleteCluster(pb.DeleteClusterRequest(id=cluster.id, etag=cluster.etag),
                                                           metadata=owner.metadata()), grpc.StatusCode.ABORTED)


async def test_list_clusters_by_name_with_filters_search_and_order(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    await make_cluster(channel, owner, name="beta", search_volume=50, keyword_count=5, keywords="Hiking")
    await make_cluster(channel, owner, name="alpha", search_volume=500, keyword_count=1)
    await make_cluster(channel, owner, name="gamma", search_volume=5, status=ARCHIVED, keywords="boots")
    await make_cluster(channel, await tenants.account(), name="foreign")
    assert await names(channel, owner) == ["alpha", "beta", "gamma"]
    assert await names(channel, owner, filter='status = "archived"') == ["gamma"]
    assert await names(channel, owner, filter="search_volume >= 50 AND keyword_count < 5") == ["alpha"]
    assert await names(channel, owner, search="HIK") == ["beta"]
    assert await names(channel, owner, search="amm") == ["gamma"]
    assert await names(channel, owner, order_by="search_volume desc") == ["alpha", "beta", "gamma"]
    assert await names(channel, owner, order_by="keyword_count, name desc") == ["gamma", "alpha", "beta"]
    assert await names(channel, owner, order_by="create_time desc") == ["gamma", "alpha", "beta"]
    for bad in ({"order_by": "keywords"}, {"filter": 'name = "alpha"'}, {"page_size": -3}):
        await expect_error(names(channel, owner, **bad), grpc.StatusCode.INVALID_ARGUMENT)


async def test_list_clusters_pages_are_bound_to_their_query(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    made = [await make_cluster(channel, owner, name="same") for _ in range(5)]
    seen: list[int] = []
    token = ""
    while True:
        page = await planner_stub(channel).ListClusters(pb.ListClustersRequest(page_size=2, page_token=token),
                                                        metadata=owner.metadata())
        seen.extend(c.id for c in page.clusters)
        token = page.next_page_token
        if not token:
            break
        error = await expect_error(
            planner_stub(channel).ListClusters(pb.ListClustersRequest(page_size=2, page_token=token, search="s"),
                                               metadata=owner.metadata()),
            grpc.StatusCode.INVALID_ARGUMENT)
        assert fields_of(error) == ["page_token"]
    assert seen == [c.id for c in made]
