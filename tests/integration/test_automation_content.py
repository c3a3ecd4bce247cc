"""AutomationService stage 4 (queued tasks -> content): batches of jobs, credits summed from the run's
AI logs, running out of credits, item failures, and callers that cancel or run out of time."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from sqlalchemy import func, select

from igny8.writer.v1 import automation_pb2 as pb
from tests.conftest import Tenant, TenantFactory
from tests.factories.tasks import make_task
from tests.fakes.image_providers import image_job_providers, in_process_runner
from tests.fakes.text_providers import ScriptedText
from tests.integration.test_automation import Channel, check_item_order, ended_run, get_run, of, run, start
from tests.integration.test_generation import balance, ledger_sum
from writer_service.ai.errors import QuotaExceeded
from writer_service.api.server import WriterServer
from writer_service.db.database import Database
from writer_service.db.models import AIRequestLog, Content, Job, Task
from writer_service.domain.pricing import Prices
from writer_service.services import jobs

pytestmark = pytest.mark.asyncio(loop_scope="session")

CONTENT_GENERATION = pb.AUTOMATION_STAGE_CONTENT_GENERATION
SUCCEEDED, FAILED, CANCELLED = (pb.AUTOMATION_RUN_STATE_SUCCEEDED, pb.AUTOMATION_RUN_STATE_FAILED,
                                pb.AUTOMATION_RUN_STATE_CANCELLED)


@pytest.fixture
def scripted(writer: WriterServer) -> Iterator[ScriptedText]:
    """The test server writes text through a ScriptedText around its real provider (its image provider
    and storage stay); retries are quick."""
    provider = ScriptedText(inner=in_process_runner(writer).writer.text)
    with image_job_providers(writer, text=provider):
        yield provider


async def queued_tasks(channel: Channel, tenant: Tenant, count: int, word_count: int = 300) -> list[int]:
    """Ids of `count` queued tasks of one cluster, oldest first."""
    first = await make_task(channel, tenant, word_count=word_count)
    rest = [await make_task(channel, tenant, word_count=word_count, cluster_id=first.cluster_id)
            for _ in range(count - 1)]
    return [first.id, *(t.id for t in rest)]


async def run_credits(db: Database, run_id: int) -> int:
    """The credits of the run's AI request logs."""
    async with db.read() as session:
        return int(await session.scalar(select(func.coalesce(func.sum(AIRequestLog.credits), 0))
                                        .where(AIRequestLog.automation_run_id == run_id)) or 0)


async def contents_by_task(db: Database, task_ids: list[int]) -> dict[int, int]:
    """How many content rows each task has."""
    async with db.read() as session:
        rows = await session.execute(select(Content.task_id, func.count()).where(Content.task_id.in_(task_ids))
                                     .group_by(Content.task_id))
        return {int(task_id or 0): count for task_id, count in rows}


async def task_statuses(db: Database, task_ids: list[int]) -> dict[int, str]:
    """Each task's status."""
    async with db.read() as session:
        return {task_id: status for task_id, status in await session.execute(
            select(Task.id, Task.status).where(Task.id.in_(task_ids)))}


async def test_content_stage_writes_a_draft_per_task_and_counts_the_credits_of_its_logs(
    channel: Channel, tenants: TenantFactory, db: Database
) -> None:
    owner = await tenants.account(credits=500)
    task_ids = await queued_tasks(channel, owner, 3)
    events = await run(channel, owner, "RunContentGenerationStage")

    check_item_order(events)
    run_id = events[0].run_id
    assert {e.stage for e in events} == {CONTENT_GENERATION}
    succeeded = of(events, "item_succeeded")
    assert sorted(s.item_id for s in succeeded) == task_ids
    assert {(s.item_kind, s.result_kind) for s in succeeded} == {
        (pb.AUTOMATION_ITEM_KIND_TASK, pb.AUTOMATION_ITEM_KIND_CONTENT)}
    async with db.read() as session:
        contents = {c.id: c for c in (await session.scalars(select(Content).where(Content.task_id.in_(task_ids))))}
    assert sorted(s.result_id for s in succeeded) == sorted(contents)
    assert {c.status for c in contents.values()} == {"draft"}
    summary = of(events, "summary")[0]
    charged = await run_credits(db, run_id)
    assert charged > 0
    assert (summary.items_done, summary.items_failed, summary.items_skipped, summary.state) == (3, 0, 0, SUCCEEDED)
    assert summary.credits_used == charged == sum(s.credits_used for s in succeeded)
    assert of(events, "progress")[-1].credits_used == charged
    assert await balance(db, owner.account_id) == 500 - charged
    assert await ledger_sum(db, owner.account_id) == -charged
    kept = await ended_run(channel, owner, run_id)
    assert (kept.credits_used, kept.items_done, kept.state) == (charged, 3, SUCCEEDED)
    assert set((await task_statuses(db, task_ids)).values()) == {"completed"}
    again = await run(channel, owner, "RunContentGenerationStage")
    assert of(again, "summary")[0].items_done == 0 and await balance(db, owner.account_id) == 500 - charged


