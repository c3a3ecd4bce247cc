"""100 generation calls at once on an account that can afford 10: the balance is a conditional
update, so exactly 10 are accepted, it never goes below zero, and the ledger explains it."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import grpc
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from igny8.writer.v1 import billing_pb2, billing_pb2_grpc, jobs_pb2, jobs_pb2_grpc, tasks_pb2, tasks_pb2_grpc
from tests.conftest import require_or_skip
from tests.e2e.books import balance, ledger_chain, ledger_total, reading
from tests.e2e.brokers import redis_available, redis_broker
from tests.e2e.process import Owner, bootstrap, cli, create_tasks, running_server, service_env
from tests.rich import decode
from writer_service.domain.pricing import Prices

pytestmark = pytest.mark.e2e

CALLS, AFFORDABLE, WORDS = 100, 10, 1000


async def generate_each(address: str, owner: Owner, task_ids: list[int]) -> list[object]:
    """One AutoGenerateContent per task, all in flight at once; each answer or error."""
    async with grpc.aio.insecure_channel(address) as channel:
        stub = tasks_pb2_grpc.TasksServiceStub(channel)
        calls = [stub.AutoGenerateContent(tasks_pb2.AutoGenerateContentRequest(task_ids=[task_id]),
                                          metadata=owner.metadata(), timeout=60) for task_id in task_ids]
        return await asyncio.gather(*calls, return_exceptions=True)


def cancel_all(address: str, owner: Owner, job_ids: list[int]) -> list[jobs_pb2.Job]:
    """Cancel the jobs (nothing runs them: the broker has no worker) and return them ended."""
    with grpc.insecure_channel(address) as channel:
        stub = jobs_pb2_grpc.JobsServiceStub(channel)
        return [stub.CancelJob(jobs_pb2.CancelJobRequest(id=i), metadata=owner.metadata(), timeout=10)
                for i in job_ids]


def credits_of(address: str, owner: Owner) -> int:
    """The balance as BillingService tells it."""
    with grpc.insecure_channel(address) as channel:
        return billing_pb2_grpc.BillingServiceStub(channel).GetCreditBalance(
            billing_pb2.GetCreditBalanceRequest(), metadata=owner.metadata(), timeout=10).credits


async def test_hundred_concurrent_calls_on_credits_for_ten_accept_exactly_ten(
    database_url: str, tmp_path: Path
) -> None:
    require_or_skip(redis_available(), "Redis")
    # The server's default prices: what one article of WORDS words reserves.
    estimate = Prices().content_estimate(WORDS)
    grant = AFFORDABLE * estimate
    with redis_broker() as broker_url:
        # A broker without a worker: accepted jobs stay pending, so no settlement hands credits
        # back while the calls race, and "exactly ten" is exact.
        env = service_env(tmp_path / "var", database_url=database_url, broker_url=broker_url)
        cli(env, "migrate")
        owner = bootstrap(env, credits=grant)
        with running_server(env, tmp_path / "server.log") as server:
            with grpc.insecure_channel(server.address) as channel:
                task_ids = create_tasks(channel, owner, CALLS, word_count=WORDS)
            answers = await generate_each(server.address, owner, task_ids)
            after_race = credits_of(server.address, owner)
            accepted = [a.job for a in answers if isinstance(a, tasks_pb2.AutoGenerateContentResponse)]
            with reading(database_url) as session:
                ledger_after_race = ledger_total(session, owner.account_id)
            cancelled = cancel_all(server.address, owner, [job.id for job in accepted])
            after_cancel = credits_of(server.address, owner)

    refused = [decode(a) for a in answers if isinstance(a, grpc.RpcError)]
    assert len(accepted) == AFFORDABLE
    assert len(refused) == CALLS - AFFORDABLE
    assert Counter(e.code for e in refused) == {grpc.StatusCode.RESOURCE_EXHAUSTED: CALLS - AFFORDABLE}
    assert {e.info.reason for e in refused} == {"INSUFFICIENT_CREDITS"}
    assert {e.info.metadata["required"] for e in refused} == {str(estimate)}
    assert all(int(e.info.metadata["available"]) < estimate for e in refused)
    assert {job.credits_reserved for job in accepted} == {estimate}
    assert after_race == 0
    assert ledger_after_race == after_race  # the grant minus ten reservations
    assert {job.state for job in cancelled} == {jobs_pb2.JOB_STATE_CANCELLED}
    assert after_cancel == grant

    with reading(database_url) as session:
        chain = ledger_chain(session, owner.account_id)
        assert ledger_total(session, owner.account_id) == balance(session, owner.account_id) == grant
        with pytest.raises(IntegrityError, match="credits_not_negative"):
            session.execute(text("UPDATE accounts SET credits = -1 WHERE id = :id"), {"id": owner.account_id})
        session.rollback()
    # Each move applied to the balance the previous one left: no move saw a stale balance.
    running = 0
    for amount, balance_after in chain:
        running += amount
        assert balance_after == running >= 0
    assert Counter(amount < 0 for amount, _ in chain) == {True: AFFORDABLE, False: 1 + AFFORDABLE}
