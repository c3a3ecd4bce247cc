"""BillingService and ListJobs: the balance, the ledger and the AI request logs after real generation
jobs, read through the gRPC stack like any List (filters, order, pages, scope)."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2

from igny8.writer.v1 import billing_pb2, billing_pb2_grpc, jobs_pb2, jobs_pb2_grpc, tasks_pb2
from tests.conftest import Tenant, TenantFactory
from tests.factories.tasks import make_task, tasks_stub
from tests.rich import expect_error

pytestmark = pytest.mark.asyncio(loop_scope="session")

GRANT = billing_pb2.CREDIT_TRANSACTION_KIND_GRANT
RESERVE = billing_pb2.CREDIT_TRANSACTION_KIND_RESERVE
SETTLE = billing_pb2.CREDIT_TRANSACTION_KIND_SETTLE
RELEASE = billing_pb2.CREDIT_TRANSACTION_KIND_RELEASE


def billing(channel: grpc.aio.Channel) -> billing_pb2_grpc.BillingServiceStub:
    return billing_pb2_grpc.BillingServiceStub(channel)


async def generated_job(channel: grpc.aio.Channel, owner: Tenant, tasks: int = 2) -> jobs_pb2.Job:
    """A content generation job over new tasks, run to its end."""
    ids = [(await make_task(channel, owner, word_count=300, keywords="trail shoes")).id for _ in range(tasks)]
    request = tasks_pb2.AutoGenerateContentRequest(task_ids=ids, wait=True)
    job = (await tasks_stub(channel).AutoGenerateContent(request, metadata=owner.metadata())).job
    assert job.state == jobs_pb2.JOB_STATE_SUCCEEDED
    return job


async def ledger(channel: grpc.aio.Channel, tenant: Tenant, **kw: object) -> billing_pb2.ListCreditTransactionsResponse:
    request = billing_pb2.ListCreditTransactionsRequest(**kw)  # type: ignore[arg-type]
    return await billing(channel).ListCreditTransactions(request, metadata=tenant.metadata())


async def ai_logs(channel: grpc.aio.Channel, tenant: Tenant, **kw: object) -> billing_pb2.ListAIRequestLogsResponse:
    request = billing_pb2.ListAIRequestLogsRequest(**kw)  # type: ignore[arg-type]
    return await billing(channel).ListAIRequestLogs(request, metadata=tenant.metadata())


async def test_ledger_explains_the_balance_newest_first(channel: grpc.aio.Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account(credits=800)
    job = await generated_job(channel, owner)
    balance = await billing(channel).GetCreditBalance(billing_pb2.GetCreditBalanceRequest(),
                                                      metadata=owner.metadata())

    rows = list((await ledger(channel, owner)).credit_transactions)
    assert rows[-1].kind == GRANT and rows[-1].amount == 800
    assert [r.create_time.ToDatetime() for r in rows] == sorted((r.create_time.ToDatetime() for r in rows),
                                                                reverse=True)
    assert rows[0].balance_after == balance.credits == 800 + sum(r.amount for r in rows[:-1])
    assert sum(r.amount for r in rows) == balance.credits
    by_kind = [r.kind for r in rows]
    assert by_kind.count(RESERVE) == 1 and by_kind.count(SETTLE) == 2
    assert {r.job_id for r in rows if r.kind != GRANT} == {job.id}
    assert {r.job_item_id for r in rows if r.kind == SETTLE} == {i.id for i in job.items}
    assert -sum(r.amount for r in rows if r.kind != GRANT) == job.credits_charged


async def test_ledger_filters_orders_and_pages(channel: grpc.aio.Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account(credits=800)
    job = await generated_job(channel, owner, tasks=3)
    everything = list((await ledger(channel, owner, page_size=500)).credit_transactions)

    settles = (await ledger(channel, owner, filter='kind = "settle"')).credit_transactions
    assert len(settles) == 3 and {r.kind for r in settles} == {SETTLE}
    of_job = (await ledger(channel, owner, filter=f"job_id = {job.id}")).credit_transactions
    assert {r.id for r in of_job} == {r.id for r in everything if r.job_id == job.id}
    without_job = (await ledger(channel, owner, filter="job_id = 0")).credit_transactions
    assert [r.kind for r in without_job] == [GRANT]
    by_amount = (await ledger(channel, owner, order_by="amount")).credit_transactions
    assert [r.amount for r in by_amount] == sorted(r.amount for r in everything)

    walked: list[int] = []
    token = ""
    while True:
        page = await ledger(channel, owner, page_size=2, page_token=token)
        walked.extend(r.id for r in page.credit_transactions)
        token = page.next_page_token
        if not token:
            break
    assert walked == [r.id for r in everything]


async def test_ledger_rejects_bad_filters_orders_and_foreign_tokens(
    channel: grpc.aio.Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account(credits=800)
    await generated_job(channel, owner)
    token = (await ledger(channel, owner, page_size=1)).next_page_token
    for kw in ({"filter": 'kind = "bonus"'}, {"filter": "site_id = 1"}, {"order_by": "balance_after"},
               {"page_size": -1}, {"page_token": token, "filter": 'kind = "settle"'}, {"page_token": "garbage"}):
        error = await expect_error(ledger(channel, owner, **kw), grpc.StatusCode.INVALID_ARGUMENT)
        assert error.detail(error_details_pb2.BadRequest).field_violations


async def test_ledger_is_the_callers_account_only(channel: grpc.aio.Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account(credits=800)
    await generated_job(channel, owner)
    stranger = await tenants.account(credits=5)
    rows = (await ledger(channel, stranger)).credit_transactions
    assert [(r.kind, r.amount, r.account_id) for r in rows] == [(GRANT, 5, stranger.account_id)]

    # A platform role must name the account; naming it, it reads that account's ledger.
    admin = await tenants.user(owner, "admin")
    request = billing_pb2.ListCreditTransactionsRequest()
    error = await expect_error(
        billing(channel).ListCreditTransactions(request, metadata=admin.metadata()[:1]),
        grpc.StatusCode.FAILED_PRECONDITION)
    assert error.info.reason == "ACCOUNT_REQUIRED"
    named = await billing(channel).ListCreditTransactions(request, metadata=admin.metadata())
    assert {r.account_id for r in named.credit_transactions} == {owner.account_id}


async def test_ai_logs_account_for_every_charged_credit(channel: grpc.aio.Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account(credits=800)
    job = await generated_job(channel, owner)
    logs = (await ai_logs(channel, owner)).ai_request_logs

    assert len(logs) == 2
    assert {log.operation for log in logs} == {billing_pb2.AI_OPERATION_CONTENT_GENERATION}
    assert {log.outcome for log in logs} == {billing_pb2.AI_REQUEST_OUTCOME_SUCCESS}
    assert {log.provider for log in logs} == {"template"}
    assert {log.job_item_id for log in logs} == {i.id for i in job.items}
    assert sum(log.credits for log in logs) == job.credits_charged
    assert all((log.site_id, log.sector_id) == (owner.site_id, owner.sector_id) for log in logs)

    of_job = (await ai_logs(channel, owner, filter=f'job_id = {job.id} AND outcome = "success"')).ai_request_logs
    assert {log.id for log in of_job} == {log.id for log in logs}
    by_credits = (await ai_logs(channel, owner, order_by="credits desc")).ai_request_logs
    assert [log.credits for log in by_credits] == sorted((log.credits for log in logs), reverse=True)
    error = await expect_error(ai_logs(channel, owner, filter='operation = "chat"'), grpc.StatusCode.INVALID_ARGUMENT)
    assert error.detail(error_details_pb2.BadRequest).field_violations


async def test_ai_logs_are_narrowed_to_the_callers_account_site_and_sector(
    channel: grpc.aio.Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account(credits=800)
    await generated_job(channel, owner)
    other_site = await tenants.site(owner)
    other_sector = await tenants.sector(owner)
    stranger = await tenants.account()
    for caller in (other_site, other_sector, stranger):
        assert not (await ai_logs(channel, caller)).ai_request_logs
    whole_account = await billing(channel).ListAIRequestLogs(
        billing_pb2.ListAIRequestLogsRequest(), metadata=owner.metadata(site=False, sector=False))
    assert len(whole_account.ai_request_logs) == 2


async def test_list_jobs_filters_orders_and_pages(channel: grpc.aio.Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account(credits=2000)
    made = [await generated_job(channel, owner, tasks=1) for _ in range(3)]
    stub = jobs_pb2_grpc.JobsServiceStub(channel)

    newest_first = (await stub.ListJobs(jobs_pb2.ListJobsRequest(), metadata=owner.metadata())).jobs
    assert [j.id for j in newest_first] == [j.id for j in reversed(made)]
    walked: list[int] = []
    token = ""
    while True:
        page = await stub.ListJobs(jobs_pb2.ListJobsRequest(page_size=1, page_token=token, order_by="create_time"),
                                   metadata=owner.metadata())
        walked.extend(j.id for j in page.jobs)
        token = page.next_page_token
        if not token:
            break
    assert walked == [j.id for j in made]
    generation = await stub.ListJobs(jobs_pb2.ListJobsRequest(filter='kind = "content_generation"'),
                                     metadata=owner.metadata())
    assert len(generation.jobs) == 3
    none_running = await stub.ListJobs(jobs_pb2.ListJobsRequest(filter='state = "running"'),
                                       metadata=owner.metadata())
    assert not none_running.jobs
    for bad in (jobs_pb2.ListJobsRequest(filter='state = "lost"'), jobs_pb2.ListJobsRequest(order_by="items")):
        await expect_error(stub.ListJobs(bad, metadata=owner.metadata()), grpc.StatusCode.INVALID_ARGUMENT)
