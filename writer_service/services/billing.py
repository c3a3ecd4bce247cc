"""The billing read side: an account's balance and what is held for work in flight."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from writer_service.db.database import Database
from writer_service.db.models import Account, AIRequestLog, CreditTransaction, Job
from writer_service.domain.errors import NotFound
from writer_service.domain.vocabulary import AI_OPERATIONS, AI_OUTCOMES, CREDIT_TRANSACTION_KINDS
from writer_service.services.listing import FilterField, ListQuery, ListSpec, Page, list_page
from writer_service.tenancy.context import TenantContext

OPEN_JOB_STATES = ("pending", "running")

LEDGER_SPEC = ListSpec(
    model=CreditTransaction,
    filters={
        "kind": FilterField(CreditTransaction.kind, "enum", CREDIT_TRANSACTION_KINDS),
        "job_id": FilterField(CreditTransaction.job_id, "id"),
        "create_time": FilterField(CreditTransaction.create_time, "time"),
    },
    order_fields={"create_time": CreditTransaction.create_time, "amount": CreditTransaction.amount},
)

AI_LOG_SPEC = ListSpec(
    model=AIRequestLog,
    filters={
        "operation": FilterField(AIRequestLog.operation, "enum", AI_OPERATIONS),
        "outcome": FilterField(AIRequestLog.outcome, "enum", AI_OUTCOMES),
        "job_id": FilterField(AIRequestLog.job_id, "id"),
        "automation_run_id": FilterField(AIRequestLog.automation_run_id, "id"),
        "create_time": FilterField(AIRequestLog.create_time, "time"),
    },
    order_fields={"create_time": AIRequestLog.create_time, "credits": AIRequestLog.credits,
                  "duration_ms": AIRequestLog.duration_ms},
)


@dataclass(frozen=True)
class Balance:
    """Available credits, and credits reserved by jobs that have not ended."""

    account_id: int
    credits: int
    reserved: int
    update_time: datetime


async def get_balance(db: Database, tenant: TenantContext) -> Balance:
    """The caller's account balance."""
    account_id = tenant.require_account()
    async with db.read() as session:
        row = (await session.execute(
            select(Account.credits, Account.update_time).where(Account.id == account_id)
        )).one_or_none()
        if row is None:
            raise NotFound.of("Account", account_id)
        held = Job.credits_reserved - Job.credits_charged - Job.credits_released
        reserved = await session.scalar(
            select(func.coalesce(func.sum(held), 0)).where(
                Job.account_id == account_id, Job.state.in_(OPEN_JOB_STATES)
            )
        )
    return Balance(account_id=account_id, credits=row.credits, reserved=int(reserved or 0),
                   update_time=row.update_time)


async def list_credit_transactions(db: Database, tenant: TenantContext, *, query: ListQuery) -> Page:
    """A page of the caller's account ledger (the ledger is the account's: site and sector do not narrow it)."""
    tenant.require_account()
    async with db.read() as session:
        return await list_page(session, LEDGER_SPEC, tenant, query)


async def list_ai_request_logs(db: Database, tenant: TenantContext, *, query: ListQuery) -> Page:
    """A page of the AI calls the caller may see."""
    async with db.read() as session:
        return await list_page(session, AI_LOG_SPEC, tenant, query)


async def record_ai_request(
    session: AsyncSession,
    *,
    account_id: int,
    site_id: int,
    sector_id: int,
    operation: str,
    provider: str,
    model: str,
    tokens_in: int = 0,
    tokens_out: int = 0,
    credits: int = 0,
    duration_ms: int = 0,
    error: str = "",
    job_id: int | None = None,
    job_item_id: int | None = None,
    automation_run_id: int | None = None,
) -> AIRequestLog:
    """Write the log row of one AI call: what it was, what it cost, how it went."""
    row = AIRequestLog(
        account_id=account_id, site_id=site_id, sector_id=sector_id, operation=operation, provider=provider,
        model=model, tokens_in=tokens_in, tokens_out=tokens_out, credits=credits, duration_ms=duration_ms,
        outcome="error" if error else "success", error=error[:2000], job_id=job_id, job_item_id=job_item_id,
        automation_run_id=automation_run_id,
    )
    session.add(row)
    return row