async def test_tasks_go_in_jobs_of_at_most_ten_that_carry_the_run_whose_row_keeps_up(
    channel: Channel, tenants: TenantFactory, db: Database
) -> None:
    owner = await tenants.account(credits=500)
    task_ids = await queued_tasks(channel, owner, 12, word_count=100)
    events = []
    async for event in start(channel, owner, "RunContentGenerationStage"):
        events.append(event)
        if event.WhichOneof("event") == "progress" and event.progress.items_done == 1:
            # The row is saved before the caller hears of an item: it counts at least this much.
            row = await get_run(channel, owner, event.run_id)
            assert row.items_done >= 1 and row.credits_used >= event.progress.credits_used > 0
    assert of(events, "summary")[0].items_done == 12
    async with db.read() as session:
        sizes = list(await session.scalars(select(Job.total_items).where(Job.automation_run_id == events[0].run_id)
                                           .order_by(Job.id)))
    assert sizes == [10, 2]
    assert set((await contents_by_task(db, task_ids)).values()) == {1}


async def test_running_out_of_credits_ends_the_stage_with_what_the_next_task_needed_and_nothing_half_written(
    channel: Channel, tenants: TenantFactory, db: Database
) -> None:
    estimate = Prices().content_estimate(300)
    owner = await tenants.account(credits=2 * estimate + 1)  # two tasks' estimates, not three
    task_ids = await queued_tasks(channel, owner, 4)
    request_id = str(uuid.uuid4())
    events = await run(channel, owner, "RunContentGenerationStage", request_id=request_id)

    check_item_order(events)
    summary = of(events, "summary")[0]
    done = [s.item_id for s in of(events, "item_succeeded")]
    assert sorted(done) == task_ids[:2] and summary.items_done == 2
    assert summary.credits_exhausted and summary.state == FAILED
    left = await balance(db, owner.account_id)
    assert (summary.credits_required, summary.credits_available) == (estimate, left)
    assert left < estimate
    assert summary.credits_used == await run_credits(db, events[0].run_id) == 2 * estimate + 1 - left
    assert await ledger_sum(db, owner.account_id) == -summary.credits_used  # no credits left held
    assert await contents_by_task(db, task_ids) == {task_ids[0]: 1, task_ids[1]: 1}
    assert await task_statuses(db, task_ids[2:]) == {task_ids[2]: "queued", task_ids[3]: "queued"}
    assert (await ended_run(channel, owner, events[0].run_id)).state == FAILED
    retried = await run(channel, owner, "RunContentGenerationStage", request_id=request_id)
    assert [e.summary for e in retried] == [summary]


async def test_an_item_that_fails_is_reported_with_its_reason_and_the_stage_goes_on(
    channel: Channel, tenants: TenantFactory, db: Database, scripted: ScriptedText
) -> None:
    owner = await tenants.account(credits=500)
    task_ids = await queued_tasks(channel, owner, 3)
    scripted.errors = [QuotaExceeded("the provider account has no quota left")]
    events = await run(channel, owner, "RunContentGenerationStage")

    check_item_order(events)
    [failed] = of(events, "item_failed")
    assert failed.item_id in task_ids and failed.reason.startswith("QUOTA_EXCEEDED")
    summary = of(events, "summary")[0]
    assert (summary.items_done, summary.items_failed, summary.state) == (2, 1, SUCCEEDED)
    assert summary.credits_used == await run_credits(db, events[0].run_id)
    assert await task_statuses(db, [failed.item_id]) == {failed.item_id: "queued"}


async def items_cancelled(db: Database, run_id: int) -> None:
    """Return once the run's job has cancelled the items that had not started (the server has seen
    its caller go away)."""
    async with asyncio.timeout(30):
        while not await _cancelled_items(db, run_id):  # noqa: ASYNC110 - polled from the database
            await asyncio.sleep(0.05)


