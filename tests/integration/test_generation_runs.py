"""How generation items run: failures, retries, cancellation, and running one item twice."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import grpc
import pytest
from sqlalchemy import func, select

from igny8.writer.v1 import jobs_pb2, jobs_pb2_grpc
from tests.conftest import TenantFactory
from tests.factories.tasks import make_task
from tests.fakes.text_providers import ScriptedText, text_provider
from tests.integration.test_generation import balance, generate, ledger_sum
from tests.rich import expect_error
from writer_service.ai.errors import ProviderUnavailable, QuotaExceeded
from writer_service.api.server import WriterServer
from writer_service.db.database import Database
from writer_service.db.models import Content, CreditTransaction, JobItem
from writer_service.services import content_generation

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture
def scripted(writer: WriterServer) -> Iterator[ScriptedText]:
    """The test server writes through a ScriptedText around its real provider; retries are quick."""
    dispatcher = writer.runtime.dispatcher
    before = dispatcher.backoff_seconds  # type: ignore[union-attr]
    dispatcher.backoff_seconds = 0.01  # type: ignore[union-attr]
    real = dispatcher.run_item.writer.text  # type: ignore[union-attr]
    with text_provider(writer, ScriptedText(inner=real)) as provider:
        yield provider
    dispatcher.backoff_seconds = before  # type: ignore[union-attr]


def watch(channel: grpc.aio.Channel, metadata: tuple[tuple[str, str], ...], job_id: int) -> grpc.aio.UnaryStreamCall:
    return jobs_pb2_grpc.JobsServiceStub(channel).WatchJob(jobs_pb2.WatchJobRequest(job_id=job_id), metadata=metadata)


async def test_permanent_failure_fails_the_item_with_its_reason_and_releases_its_credits(
    channel: grpc.aio.Channel, tenants: TenantFactory, db: Database, scripted: ScriptedText
) -> None:
    owner = await tenants.account(credits=100)
    task = await make_task(channel, owner, word_count=300)
    scripted.errors = [QuotaExceeded("the provider account has no quota left")]
    job = await generate(channel, owner, [task.id], wait=True)
    assert job.state == jobs_pb2.JOB_STATE_FAILED
    assert job.items[0].state == jobs_pb2.JOB_ITEM_STATE_FAILED
    assert job.items[0].error_reason.startswith("QUOTA_EXCEEDED")
    assert job.credits_released == job.credits_reserved and job.credits_charged == 0
    assert await balance(db, owner.account_id) == 100
    assert await ledger_sum(db, owner.account_id) == 0


async def test_retryable_failure_is_tried_again_and_succeeds(
    channel: grpc.aio.Channel, tenants: TenantFactory, scripted: ScriptedText
) -> None:
    owner = await tenants.account(credits=100)
    task = await make_task(channel, owner, word_count=300)
    scripted.errors = [ProviderUnavailable("503 from the provider")]
    job = await generate(channel, owner, [task.id], wait=True)
    assert job.state == jobs_pb2.JOB_STATE_SUCCEEDED
    assert job.items[0].attempts == 2


async def test_retryable_failure_gives_up_after_the_last_attempt(
    channel: grpc.aio.Channel, tenants: TenantFactory, scripted: ScriptedText
) -> None:
    owner = await tenants.account(credits=100)
    task = await make_task(channel, owner, word_count=300)
    scripted.errors = [ProviderUnavailable("503") for _ in range(3)]
    job = await generate(channel, owner, [task.id], wait=True)
    assert job.state == jobs_pb2.JOB_STATE_FAILED
    assert job.items[0].attempts == 3


async def test_an_unexpected_error_in_a_run_is_tried_again_and_the_item_succeeds(
    channel: grpc.aio.Channel, tenants: TenantFactory, scripted: ScriptedText
) -> None:
    owner = await tenants.account(credits=100)
    task = await make_task(channel, owner, word_count=300)
    scripted.errors = [ConnectionResetError("server closed the connection")]  # type: ignore[list-item]
    job = await generate(channel, owner, [task.id], wait=True)
    assert job.state == jobs_pb2.JOB_STATE_SUCCEEDED
    assert job.items[0].attempts == 2


async def test_an_item_whose_runs_keep_failing_unexpectedly_fails_and_releases_its_credits(
    channel: grpc.aio.Channel, tenants: TenantFactory, db: Database, scripted: ScriptedText
) -> None:
    owner = await tenants.account(credits=100)
    task = await make_task(channel, owner, word_count=300)
    scripted.errors = [RuntimeError("a bug") for _ in range(3)]  # type: ignore[misc]
    job = await generate(channel, owner, [task.id], wait=True)
    assert job.state == jobs_pb2.JOB_STATE_FAILED
    assert (job.items[0].attempts, job.items[0].state) == (3, jobs_pb2.JOB_ITEM_STATE_FAILED)
    assert job.items[0].error_reason.startswith("INTERNAL_ERROR:") and "RuntimeError" in job.items[0].error_reason
    assert job.credits_released == job.credits_reserved and job.credits_charged == 0
    assert await balance(db, owner.account_id) == 100
    assert await ledger_sum(db, owner.account_id) == 0


async def test_task_in_a_running_job_is_refused_by_name(
    channel: grpc.aio.Channel, tenants: TenantFactory, scripted: ScriptedText
) -> None:
    owner = await tenants.account(credits=100)
    task = await make_task(channel, owner, word_count=300)
    scripted.gate = asyncio.Event()
    job = await generate(channel, owner, [task.id])
    error = await expect_error(generate(channel, owner, [task.id]), grpc.StatusCode.FAILED_PRECONDITION)
    assert error.info.reason == "TASKS_IN_RUNNING_JOB"
    assert error.info.metadata["task_ids"] == str(task.id)
    scripted.gate.set()
    assert [e async for e in watch(channel, owner.metadata(), job.id)][-1].job.state == jobs_pb2.JOB_STATE_SUCCEEDED


async def test_cancel_stops_items_not_started_and_releases_their_credits(
    channel: grpc.aio.Channel, tenants: TenantFactory, db: Database, writer: WriterServer, scripted: ScriptedText
) -> None:
    owner = await tenants.account(credits=500)
    tasks = [await make_task(channel, owner, word_count=300) for _ in range(4)]
    scripted.gate = asyncio.Event()
    job = await generate(channel, owner, [t.id for t in tasks])
    await scripted.started.wait()
    stub = jobs_pb2_grpc.JobsServiceStub(channel)
    cancelled = await stub.CancelJob(jobs_pb2.CancelJobRequest(id=job.id), metadata=owner.metadata())
    assert cancelled.cancelled_items >= 2  # the in-process runner runs two items at a time
    scripted.gate.set()
    final = [e async for e in watch(channel, owner.metadata(), job.id)][-1].job
    assert final.state == jobs_pb2.JOB_STATE_CANCELLED
    assert final.succeeded_items + final.cancelled_items == 4
    assert await balance(db, owner.account_id) == 500 - final.credits_charged
    await expect_error(stub.CancelJob(jobs_pb2.CancelJobRequest(id=job.id), metadata=owner.metadata()),
                       grpc.StatusCode.FAILED_PRECONDITION)


async def test_running_one_item_twice_at_once_makes_one_content_and_one_charge(
    channel: grpc.aio.Channel, tenants: TenantFactory, db: Database, writer: WriterServer, scripted: ScriptedText
) -> None:
    owner = await tenants.account(credits=100)
    task = await make_task(channel, owner, word_count=300)
    scripted.gate = asyncio.Event()
    job = await generate(channel, owner, [task.id])
    await scripted.started.wait()
    item_id = job.items[0].id
    duplicate = asyncio.ensure_future(
        content_generation.run_item(writer.runtime.dispatcher.run_item.writer, item_id=item_id))  # type: ignore[union-attr]
    await asyncio.sleep(0.1)
    scripted.gate.set()
    await duplicate
    await writer.runtime.dispatcher.drain()  # type: ignore[union-attr]
    async with db.read() as session:
        contents = await session.scalar(select(func.count()).select_from(Content).where(Content.task_id == task.id))
        settles = await session.scalar(select(func.count()).select_from(CreditTransaction).where(
            CreditTransaction.job_id == job.id, CreditTransaction.kind == "settle"))
        item = await session.get(JobItem, item_id)
    assert (contents, settles) == (1, 1)
    assert item is not None and item.state == "succeeded"


async def test_watch_job_streams_a_snapshot_then_every_change_to_the_end(
    channel: grpc.aio.Channel, tenants: TenantFactory, scripted: ScriptedText
) -> None:
    owner = await tenants.account(credits=500)
    tasks = [await make_task(channel, owner, word_count=300) for _ in range(3)]
    scripted.gate = asyncio.Event()
    job = await generate(channel, owner, [t.id for t in tasks])
    stream = watch(channel, owner.metadata(), job.id)
    first = await stream.read()
    assert first.type == jobs_pb2.JOB_EVENT_TYPE_SNAPSHOT
    assert first.job.state in (jobs_pb2.JOB_STATE_PENDING, jobs_pb2.JOB_STATE_RUNNING)
    scripted.gate.set()
    events = [first]
    while (event := await stream.read()) is not grpc.aio.EOF:
        events.append(event)
    assert events[-1].type == jobs_pb2.JOB_EVENT_TYPE_JOB_SUCCEEDED
    assert events[-1].job.state == jobs_pb2.JOB_STATE_SUCCEEDED and len(events[-1].job.items) == 3
    sequences = [e.sequence for e in events]
    assert sequences == list(range(sequences[0], sequences[0] + len(events)))  # one event per change
    succeeded = [e for e in events if e.type == jobs_pb2.JOB_EVENT_TYPE_ITEM_SUCCEEDED]
    assert sorted(e.item.task_id for e in succeeded) == sorted(t.id for t in tasks)
    assert all(e.job.succeeded_items >= 1 for e in succeeded)
