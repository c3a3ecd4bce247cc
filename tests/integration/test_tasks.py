"""TasksService: creating and reading tasks, through the real gRPC stack, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc.aio import Channel

from igny8.writer.v1 import common_pb2, planner_pb2, tasks_pb2
from tests.conftest import TenantFactory
from tests.factories.planner import make_cluster, make_idea, planner_stub
from tests.factories.tasks import insert_taxonomy_term, make_task, tasks_stub
from tests.rich import expect_error
from writer_service.db.database import Database

pytestmark = pytest.mark.asyncio(loop_scope="session")



def fields_of(error: object) -> list[str]:
    """The field paths of a rich INVALID_ARGUMENT."""
    return [v.field for v in error.detail(error_details_pb2.BadRequest).field_violations]  # type: ignore[attr-defined]


async def test_create_task_defaults_to_queued_and_carries_cluster_and_sector_names(
    channel: Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    cluster = await make_cluster(channel, owner, name="Running shoes")
    task = await make_task(channel, owner, cluster_id=cluster.id, title="Best trail shoes", keywords="trail, shoes",
                           word_count=1500, description="A buying guide")
    assert task.status == tasks_pb2.TASK_STATUS_QUEUED
    assert (task.account_id, task.site_id, task.sector_id) == (owner.account_id, owner.site_id, owner.sector_id)
    assert task.cluster_name == "Running shoes"
    assert task.sector_name  # the bootstrap sector's name
    assert (task.keywords, task.word_count, task.description) == ("trail, shoes", 1500, "A buying guide")
    assert task.etag and task.HasField("create_time") and not task.HasField("delete_time")
    again = await tasks_stub(channel).GetTask(tasks_pb2.GetTaskRequest(id=task.id), metadata=owner.metadata())
    assert again == task


async def test_create_task_names_every_missing_required_field_at_once(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    request = tasks_pb2.CreateTaskRequest(task=tasks_pb2.Task(title="No cluster, no type, no structure"))
    error = await expect_error(tasks_stub(channel).CreateTask(request, metadata=owner.metadata()),
                               grpc.StatusCode.INVALID_ARGUMENT)
    assert fields_of(error) == ["task.cluster_id", "task.content_type", "task.content_structure"]
    empty = tasks_pb2.CreateTaskRequest(task=tasks_pb2.Task())
    error = await expect_error(tasks_stub(channel).CreateTask(empty, metadata=owner.metadata()),
                               grpc.StatusCode.INVALID_ARGUMENT)
    assert fields_of(error) == ["task.title", "task.cluster_id", "task.content_type", "task.content_structure"]


async def test_create_task_keeps_a_completed_status(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    task = await make_task(channel, owner, status=tasks_pb2.TASK_STATUS_COMPLETED)
    assert task.status == tasks_pb2.TASK_STATUS_COMPLETED


async def test_create_task_takes_site_and_sector_from_the_request(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    second = await tenants.site(owner)
    cluster = await make_cluster(channel, second)
    request = tasks_pb2.CreateTaskRequest(
        task=tasks_pb2.Task(title="t", cluster_id=cluster.id, content_type=common_pb2.CONTENT_TYPE_PAGE,
                            content_structure=common_pb2.CONTENT_STRUCTURE_GUIDE),
        site_id=second.site_id, sector_id=second.sector_id)
    task = await tasks_stub(channel).CreateTask(request, metadata=owner.metadata(site=False, sector=False))
    assert (task.site_id, task.sector_id) == (second.site_id, second.sector_id)
    assert (task.content_type, task.content_structure) == (common_pb2.CONTENT_TYPE_PAGE,
                                                           common_pb2.CONTENT_STRUCTURE_GUIDE)


async def test_create_task_without_placement_uses_the_active_site_and_its_default_sector(
    channel: Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    bare = owner.metadata(site=False, sector=False)
    task = await make_task(channel, owner, metadata=bare)
    assert (task.site_id, task.sector_id) == (owner.site_id, owner.sector_id)


async def test_create_task_with_a_sector_of_another_site_is_invalid_argument(
    channel: Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    second = await tenants.site(owner)
    cluster = await make_cluster(channel, owner)
    request = tasks_pb2.CreateTaskRequest(
        task=tasks_pb2.Task(title="t", cluster_id=cluster.id, content_type=common_pb2.CONTENT_TYPE_POST,
                            content_structure=common_pb2.CONTENT_STRUCTURE_ARTICLE),
        site_id=owner.site_id, sector_id=second.sector_id)
    error = await expect_error(tasks_stub(channel).CreateTask(request, metadata=owner.metadata(site=False,
                                                                                                sector=False)),
                               grpc.StatusCode.INVALID_ARGUMENT)
    assert fields_of(error) == ["sector_id"]


async def test_create_task_in_a_site_of_another_account_is_not_found(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    stranger = await tenants.account()
    cluster = await make_cluster(channel, owner)
    request = tasks_pb2.CreateTaskRequest(
        task=tasks_pb2.Task(title="t", cluster_id=cluster.id, content_type=common_pb2.CONTENT_TYPE_POST,
                            content_structure=common_pb2.CONTENT_STRUCTURE_ARTICLE),
        site_id=stranger.site_id, sector_id=stranger.sector_id)
    error = await expect_error(tasks_stub(channel).CreateTask(request, metadata=owner.metadata(site=False,
                                                                                                sector=False)),
                               grpc.StatusCode.NOT_FOUND)
    assert error.detail(error_details_pb2.ResourceInfo).resource_type == "Site"


async def test_create_task_with_a_cluster_of_another_site_is_invalid_argument(
    channel: Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    elsewhere = await make_cluster(channel, await tenants.site(owner))
    # Without site headers the caller sees both sites; the task goes to the active site.
    unnarrowed = owner.metadata(site=False, sector=False)
    error = await expect_error(make_task(channel, owner, cluster_id=elsewhere.id, metadata=unnarrowed),
                               grpc.StatusCode.INVALID_ARGUMENT)
    assert fields_of(error) == ["task.cluster_id"]
    assert error.info.reason == "REFERENCE_OUT_OF_PLACEMENT"
    # Narrowed to the first site by the headers, the other site's cluster is not even visible.
    await expect_error(make_task(channel, owner, cluster_id=elsewhere.id), grpc.StatusCode.NOT_FOUND)


async def test_create_task_with_a_cluster_of_another_sector_is_invalid_argument(
    channel: Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    elsewhere = await make_cluster(channel, await tenants.sector(owner))
    site_only = owner.metadata(sector=False)  # the task goes to the site's default sector
    error = await expect_error(make_task(channel, owner, cluster_id=elsewhere.id, metadata=site_only),
                               grpc.StatusCode.INVALID_ARGUMENT)
    assert fields_of(error) == ["task.cluster_id"]


async def test_create_task_with_a_cluster_of_another_account_is_not_found(
    channel: Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    foreign = await make_cluster(channel, await tenants.account())
    error = await expect_error(make_task(channel, owner, cluster_id=foreign.id), grpc.StatusCode.NOT_FOUND)
    assert error.detail(error_details_pb2.ResourceInfo).resource_type == "Cluster"


async def test_create_task_with_a_deleted_cluster_is_not_found(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    cluster = await make_cluster(channel, owner)
    await planner_stub(channel).DeleteCluster(planner_pb2.DeleteClusterRequest(id=cluster.id),
                                              metadata=owner.metadata())
    await expect_error(make_task(channel, owner, cluster_id=cluster.id), grpc.StatusCode.NOT_FOUND)


async def test_create_task_from_an_idea_queues_the_idea(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    idea = await make_idea(channel, owner)
    task = await make_task(channel, owner, cluster_id=idea.cluster_id, idea_id=idea.id)
    assert task.idea_id == idea.id
    idea = await planner_stub(channel).GetContentIdea(planner_pb2.GetContentIdeaRequest(id=idea.id),
                                                      metadata=owner.metadata())
    assert idea.status == planner_pb2.CONTENT_IDEA_STATUS_QUEUED


async def test_a_second_task_for_the_same_idea_is_already_exists(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    idea = await make_idea(channel, owner)
    first = await make_task(channel, owner, cluster_id=idea.cluster_id, idea_id=idea.id)
    error = await expect_error(make_task(channel, owner, cluster_id=idea.cluster_id, idea_id=idea.id),
                               grpc.StatusCode.ALREADY_EXISTS)
    assert error.info.reason == "IDEA_ALREADY_HAS_TASK"
    assert error.info.metadata["task_id"] == str(first.id)
    await tasks_stub(channel).DeleteTask(tasks_pb2.DeleteTaskRequest(id=first.id), metadata=owner.metadata())
    await expect_error(make_task(channel, owner, cluster_id=idea.cluster_id, idea_id=idea.id),
                       grpc.StatusCode.ALREADY_EXISTS)


async def test_create_task_with_an_idea_of_another_cluster_is_invalid_argument(
    channel: Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    idea = await make_idea(channel, owner)
    other_cluster = await make_cluster(channel, owner)
    error = await expect_error(make_task(channel, owner, cluster_id=other_cluster.id, idea_id=idea.id),
                               grpc.StatusCode.INVALID_ARGUMENT)
    assert fields_of(error) == ["task.idea_id"]
    assert error.info.reason == "IDEA_CLUSTER_MISMATCH"


async def test_create_task_with_an_idea_of_another_account_is_not_found(
    channel: Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    foreign = await make_idea(channel, await tenants.account())
    error = await expect_error(make_task(channel, owner, idea_id=foreign.id), grpc.StatusCode.NOT_FOUND)
    assert error.detail(error_details_pb2.ResourceInfo).resource_type == "ContentIdea"


async def test_create_task_links_a_taxonomy_term_of_its_site_only(
    channel: Channel, tenants: TenantFactory, db: Database
) -> None:
    owner = await tenants.account()
    term_id = await insert_taxonomy_term(db, owner)
    task = await make_task(channel, owner, taxonomy_term_id=term_id)
    assert task.taxonomy_term_id == term_id
    other_site_term = await insert_taxonomy_term(db, await tenants.site(owner))
    cluster = await make_cluster(channel, owner)
    unnarrowed = owner.metadata(site=False, sector=False)
    error = await expect_error(make_task(channel, owner, cluster_id=cluster.id, taxonomy_term_id=other_site_term,
                                         metadata=unnarrowed), grpc.StatusCode.INVALID_ARGUMENT)
    assert fields_of(error) == ["task.taxonomy_term_id"]
    foreign_term = await insert_taxonomy_term(db, await tenants.account())
    await expect_error(make_task(channel, owner, taxonomy_term_id=foreign_term), grpc.StatusCode.NOT_FOUND)


async def test_create_task_over_the_input_limits_names_each_field(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    error = await expect_error(make_task(channel, owner, title="x" * 256, keywords="k" * 2001,
                                         description="d" * 5001), grpc.StatusCode.INVALID_ARGUMENT)
    assert fields_of(error) == ["task.title", "task.description", "task.keywords"]
    error = await expect_error(make_task(channel, owner, word_count=20001), grpc.StatusCode.INVALID_ARGUMENT)
    assert fields_of(error) == ["task.word_count"]
    error = await expect_error(make_task(channel, owner, word_count=-1), grpc.StatusCode.INVALID_ARGUMENT)
    assert fields_of(error) == ["task.word_count"]
    assert (await make_task(channel, owner, title="x" * 255, word_count=20000)).word_count == 20000


async def test_create_task_with_the_same_request_id_returns_the_first_task(
    channel: Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    cluster = await make_cluster(channel, owner)
    request_id = str(uuid.uuid4())
    request = tasks_pb2.CreateTaskRequest(
        task=tasks_pb2.Task(title="once", cluster_id=cluster.id, content_type=common_pb2.CONTENT_TYPE_POST,
                            content_structure=common_pb2.CONTENT_STRUCTURE_ARTICLE), request_id=request_id)
    first = await tasks_stub(channel).CreateTask(request, metadata=owner.metadata())
    again = await tasks_stub(channel).CreateTask(request, metadata=owner.metadata())
    assert again == first
    listed = await tasks_stub(channel).ListTasks(tasks_pb2.ListTasksRequest(), metadata=owner.metadata())
    assert [t.id for t in listed.tasks] == [first.id]


async def test_create_task_with_a_malformed_request_id_is_invalid_argument(
    channel: Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    cluster = await make_cluster(channel, owner)
    request = tasks_pb2.CreateTaskRequest(
        task=tasks_pb2.Task(title="t", cluster_id=cluster.id, content_type=common_pb2.CONTENT_TYPE_POST,
                            content_structure=common_pb2.CONTENT_STRUCTURE_ARTICLE), request_id="not-a-uuid")
    error = await expect_error(tasks_stub(channel).CreateTask(request, metadata=owner.metadata()),
                               grpc.StatusCode.INVALID_ARGUMENT)
    assert fields_of(error) == ["request_id"]


async def test_a_viewer_cannot_create_a_task(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    viewer = await tenants.user(owner, "viewer")
    cluster = await make_cluster(channel, owner)
    await expect_error(make_task(channel, viewer, cluster_id=cluster.id), grpc.StatusCode.PERMISSION_DENIED)


async def test_get_task_of_another_account_is_not_found(channel: Channel, tenants: TenantFactory) -> None:
    task = await make_task(channel, await tenants.account())
    stranger = await tenants.account()
    error = await expect_error(tasks_stub(channel).GetTask(tasks_pb2.GetTaskRequest(id=task.id),
                                                           metadata=stranger.metadata()), grpc.StatusCode.NOT_FOUND)
    assert error.detail(error_details_pb2.ResourceInfo).resource_type == "Task"


async def test_get_task_of_another_sector_is_not_found(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    task = await make_task(channel, owner)
    other_sector = await tenants.sector(owner)
    await expect_error(tasks_stub(channel).GetTask(tasks_pb2.GetTaskRequest(id=task.id),
                                                   metadata=other_sector.metadata()), grpc.StatusCode.NOT_FOUND)
