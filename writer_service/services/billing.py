"""The billing read side: an account's balance and what is held for work in flight."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from writer_service.db.database import Database
from writer_service.db.models import Account, Job
from writer_service.domain.errors import NotFound
from writer_service.tenancy.context import TenantContext

OPEN_JOB_STATES = ("pending", "running")


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
