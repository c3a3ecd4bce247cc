"""TasksService: updating, deleting and restoring one task, through the real gRPC stack."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import field_mask_pb2
from google.rpc import error_details_pb2
from grpc.aio import Channel

from igny8.writer.v1 import common_pb2, tasks_pb2
from tests.conftest import Tenant, TenantFactory
from tests.factories.planner import make_cluster, make_idea
from tests.factories.tasks import make_task, tasks_stub
from tests.rich import expect_error

pytestmark = pytest.mark.asyncio(loop_scope="session")



def update(task: tasks_pb2.Task, *paths: str) -> tasks_pb2.UpdateTaskRequest:
    return tasks_pb2.UpdateTaskRequest(task=task, update_mask=field_mask_pb2.FieldMask(paths=list(paths)))


async def get(channel: Channel, owner: Tenant, task_id: int) -> tasks_pb2.Task:
    return await tasks_stub(channel).GetTask(tasks_pb2.GetTaskRequest(id=task_id), metadata=owner.metadata())


def fields_of(error: object) -> list[str]:
    return [v.field for v in error.detail(error_details_pb2.BadRequest).field_violations]  # type: ignore[attr-defined]


async def test_update_task_changes_only_the_masked_fields_and_the_etag(
    channel: Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    task = await make_task(channel, owner, title="Old", keywords="old")
    change = tasks_pb2.Task(id=task.id, etag=task.etag, title="New", keywords="ignored", word_count=900)
    updated = await tasks_stub(channel).UpdateTask(update(change, "title", "word_count"), metadata=owner.metadata())
    assert (updated.title, updated.keywords, updated.word_count) == ("New", "old", 900)
    assert updated.etag != task.etag
    assert updated.cluster_name == task.cluster_name and updated.sector_name == task.sector_name
    assert await get(channel, owner, task.id) == updated


async def test_update_task_with_a_stale_etag_is_aborted(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    task = await make_task(channel, owner)
    await tasks_stub(channel).UpdateTask(update(tasks_pb2.Task(id=task.id, title="first"), "title"),
                                         metadata=owner.metadata())
    stale = tasks_pb2.Task(id=task.id, etag=task.etag, title="second")
    error = await expect_error(tasks_stub(channel).UpdateTask(update(stale, "title"), metadata=owner.metadata()),
                               grpc.StatusCode.ABORTED)
    assert error.info.reason == "ETAG_MISMATCH"
    assert (await get(channel, owner, task.id)).title == "first"


@pytest.mark.parametrize("path", ["status", "cluster_name", "sector_name", "etag", "create_time", "site_id", "nope"])
async def test_update_task_refuses_a_path_that_is_not_updatable(
    channel: Channel, tenants: TenantFactory, path: str
) -> None:
    owner = await tenants.account()
    task = await make_task(channel, owner)
    error = await expect_error(tasks_stub(channel).UpdateTask(update(tasks_pb2.Task(id=task.id), path),
                                                              metadata=owner.metadata()),
                               grpc.StatusCode.INVALID_ARGUMENT)
    assert fields_of(error) == ["update_mask"]


async def test_update_task_requires_a_mask(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    task = await make_task(channel, owner)
    error = await expect_error(tasks_stub(channel).UpdateTask(update(tasks_pb2.Task(id=task.id, title="x")),
                                                              metadata=owner.metadata()),
                               grpc.StatusCode.INVALID_ARGUMENT)
    assert fields_of(error) == ["update_mask"]


async def test_update_task_cannot_empty_a_required_field(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    task = await make_task(channel, owner)
    emptied = tasks_pb2.Task(id=task.id)
    error = await expect_error(tasks_stub(channel).UpdateTask(update(emptied, "*"), metadata=owner.metadata()),
                               grpc.StatusCode.INVALID_ARGUMENT)
    assert fields_of(error) == ["task.title", "task.cluster_id", "task.content_type", "task.content_structure"]
    error = await expect_error(tasks_stub(channel).UpdateTask(update(tasks_pb2.Task(id=task.id, title="x" * 256),
                                                                     "title"), metadata=owner.metadata()),
                               grpc.StatusCode.INVALID_ARGUMENT)
    assert fields_of(error) == ["task.title"]


async def test_update_task_with_star_replaces_every_updatable_field(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    task = await make_task(channel, owner)
    cluster = await make_cluster(channel, owner, name="Second cluster")
    whole = tasks_pb2.Task(id=task.id, title="All new", cluster_id=cluster.id, description="d", keywords="k",
                           content_type=common_pb2.CONTENT_TYPE_SERVICE, word_count=10,
                           content_structure=common_pb2.CONTENT_STRUCTURE_LANDING_PAGE,
                           status=tasks_pb2.TASK_STATUS_COMPLETED)
    updated = await tasks_stub(channel).UpdateTask(update(whole, "*"), metadata=owner.metadata())
    assert (updated.title, updated.cluster_id, updated.cluster_name) == ("All new", cluster.id, "Second cluster")
    assert updated.content_type == common_pb2.CONTENT_TYPE_SERVICE
    assert updated.status == tasks_pb2.TASK_STATUS_QUEUED  # status is not updatable here


async def test_update_task_revalidates_a_new_cluster(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    task = await make_task(channel, owner)
    elsewhere = await make_cluster(channel, await tenants.site(owner))
    moved = update(tasks_pb2.Task(id=task.id, cluster_id=elsewhere.id), "cluster_id")
    error = await expect_error(tasks_stub(channel).UpdateTask(moved, metadata=owner.metadata(site=False,
                                                                                              sector=False)),
                               grpc.StatusCode.INVALID_ARGUMENT)
    assert fields_of(error) == ["task.cluster_id"]
    foreign = await make_cluster(channel, await tenants.account())
    moved = update(tasks_pb2.Task(id=task.id, cluster_id=foreign.id), "cluster_id")
    await expect_error(tasks_stub(channel).UpdateTask(moved, metadata=owner.metadata()), grpc.StatusCode.NOT_FOUND)


async def test_update_task_keeps_the_task_and_its_idea_in_one_cluster(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    idea = await make_idea(channel, owner)
    task = await make_task(channel, owner, cluster_id=idea.cluster_id, idea_id=idea.id)
    other = await make_cluster(channel, owner)
    moved = update(tasks_pb2.Task(id=task.id, cluster_id=other.id), "cluster_id")
    error = await expect_error(tasks_stub(channel).UpdateTask(moved, metadata=owner.metadata()),
                               grpc.StatusCode.INVALID_ARGUMENT)
    assert error.info.reason == "IDEA_CLUSTER_MISMATCH" and fields_of(error) == ["task.cluster_id"]
    unlinked = update(tasks_pb2.Task(id=task.id, cluster_id=other.id, idea_id=0), "cluster_id", "idea_id")
    updated = await tasks_stub(channel).UpdateTask(unlinked, metadata=owner.metadata())
    assert (updated.cluster_id, updated.idea_id) == (other.id, 0)


async def test_update_task_cannot_take_an_idea_that_has_a_task(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    idea = await make_idea(channel, owner)
    await make_task(channel, owner, cluster_id=idea.cluster_id, idea_id=idea.id)
    second = await make_task(channel, owner, cluster_id=idea.cluster_id)
    taking = update(tasks_pb2.Task(id=second.id, idea_id=idea.id), "idea_id")
    await expect_error(tasks_stub(channel).UpdateTask(taking, metadata=owner.metadata()),
                       grpc.StatusCode.ALREADY_EXISTS)


async def test_update_of_a_deleted_task_is_not_found(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    task = await make_task(channel, owner)
    await tasks_stub(channel).DeleteTask(tasks_pb2.DeleteTaskRequest(id=task.id), metadata=owner.metadata())
    await expect_error(tasks_stub(channel).UpdateTask(update(tasks_pb2.Task(id=task.id, title="x"), "title"),
                                                      metadata=owner.metadata()), grpc.StatusCode.NOT_FOUND)


async def test_delete_task_is_soft_and_get_still_returns_it(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    task = await make_task(channel, owner)
    deleted = await tasks_stub(channel).DeleteTask(tasks_pb2.DeleteTaskRequest(id=task.id, etag=task.etag),
                                                   metadata=owner.metadata())
    assert deleted.HasField("delete_time") and deleted.cluster_name == task.cluster_name
    assert await get(channel, owner, task.id) == deleted
    listed = await tasks_stub(channel).ListTasks(tasks_pb2.ListTasksRequest(), metadata=owner.metadata())
    assert not listed.tasks
    await expect_error(tasks_stub(channel).DeleteTask(tasks_pb2.DeleteTaskRequest(id=task.id),
                                                      metadata=owner.metadata()), grpc.StatusCode.NOT_FOUND)


async def test_delete_task_with_a_stale_etag_is_aborted(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    task = await make_task(channel, owner)
    await tasks_stub(channel).UpdateTask(update(tasks_pb2.Task(id=task.id, title="x"), "title"),
                                         metadata=owner.metadata())
    await expect_error(tasks_stub(channel).DeleteTask(tasks_pb2.DeleteTaskRequest(id=task.id, etag=task.etag),
                                                      metadata=owner.metadata()), grpc.StatusCode.ABORTED)
    assert not (await get(channel, owner, task.id)).HasField("delete_time")


async def test_delete_task_of_another_account_is_not_found(channel: Channel, tenants: TenantFactory) -> None:
    task = await make_task(channel, await tenants.account())
    stranger = await tenants.account()
    await expect_error(tasks_stub(channel).DeleteTask(tasks_pb2.DeleteTaskRequest(id=task.id),
                                                      metadata=stranger.metadata()), grpc.StatusCode.NOT_FOUND)


async def test_undelete_task_restores_it(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    task = await make_task(channel, owner)
    deleted = await tasks_stub(channel).DeleteTask(tasks_pb2.DeleteTaskRequest(id=task.id), metadata=owner.metadata())
    await expect_error(tasks_stub(channel).UndeleteTask(tasks_pb2.UndeleteTaskRequest(id=task.id, etag=task.etag),
                                                        metadata=owner.metadata()), grpc.StatusCode.ABORTED)
    restored = await tasks_stub(channel).UndeleteTask(tasks_pb2.UndeleteTaskRequest(id=task.id, etag=deleted.etag),
                                                      metadata=owner.metadata())
    assert not restored.HasField("delete_time")
    listed = await tasks_stub(channel).ListTasks(tasks_pb2.ListTasksRequest(), metadata=owner.metadata())
    assert [t.id for t in listed.tasks] == [task.id]


async def test_undelete_of_a_live_task_is_failed_precondition(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    task = await make_task(channel, owner)
    error = await expect_error(tasks_stub(channel).UndeleteTask(tasks_pb2.UndeleteTaskRequest(id=task.id),
                                                                metadata=owner.metadata()),
                               grpc.StatusCode.FAILED_PRECONDITION)
    assert error.info.reason == "NOT_DELETED"
    assert error.detail(error_details_pb2.PreconditionFailure).violations[0].subject == f"task/{task.id}"
