"""AutoGenerateContent end to end in one process: jobs, content, credits, ledger and AI logs."""

from __future__ import annotations

import asyncio
import uuid

import grpc
import pytest
from google.rpc import error_details_pb2
from sqlalchemy import func, select

from igny8.writer.v1 import jobs_pb2, jobs_pb2_grpc, tasks_pb2
from tests.conftest import Tenant, TenantFactory
from tests.factories.tasks import make_task, tasks_stub
from tests.rich import expect_error
from writer_service.db.database import Database
from writer_service.db.models import Account, AIRequestLog, Content, CreditTransaction, Job

pytestmark = pytest.mark.asyncio(loop_scope="session")

SUCCEEDED = jobs_pb2.JOB_STATE_SUCCEEDED


async def generate(channel: grpc.aio.Channel, tenant: Tenant, task_ids: list[int], **kw: object) -> jobs_pb2.Job:
    request = tasks_pb2.AutoGenerateContentRequest(task_ids=task_ids, **kw)  # type: ignore[arg-type]
    return (await tasks_stub(channel).AutoGenerateContent(request, metadata=tenant.metadata())).job


async def balance(db: Database, account_id: int) -> int:
    async with db.read() as session:
        return int(await session.scalar(select(Account.credits).where(Account.id == account_id)) or 0)


async def ledger_sum(db: Database, account_id: int, kinds: tuple[str, ...] = ("reserve", "settle", "release")) -> int:
    async with db.read() as session:
        return int(await session.scalar(
            select(func.coalesce(func.sum(CreditTransaction.amount), 0))
            .where(CreditTransaction.account_id == account_id, CreditTransaction.kind.in_(kinds))) or 0)


async def test_waiting_call_returns_the_finished_job_with_content_and_credits_accounted(
    channel: grpc.aio.Channel, tenants: TenantFactory, db: Database
) -> None:
    owner = await tenants.account(credits=500)
    tasks = [await make_task(channel, owner, word_count=400, keywords="trail shoes, running") for _ in range(2)]
    job = await generate(channel, owner, [t.id for t in tasks], wait=True)

    assert job.state == SUCCEEDED
    assert (job.total_items, job.succeeded_items) == (2, 2)
    assert job.credits_reserved == job.credits_charged + job.credits_released
    assert all(i.result_content_id for i in job.items)
    async with db.read() as session:
        contents = (await session.scalars(select(Content).where(Content.account_id == owner.account_id))).all()
        logs = (await session.scalars(select(AIRequestLog).where(AIRequestLog.job_id == job.id))).all()
    assert sorted(c.task_id or 0 for c in contents) == sorted(t.id for t in tasks)
    assert all(c.status == "draft" and c.source == "igny8" and c.word_count > 0 for c in contents)
    assert sum(log.credits for log in logs) == job.credits_charged
    assert await balance(db, owner.account_id) == 500 - job.credits_charged
    assert await ledger_sum(db, owner.account_id) == -job.credits_charged
    for task in tasks:
        fetched = await tasks_stub(channel).GetTask(tasks_pb2.GetTaskRequest(id=task.id), metadata=owner.metadata())
        assert fetched.status == tasks_pb2.TASK_STATUS_COMPLETED


