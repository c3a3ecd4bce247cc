"""TasksService bulk methods: BatchDeleteTasks and BatchUpdateTaskStatus, all or nothing."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc.aio import Channel

from igny8.writer.v1 import planner_pb2, tasks_pb2
from tests.conftest import Tenant, TenantFactory
from tests.factories.planner import make_idea, planner_stub
from tests.factories.tasks import make_task, tasks_stub
from tests.rich import expect_error

pytestmark = pytest.mark.asyncio(loop_scope="session")

QUEUED, COMPLETED = tasks_pb2.TASK_STATUS_QUEUED, tasks_pb2.TASK_STATUS_COMPLETED


async def make_tasks(channel: Channel, owner: Tenant, count: int, **fields: object) -> list[tasks_pb2.Task]:
    first = await make_task(channel, owner, **fields)  # type: ignore[arg-type]
    rest = [await make_task(channel, owner, cluster_id=first.cluster_id, **fields)  # type: ignore[arg-type]
            for _ in range(count - 1)]
    return [first, *rest]


async def live_ids(channel: Channel, owner: Tenant) -> set[int]:
    listed = await tasks_stub(channel).ListTasks(tasks_pb2.ListTasksRequest(), metadata=owner.metadata())
    return {t.id for t in listed.tasks}


async def statuses(channel: Channel, owner: Tenant) -> dict[int, int]:
    listed = await tasks_stub(channel).ListTasks(tasks_pb2.ListTasksRequest(), metadata=owner.metadata())
    return {t.id: t.status for t in listed.tasks}


def delete(*ids: int) -> tasks_pb2.BatchDeleteTasksRequest:
    return tasks_pb2.BatchDeleteTasksRequest(ids=list(ids))


def set_status(status: int, *ids: int) -> tasks_pb2.BatchUpdateTaskStatusRequest:
    return tasks_pb2.BatchUpdateTaskStatusRequest(ids=list(ids), status=status)  # type: ignore[arg-type]


def bad_request(error: object) -> list[tuple[str, str]]:
    violations = error.detail(error_details_pb2.BadRequest).field_violations  # type: ignore[attr-defined]
    return [(v.field, v.description) for v in violations]


async def test_batch_delete_soft_deletes_every_task_in_request_order(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    a, b, c = await make_tasks(channel, owner, 3)
    answer = await tasks_stub(channel).BatchDeleteTasks(delete(c.id, a.id), metadata=owner.metadata())
    assert [t.id for t in answer.tasks] == [c.id, a.id]
    assert all(t.HasField("delete_time") and t.cluster_name for t in answer.tasks)
    assert await live_ids(channel, owner) == {b.id}


@pytest.mark.parametrize(("ids", "needle"), [
    ([], "required"),
    (list(range(1, 102)), "at most 100"),
    ([7, 7], "duplicated ids: 7"),
    ([0], "positive"),
])
async def test_batch_delete_with_bad_ids_is_invalid_argument(
    channel: Channel, tenants: TenantFactory, ids: list[int], needle: str
) -> None:
    owner = await tenants.account()
    error = await expect_error(tasks_stub(channel).BatchDeleteTasks(delete(*ids), metadata=owner.metadata()),
                               grpc.StatusCode.INVALID_ARGUMENT)
    [(field, description)] = bad_request(error)
    assert field == "ids" and needle in description


async def test_batch_delete_with_duplicated_real_ids_deletes_nothing(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    a, b = await make_tasks(channel, owner, 2)
    await expect_error(tasks_stub(channel).BatchDeleteTasks(delete(a.id, b.id, a.id), metadata=owner.metadata()),
                       grpc.StatusCode.INVALID_ARGUMENT)
    assert await live_ids(channel, owner) == {a.id, b.id}


async def test_batch_delete_with_an_unknown_or_foreign_id_deletes_nothing(
    channel: Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    a, b = await make_tasks(channel, owner, 2)
    foreign = await make_task(channel, await tenants.account())
    unknown = 10**12
    error = await expect_error(
        tasks_stub(channel).BatchDeleteTasks(delete(a.id, unknown, b.id, foreign.id), metadata=owner.metadata()),
        grpc.StatusCode.NOT_FOUND)
    assert error.info.metadata["missing_ids"] == f"{unknown},{foreign.id}"
    assert await live_ids(channel, owner) == {a.id, b.id}


async def test_batch_delete_of_an_already_deleted_task_deletes_nothing(
    channel: Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    a, b = await make_tasks(channel, owner, 2)
    await tasks_stub(channel).DeleteTask(tasks_pb2.DeleteTaskRequest(id=a.id), metadata=owner.metadata())
    error = await expect_error(tasks_stub(channel).BatchDeleteTasks(delete(a.id, b.id), metadata=owner.metadata()),
                               grpc.StatusCode.NOT_FOUND)
    assert error.info.metadata["missing_ids"] == str(a.id)
    assert await live_ids(channel, owner) == {b.id}


async def test_batch_delete_accepts_exactly_100_ids(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    tasks = await make_tasks(channel, owner, 100)
    answer = await tasks_stub(channel).BatchDeleteTasks(delete(*(t.id for t in tasks)), metadata=owner.metadata())
    assert len(answer.tasks) == 100 and not await live_ids(channel, owner)


async def test_batch_status_completes_queued_tasks_and_leaves_completed_ones_as_they_are(
    channel: Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    queued = await make_task(channel, owner)
    done = await make_task(channel, owner, status=COMPLETED)
    answer = await tasks_stub(channel).BatchUpdateTaskStatus(set_status(COMPLETED, done.id, queued.id),
                                                             metadata=owner.metadata())
    assert [(t.id, t.status) for t in answer.tasks] == [(done.id, COMPLETED), (queued.id, COMPLETED)]
    assert answer.tasks[0].etag == done.etag  # already there: not touched
    assert answer.tasks[1].etag != queued.etag


async def test_batch_status_completing_a_task_completes_its_idea(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    idea = await make_idea(channel, owner)
    task = await make_task(channel, owner, cluster_id=idea.cluster_id, idea_id=idea.id)
    await tasks_stub(channel).BatchUpdateTaskStatus(set_status(COMPLETED, task.id), metadata=owner.metadata())
    idea = await planner_stub(channel).GetContentIdea(planner_pb2.GetContentIdeaRequest(id=idea.id),
                                                      metadata=owner.metadata())
    assert idea.status == planner_pb2.CONTENT_IDEA_STATUS_COMPLETED


async def test_batch_status_refuses_a_disallowed_move_with_one_violation_per_task_and_changes_nothing(
    channel: Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    queued = await make_task(channel, owner)
    done_a = await make_task(channel, owner, status=COMPLETED)
    done_b = await make_task(channel, owner, status=COMPLETED)
    error = await expect_error(
        tasks_stub(channel).BatchUpdateTaskStatus(set_status(QUEUED, done_a.id, queued.id, done_b.id),
                                                  metadata=owner.metadata()),
        grpc.StatusCode.FAILED_PRECONDITION)
    violations = error.detail(error_details_pb2.PreconditionFailure).violations
    assert [v.subject for v in violations] == [f"task/{done_a.id}", f"task/{done_b.id}"]
    assert error.info.reason == "INVALID_STATE_TRANSITION"
    assert await statuses(channel, owner) == {queued.id: QUEUED, done_a.id: COMPLETED, done_b.id: COMPLETED}


async def test_batch_status_with_a_failed_move_completes_nothing(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    queued = await make_task(channel, owner)
    deleted = await make_task(channel, owner)
    await tasks_stub(channel).DeleteTask(tasks_pb2.DeleteTaskRequest(id=deleted.id), metadata=owner.metadata())
    await expect_error(tasks_stub(channel).BatchUpdateTaskStatus(set_status(COMPLETED, queued.id, deleted.id),
                                                                 metadata=owner.metadata()),
                       grpc.StatusCode.NOT_FOUND)
    assert await statuses(channel, owner) == {queued.id: QUEUED}


async def test_batch_status_requires_a_status(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    task = await make_task(channel, owner)
    error = await expect_error(
        tasks_stub(channel).BatchUpdateTaskStatus(set_status(tasks_pb2.TASK_STATUS_UNSPECIFIED, task.id),
                                                  metadata=owner.metadata()),
        grpc.StatusCode.INVALID_ARGUMENT)
    assert bad_request(error)[0][0] == "status"


@pytest.mark.parametrize(("ids", "needle"), [([], "required"), (list(range(1, 102)), "at most 100"),
                                             ([3, 4, 3], "duplicated ids: 3")])
async def test_batch_status_with_bad_ids_is_invalid_argument(
    channel: Channel, tenants: TenantFactory, ids: list[int], needle: str
) -> None:
    owner = await tenants.account()
    error = await expect_error(
        tasks_stub(channel).BatchUpdateTaskStatus(set_status(COMPLETED, *ids), metadata=owner.metadata()),
        grpc.StatusCode.INVALID_ARGUMENT)
    [(field, description)] = bad_request(error)
    assert field == "ids" and needle in description


async def test_batch_status_of_a_foreign_task_is_not_found(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    mine = await make_task(channel, owner)
    foreign = await make_task(channel, await tenants.account())
    error = await expect_error(
        tasks_stub(channel).BatchUpdateTaskStatus(set_status(COMPLETED, mine.id, foreign.id),
                                                  metadata=owner.metadata()),
        grpc.StatusCode.NOT_FOUND)
    assert error.info.metadata["missing_ids"] == str(foreign.id)
    assert await statuses(channel, owner) == {mine.id: QUEUED}
