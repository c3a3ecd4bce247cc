"""Cancelling a job while an item of it finishes: both take the job's row and the account's row, in
the same order, so neither waits for the other in a circle (PostgreSQL's row locks; SQLite runs
one writer at a time)."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from sqlalchemy import text, update

from igny8.writer.v1 import jobs_pb2, jobs_pb2_grpc
from tests.conftest import TenantFactory
from tests.factories.tasks import make_task
from tests.fakes.text_providers import ScriptedText
from tests.integration import test_generation_runs
from tests.integration.test_generation import balance, generate
from tests.integration.test_generation_runs import watch
from writer_service.db.base import utcnow
from writer_service.db.database import Database
from writer_service.db.models import Account, Job

pytestmark = pytest.mark.asyncio(loop_scope="session")

scripted = test_generation_runs.scripted  # the text provider with a gate, as a fixture of this module too


async def wait_for_a_lock_wait(db: Database) -> None:
    """Until some session of this database waits for a row lock (at most five seconds)."""
    async with asyncio.timeout(5), db.engine.connect() as connection:
        while not await connection.scalar(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'")):
            await connection.rollback()  # a fresh snapshot of the activity view each time
            await asyncio.sleep(0.02)


async def test_cancelling_a_job_while_an_item_finishes_waits_for_it_instead_of_deadlocking(
    channel: grpc.aio.Channel, tenants: TenantFactory, db: Database, scripted: ScriptedText
) -> None:
    if db.dialect != "postgresql":
        pytest.skip("row locks are PostgreSQL's")
    owner = await tenants.account(credits=500)
    tasks = [await make_task(channel, owner, word_count=300) for _ in range(4)]
    scripted.gate = asyncio.Event()
    job = await generate(channel, owner, [t.id for t in tasks])  # two items run (held at the gate), two wait
    await scripted.started.wait()
    stub = jobs_pb2_grpc.JobsServiceStub(channel)
    async with db.transaction() as finishing:
        # What an item finishing on a worker does: the job's row first, then the account's.
        await finishing.execute(update(Job).where(Job.id == job.id).values(update_time=utcnow()))
        cancel = asyncio.ensure_future(stub.CancelJob(jobs_pb2.CancelJobRequest(id=job.id),
                                                      metadata=owner.metadata()))
        await wait_for_a_lock_wait(db)
        await finishing.execute(update(Account).where(Account.id == owner.account_id)
                                .values(credits=Account.credits))
    cancelled = await cancel
    assert cancelled.cancelled_items == 2
    scripted.gate.set()
    final = [e async for e in watch(channel, owner.metadata(), job.id)][-1].job
    assert (final.state, final.succeeded_items, final.cancelled_items) == (jobs_pb2.JOB_STATE_CANCELLED, 2, 2)
    assert await balance(db, owner.account_id) == 500 - final.credits_charged