async def test_empty_too_many_or_repeated_ids_are_invalid(channel: grpc.aio.Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    for ids in ([], list(range(1, 12)), [5, 5]):
        error = await expect_error(generate(channel, owner, ids), grpc.StatusCode.INVALID_ARGUMENT)
        assert error.detail(error_details_pb2.BadRequest).field_violations


async def test_unknown_deleted_or_foreign_tasks_are_not_found_by_id(
    channel: grpc.aio.Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    stranger = await tenants.account()
    mine = await make_task(channel, owner)
    deleted = await make_task(channel, owner)
    await tasks_stub(channel).DeleteTask(tasks_pb2.DeleteTaskRequest(id=deleted.id), metadata=owner.metadata())
    foreign = await make_task(channel, stranger)
    error = await expect_error(generate(channel, owner, [mine.id, deleted.id, foreign.id, 999_999_999]),
                               grpc.StatusCode.NOT_FOUND)
    assert error.info.metadata["missing_ids"] == f"{deleted.id},{foreign.id},999999999"


async def test_completed_tasks_are_refused_by_name(channel: grpc.aio.Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account(credits=500)
    task = await make_task(channel, owner, word_count=300)
    await generate(channel, owner, [task.id], wait=True)
    error = await expect_error(generate(channel, owner, [task.id]), grpc.StatusCode.FAILED_PRECONDITION)
    assert error.info.reason == "TASKS_COMPLETED"
    assert error.detail(error_details_pb2.PreconditionFailure).violations[0].subject == f"task/{task.id}"


async def test_insufficient_credits_is_resource_exhausted_and_writes_nothing(
    channel: grpc.aio.Channel, tenants: TenantFactory, db: Database
) -> None:
    owner = await tenants.account(credits=3)
    task = await make_task(channel, owner, word_count=2000)
    error = await expect_error(generate(channel, owner, [task.id]), grpc.StatusCode.RESOURCE_EXHAUSTED)
    assert error.info.reason == "INSUFFICIENT_CREDITS"
    assert int(error.info.metadata["required"]) > 3 and error.info.metadata["available"] == "3"
    assert error.detail(error_details_pb2.QuotaFailure).violations
    async with db.read() as session:
        jobs_written = await session.scalar(
            select(func.count()).select_from(Job).where(Job.account_id == owner.account_id))
    assert jobs_written == 0
    assert await balance(db, owner.account_id) == 3
    assert await ledger_sum(db, owner.account_id) == 0


async def test_retry_with_the_same_request_id_returns_the_first_job_and_reserves_once(
    channel: grpc.aio.Channel, tenants: TenantFactory, db: Database
) -> None:
    owner = await tenants.account(credits=500)
    task = await make_task(channel, owner, word_count=300)
    request_id = str(uuid.uuid4())
    first, second = await asyncio.gather(generate(channel, owner, [task.id], request_id=request_id),
                                         generate(channel, owner, [task.id], request_id=request_id))
    assert first.id == second.id
    async with db.read() as session:
        reserves = await session.scalar(select(func.count()).select_from(CreditTransaction).where(
            CreditTransaction.account_id == owner.account_id, CreditTransaction.kind == "reserve"))
    assert reserves == 1


async def test_malformed_request_id_is_invalid(channel: grpc.aio.Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    task = await make_task(channel, owner)
    await expect_error(generate(channel, owner, [task.id], request_id="again"), grpc.StatusCode.INVALID_ARGUMENT)


async def test_platform_role_without_account_is_failed_precondition(
    channel: grpc.aio.Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    admin = await tenants.user(owner, "admin")
    task = await make_task(channel, owner)
    call = tasks_stub(channel).AutoGenerateContent(tasks_pb2.AutoGenerateContentRequest(task_ids=[task.id]),
                                                   metadata=(("authorization", f"Bearer {admin.api_key}"),))
    error = await expect_error(call, grpc.StatusCode.FAILED_PRECONDITION)
    assert error.info.reason == "ACCOUNT_REQUIRED"


async def test_another_account_cannot_see_or_watch_the_job(channel: grpc.aio.Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account(credits=500)
    stranger = await tenants.account()
    job = await generate(channel, owner, [(await make_task(channel, owner, word_count=300)).id], wait=True)
    stub = jobs_pb2_grpc.JobsServiceStub(channel)
    await expect_error(stub.GetJob(jobs_pb2.GetJobRequest(id=job.id), metadata=stranger.metadata()),
                       grpc.StatusCode.NOT_FOUND)
    watch = stub.WatchJob(jobs_pb2.WatchJobRequest(job_id=job.id), metadata=stranger.metadata())
    await expect_error(_drain(watch), grpc.StatusCode.NOT_FOUND)
    listed = await stub.ListJobs(jobs_pb2.ListJobsRequest(), metadata=stranger.metadata())
    assert job.id not in [j.id for j in listed.jobs]
    mine = await stub.ListJobs(jobs_pb2.ListJobsRequest(filter='state = "succeeded"'), metadata=owner.metadata())
    assert [j.id for j in mine.jobs] == [job.id]


async def _drain(stream: grpc.aio.UnaryStreamCall) -> list[object]:
    return [e async for e in stream]


