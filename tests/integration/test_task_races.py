"""TasksService under concurrent calls: races end in a defined answer, never INTERNAL."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from google.protobuf import field_mask_pb2
from grpc.aio import Channel

from igny8.writer.v1 import planner_pb2, tasks_pb2
from tests.conftest import TenantFactory
from tests.factories.planner import make_idea, planner_stub
from tests.factories.tasks import make_task, tasks_stub

pytestmark = pytest.mark.asyncio(loop_scope="session")



async def test_tasks_racing_for_one_idea_make_exactly_one_task(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    idea = await make_idea(channel, owner)
    results = await asyncio.gather(
        *(make_task(channel, owner, cluster_id=idea.cluster_id, idea_id=idea.id) for _ in range(5)),
        return_exceptions=True)
    made = [r for r in results if isinstance(r, tasks_pb2.Task)]
    refused = [r.code() for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(made) == 1 and refused == [grpc.StatusCode.ALREADY_EXISTS] * 4
    idea = await planner_stub(channel).GetContentIdea(planner_pb2.GetContentIdeaRequest(id=idea.id),
                                                      metadata=owner.metadata())
    assert idea.status == planner_pb2.CONTENT_IDEA_STATUS_QUEUED


async def test_concurrent_status_batches_over_the_same_tasks_both_succeed(
    channel: Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    first = await make_task(channel, owner)
    tasks = [first, *[await make_task(channel, owner, cluster_id=first.cluster_id) for _ in range(4)]]
    request = tasks_pb2.BatchUpdateTaskStatusRequest(ids=[t.id for t in tasks], status=tasks_pb2.TASK_STATUS_COMPLETED)
    answers = await asyncio.gather(*(tasks_stub(channel).BatchUpdateTaskStatus(request, metadata=owner.metadata())
                                     for _ in range(3)))
    for answer in answers:
        assert {t.status for t in answer.tasks} == {tasks_pb2.TASK_STATUS_COMPLETED}


async def test_concurrent_batch_deletes_of_one_task_delete_it_once(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    task = await make_task(channel, owner)
    request = tasks_pb2.BatchDeleteTasksRequest(ids=[task.id])
    results = await asyncio.gather(*(tasks_stub(channel).BatchDeleteTasks(request, metadata=owner.metadata())
                                     for _ in range(3)), return_exceptions=True)
    succeeded = [r for r in results if isinstance(r, tasks_pb2.BatchDeleteTasksResponse)]
    refused = [r.code() for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(succeeded) == 1 and refused == [grpc.StatusCode.NOT_FOUND] * 2


async def test_concurrent_updates_without_etag_all_apply(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    task = await make_task(channel, owner)
    mask = field_mask_pb2.FieldMask(paths=["word_count"])
    await asyncio.gather(*(tasks_stub(channel).UpdateTask(
        tasks_pb2.UpdateTaskRequest(task=tasks_pb2.Task(id=task.id, word_count=n), update_mask=mask),
        metadata=owner.metadata()) for n in range(1, 6)))
    final = await tasks_stub(channel).GetTask(tasks_pb2.GetTaskRequest(id=task.id), metadata=owner.metadata())
    assert final.word_count in range(1, 6) and final.etag == 'W/"6"'