async def _cancelled_items(db: Database, run_id: int) -> int:
    async with db.read() as session:
        return int(await session.scalar(select(func.coalesce(func.sum(Job.cancelled_items), 0))
                                        .where(Job.automation_run_id == run_id)) or 0)


async def cancelled_midway(db: Database, scripted: ScriptedText,
                           call: grpc.aio.UnaryStreamCall) -> list[pb.AutomationEvent]:
    """Read until the first item started, cancel the call, and once the run has cancelled what had
    not started, let the started items finish."""
    seen = []
    async for event in call:
        seen.append(event)
        if event.WhichOneof("event") == "item_started":
            break
    call.cancel()
    await items_cancelled(db, seen[0].run_id)
    assert scripted.gate is not None
    scripted.gate.set()
    return seen


async def test_a_caller_that_cancels_stops_the_run_with_what_started_finished_and_nothing_else_charged(
    channel: Channel, tenants: TenantFactory, db: Database, scripted: ScriptedText
) -> None:
    owner = await tenants.account(credits=500)
    task_ids = await queued_tasks(channel, owner, 6)
    scripted.gate = asyncio.Event()
    seen = await cancelled_midway(db, scripted, start(channel, owner, "RunContentGenerationStage"))
    run_id = seen[0].run_id

    kept = await ended_run(channel, owner, run_id)
    written = await contents_by_task(db, task_ids)
    assert kept.state == CANCELLED
    assert 1 <= kept.items_done == len(written) < len(task_ids)  # the runner takes two items at a time
    assert set(written.values()) == {1}
    assert kept.credits_used == await run_credits(db, run_id) == 500 - await balance(db, owner.account_id)
    assert await ledger_sum(db, owner.account_id) == -kept.credits_used  # the rest released, not charged
    async with db.read() as session:
        open_jobs = await session.scalar(select(func.count()).select_from(Job).where(
            Job.account_id == owner.account_id, Job.state.in_(("pending", "running"))))
    assert open_jobs == 0

    scripted.gate = None
    rest = await run(channel, owner, "RunContentGenerationStage")
    assert sorted(s.item_id for s in of(rest, "item_succeeded")) == sorted(set(task_ids) - set(written))
    assert await contents_by_task(db, task_ids) == dict.fromkeys(task_ids, 1)


async def test_a_cancel_that_fails_once_is_tried_again_and_nothing_left_is_charged(
    channel: Channel, tenants: TenantFactory, db: Database, scripted: ScriptedText, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_cancel = jobs.cancel_job
    failures: list[int] = []

    async def flaky_cancel(*args: Any, **kwargs: Any) -> Any:
        if not failures:
            failures.append(kwargs["job_id"])
            raise ConnectionError("connection lost mid-cancel")
        return await real_cancel(*args, **kwargs)

    monkeypatch.setattr(jobs, "cancel_job", flaky_cancel)
    owner = await tenants.account(credits=500)
    task_ids = await queued_tasks(channel, owner, 6)
    scripted.gate = asyncio.Event()
    seen = await cancelled_midway(db, scripted, start(channel, owner, "RunContentGenerationStage"))

    kept = await ended_run(channel, owner, seen[0].run_id)
    assert failures, "the first cancel did not fail"
    assert kept.state == CANCELLED
    assert kept.items_done == len(await contents_by_task(db, task_ids)) < len(task_ids)
    assert await ledger_sum(db, owner.account_id) == -kept.credits_used


async def test_a_caller_whose_deadline_passes_stops_the_run_as_a_cancel_does(
    channel: Channel, tenants: TenantFactory, db: Database, scripted: ScriptedText
) -> None:
    owner = await tenants.account(credits=500)
    task_ids = await queued_tasks(channel, owner, 5)
    scripted.gate = asyncio.Event()
    call = start(channel, owner, "RunContentGenerationStage", timeout=1.0)
    seen = []
    with pytest.raises(grpc.aio.AioRpcError) as ended:
        async for event in call:
            seen.append(event)
    assert ended.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    await items_cancelled(db, seen[0].run_id)
    scripted.gate.set()
    kept = await ended_run(channel, owner, seen[0].run_id)
    assert kept.state == CANCELLED
    assert kept.items_done == len(await contents_by_task(db, task_ids)) < len(task_ids)
    assert await ledger_sum(db, owner.account_id) == -kept.credits_used
