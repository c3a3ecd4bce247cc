"""PlannerService content ideas, through the real gRPC stack, on SQLite and PostgreSQL."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import field_mask_pb2
from google.rpc import error_details_pb2
from grpc.aio import Channel

from igny8.writer.v1 import common_pb2
from igny8.writer.v1 import planner_pb2 as pb
from tests.conftest import Tenant, TenantFactory
from tests.factories.planner import make_cluster, make_idea, planner_stub
from tests.factories.tasks import insert_taxonomy_term, make_task
from tests.rich import expect_error
from writer_service.db.database import Database

pytestmark = pytest.mark.asyncio(loop_scope="session")



def fields_of(error: object) -> list[str]:
    return [v.field for v in error.detail(error_details_pb2.BadRequest).field_violations]  # type: ignore[attr-defined]


def update(idea: pb.ContentIdea, *paths: str) -> pb.UpdateContentIdeaRequest:
    return pb.UpdateContentIdeaRequest(content_idea=idea, update_mask=field_mask_pb2.FieldMask(paths=list(paths)))


async def get(channel: Channel, owner: Tenant, idea_id: int) -> pb.ContentIdea:
    return await planner_stub(channel).GetContentIdea(pb.GetContentIdeaRequest(id=idea_id), metadata=owner.metadata())


async def ids(channel: Channel, owner: Tenant, **request: object) -> list[int]:
    page = await planner_stub(channel).ListContentIdeas(pb.ListContentIdeasRequest(**request),  # type: ignore[arg-type]
                                                        metadata=owner.metadata())
    return [i.id for i in page.content_ideas]


async def test_create_idea_is_new_and_carries_its_cluster_name(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    cluster = await make_cluster(channel, owner, name="Trail")
    idea = await make_idea(channel, owner, cluster_id=cluster.id, title="10 trail shoes", target_keywords="trail",
                           estimated_word_count=1800, content_structure=common_pb2.CONTENT_STRUCTURE_LISTICLE)
    assert (idea.status, idea.cluster_name, idea.cluster_id) == (pb.CONTENT_IDEA_STATUS_NEW, "Trail", cluster.id)
    assert (idea.target_keywords, idea.estimated_word_count) == ("trail", 1800)
    assert idea.content_structure == common_pb2.CONTENT_STRUCTURE_LISTICLE
    assert (idea.site_id, idea.sector_id) == (owner.site_id, owner.sector_id)
    assert await get(channel, owner, idea.id) == idea


async def test_create_idea_without_type_or_structure_plans_a_post_article(
    channel: Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    cluster = await make_cluster(channel, owner)
    request = pb.CreateContentIdeaRequest(content_idea=pb.ContentIdea(cluster_id=cluster.id, title="t"))
    idea = await planner_stub(channel).CreateContentIdea(request, metadata=owner.metadata())
    assert (idea.content_type, idea.content_structure) == (common_pb2.CONTENT_TYPE_POST,
                                                           common_pb2.CONTENT_STRUCTURE_ARTICLE)


async def test_create_idea_names_every_missing_required_field(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    request = pb.CreateContentIdeaRequest(content_idea=pb.ContentIdea(description="no cluster, no title"))
    error = await expect_error(planner_stub(channel).CreateContentIdea(request, metadata=owner.metadata()),
                               grpc.StatusCode.INVALID_ARGUMENT)
    assert fields_of(error) == ["content_idea.cluster_id", "content_idea.title"]
    cluster = await make_cluster(channel, owner)
    error = await expect_error(make_idea(channel, owner, cluster_id=cluster.id, title="x" * 256,
                                         estimated_word_count=-1), grpc.StatusCode.INVALID_ARGUMENT)
    assert fields_of(error) == ["content_idea.title"]
    error = await expect_error(make_idea(channel, owner, cluster_id=cluster.id, estimated_word_count=-1),
                               grpc.StatusCode.INVALID_ARGUMENT)
    assert fields_of(error) == ["content_idea.estimated_word_count"]


async def test_create_idea_needs_a_cluster_and_term_of_its_site_and_sector(
    channel: Channel, tenants: TenantFactory, db: Database
) -> None:
    owner = await tenants.account()
    unnarrowed = owner.metadata(site=False, sector=False)
    elsewhere = await make_cluster(channel, await tenants.site(owner))
    error = await expect_error(make_idea(channel, owner, cluster_id=elsewhere.id, metadata=unnarrowed),
                               grpc.StatusCode.INVALID_ARGUMENT)
    assert fields_of(error) == ["content_idea.cluster_id"]
    foreign = await make_cluster(channel, await tenants.account())
    await expect_error(make_idea(channel, owner, cluster_id=foreign.id), grpc.StatusCode.NOT_FOUND)
    term = await insert_taxonomy_term(db, owner)
    assert (await make_idea(channel, owner, taxonomy_term_id=term)).taxonomy_term_id == term
    other_sector_term = await insert_taxonomy_term(db, await tenants.sector(owner))
    error = await expect_error(make_idea(channel, owner, taxonomy_term_id=other_sector_term, metadata=unnarrowed),
                               grpc.StatusCode.INVALID_ARGUMENT)
    assert fields_of(error) == ["content_idea.taxonomy_term_id"]


async def test_get_idea_of_another_account_is_not_found(channel: Channel, tenants: TenantFactory) -> None:
    idea = await make_idea(channel, await tenants.account())
    error = await expect_error(get(channel, await tenants.account(), idea.id), grpc.StatusCode.NOT_FOUND)
    assert error.detail(error_details_pb2.ResourceInfo).resource_type == "ContentIdea"


async def test_update_idea_changes_the_masked_fields_with_a_current_etag(
    channel: Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    idea = await make_idea(channel, owner, title="Old")
    cluster = await make_cluster(channel, owner, name="Moved here")
    change = pb.ContentIdea(id=idea.id, etag=idea.etag, title="New", cluster_id=cluster.id,
                            status=pb.CONTENT_IDEA_STATUS_COMPLETED, description="ignored")
    updated = await planner_stub(channel).UpdateContentIdea(update(change, "title", "cluster_id", "status"),
                                                            metadata=owner.metadata())
    assert (updated.title, updated.cluster_name, updated.description) == ("New", "Moved here", "")
    assert updated.status == pb.CONTENT_IDEA_STATUS_COMPLETED
    error = await expect_error(planner_stub(channel).UpdateContentIdea(update(change, "title"),
                                                                       metadata=owner.metadata()),
                               grpc.StatusCode.ABORTED)
    assert error.info.reason == "ETAG_MISMATCH"


@pytest.mark.parametrize(("paths", "field"), [
    (["cluster_name"], "update_mask"), (["id"], "update_mask"), ([], "update_mask"),
    (["title"], "content_idea.title"), (["status"], "content_idea.status"),
    (["content_type"], "content_idea.content_type"), (["cluster_id"], "content_idea.cluster_id"),
])
async def test_update_idea_refuses_bad_masks_and_emptied_required_fields(
    channel: Channel, tenants: TenantFactory, paths: list[str], field: str
) -> None:
    owner = await tenants.account()
    idea = await make_idea(channel, owner)
    error = await expect_error(planner_stub(channel).UpdateContentIdea(update(pb.ContentIdea(id=idea.id), *paths),
                                                                       metadata=owner.metadata()),
                               grpc.StatusCode.INVALID_ARGUMENT)
    assert fields_of(error) == [field]


async def test_update_idea_cannot_move_away_from_the_cluster_of_its_task(
    channel: Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    idea = await make_idea(channel, owner)
    task = await make_task(channel, owner, cluster_id=idea.cluster_id, idea_id=idea.id)
    other = await make_cluster(channel, owner)
    error = await expect_error(
        planner_stub(channel).UpdateContentIdea(update(pb.ContentIdea(id=idea.id, cluster_id=other.id), "cluster_id"),
                                                metadata=owner.metadata()),
        grpc.StatusCode.FAILED_PRECONDITION)
    assert error.detail(error_details_pb2.PreconditionFailure).violations[0].subject == f"task/{task.id}"
    foreign = await make_cluster(channel, await tenants.account())
    await expect_error(
        planner_stub(channel).UpdateContentIdea(update(pb.ContentIdea(id=idea.id, cluster_id=foreign.id),
                                                       "cluster_id"), metadata=owner.metadata()),
        grpc.StatusCode.NOT_FOUND)


async def test_delete_idea_is_soft_and_undelete_restores_it(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    idea = await make_idea(channel, owner)
    deleted = await planner_stub(channel).DeleteContentIdea(pb.DeleteContentIdeaRequest(id=idea.id, etag=idea.etag),
                                                            metadata=owner.metadata())
    assert deleted.HasField("delete_time") and deleted.cluster_name == idea.cluster_name
    assert await get(channel, owner, idea.id) == deleted
    assert await ids(channel, owner) == [] and await ids(channel, owner, show_deleted=True) == [idea.id]
    await expect_error(make_task(channel, owner, cluster_id=idea.cluster_id, idea_id=idea.id),
                       grpc.StatusCode.NOT_FOUND)
    await expect_error(planner_stub(channel).UndeleteContentIdea(
        pb.UndeleteContentIdeaRequest(id=idea.id, etag=idea.etag), metadata=owner.metadata()), grpc.StatusCode.ABORTED)
    restored = await planner_stub(channel).UndeleteContentIdea(pb.UndeleteContentIdeaRequest(id=idea.id),
                                                               metadata=owner.metadata())
    assert not restored.HasField("delete_time")
    error = await expect_error(planner_stub(channel).UndeleteContentIdea(pb.UndeleteContentIdeaRequest(id=idea.id),
                                                                         metadata=owner.metadata()),
                               grpc.StatusCode.FAILED_PRECONDITION)
    assert error.info.reason == "NOT_DELETED"


async def test_list_ideas_filters_searches_and_orders(
    channel: Channel, tenants: TenantFactory, db: Database
) -> None:
    owner = await tenants.account()
    cluster = await make_cluster(channel, owner)
    term = await insert_taxonomy_term(db, owner)
    a = await make_idea(channel, owner, cluster_id=cluster.id, title="Alpha guide", estimated_word_count=900,
                        content_structure=common_pb2.CONTENT_STRUCTURE_GUIDE, taxonomy_term_id=term)
    b = await make_idea(channel, owner, title="Beta", target_keywords="GEAR list", estimated_word_count=300,
                        content_type=common_pb2.CONTENT_TYPE_PAGE, status=pb.CONTENT_IDEA_STATUS_QUEUED)
    await make_idea(channel, await tenants.account(), title="Alpha foreign")
    assert await ids(channel, owner) == [b.id, a.id]
    assert await ids(channel, owner, filter=f"cluster_id = {cluster.id}") == [a.id]
    assert await ids(channel, owner, filter='status = "queued"') == [b.id]
    assert await ids(channel, owner, filter=f"taxonomy_term_id = {term}") == [a.id]
    assert await ids(channel, owner, filter="taxonomy_term_id = 0") == [b.id]
    assert await ids(channel, owner, filter='content_type = "page"') == [b.id]
    assert await ids(channel, owner, filter='content_structure = "guide"') == [a.id]
    assert await ids(channel, owner, filter=f'create_time > "{a.create_time.ToJsonString()}"') == [b.id]
    assert await ids(channel, owner, filter=f'update_time <= "{a.update_time.ToJsonString()}"') == [a.id]
    assert await ids(channel, owner, search="alpha") == [a.id]
    assert await ids(channel, owner, search="gear") == [b.id]
    assert await ids(channel, owner, order_by="estimated_word_count desc") == [a.id, b.id]
    assert await ids(channel, owner, order_by="title") == [a.id, b.id]
    assert await ids(channel, owner, order_by="status desc") == [b.id, a.id]
    for bad in ({"order_by": "cluster_id"}, {"filter": "idea_id = 1"}, {"filter": 'status = "done"'}):
        await expect_error(ids(channel, owner, **bad), grpc.StatusCode.INVALID_ARGUMENT)


async def test_list_ideas_pages_walk_every_idea_once(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    cluster = await make_cluster(channel, owner)
    made = {(await make_idea(channel, owner, cluster_id=cluster.id, title="same")).id for _ in range(5)}
    seen: list[int] = []
    token = ""
    while True:
        page = await planner_stub(channel).ListContentIdeas(
            pb.ListContentIdeasRequest(page_size=2, page_token=token, order_by="title"), metadata=owner.metadata())
        seen.extend(i.id for i in page.content_ideas)
        token = page.next_page_token
        if not token:
            break
    assert len(seen) == 5 and set(seen) == made
