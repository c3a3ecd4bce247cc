"""Credits: the account's balance and the ledger row behind every move of it.

Every move is one conditional UPDATE (never read-then-write), so the balance cannot go below zero
whatever runs at the same time, and one CreditTransaction row with the balance after it.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from writer_service.db.models import Account, CreditTransaction
from writer_service.domain.errors import InsufficientCredits, InvalidArgument, NotFound


async def move(
    session: AsyncSession,
    *,
    account_id: int,
    amount: int,
    kind: str,
    description: str = "",
    job_id: int | None = None,
    job_item_id: int | None = None,
) -> int:
    """Add `amount` (negative: take) to the balance and write its ledger row; returns the new balance.

    A take the balance cannot cover raises InsufficientCredits and changes nothing.
    """
    stmt = update(Account).where(Account.id == account_id)
    if amount < 0:
        stmt = stmt.where(Account.credits >= -amount)
    result = await session.execute(
        stmt.values(credits=Account.credits + amount).returning(Account.credits),
        execution_options={"synchronize_session": False},
    )
    balance = result.scalar_one_or_none()
    if balance is None:
        available = await session.scalar(select(Account.credits).where(Account.id == account_id))
        if available is None:
            raise NotFound.of("Account", account_id)
        raise InsufficientCredits(required=-amount, available=available, account_id=account_id)
    session.add(
        CreditTransaction(
            account_id=account_id,
            kind=kind,
            amount=amount,
            balance_after=balance,
            description=description,
            job_id=job_id,
            job_item_id=job_item_id,
        )
    )
    return balance


async def grant(session: AsyncSession, *, account_id: int, amount: int, description: str = "") -> int:
    """Add purchased or granted credits to an account; returns the new balance."""
    if amount <= 0:
        raise InvalidArgument.of("amount", "must be a positive number of credits")
    return await move(session, account_id=account_id, amount=amount, kind="grant", description=description)


async def balance(session: AsyncSession, *, account_id: int) -> int:
    """The account's available credits."""
    value = await session.scalar(select(Account.credits).where(Account.id == account_id))
    if value is None:
        raise NotFound.of("Account", account_id)
    return value


async def reserve(session: AsyncSession, *, account_id: int, amount: int, job_id: int, description: str) -> int:
    """Hold the estimated cost of a job; InsufficientCredits when the balance cannot cover it."""
    return await move(session, account_id=account_id, amount=-amount, kind="reserve", job_id=job_id,
                      description=description)


async def settle(
    session: AsyncSession, *, account_id: int, reserved: int, charged: int, job_id: int, job_item_id: int
) -> int:
    """An item finished: it costs `charged` of its `reserved`; the rest goes back to the balance."""
    return await move(session, account_id=account_id, amount=reserved - charged, kind="settle", job_id=job_id,
                      job_item_id=job_item_id, description=f"charged {charged} of {reserved} reserved")


async def release(
    session: AsyncSession, *, account_id: int, amount: int, job_id: int, job_item_id: int | None, description: str
) -> int:
    """An item failed or was cancelled: its whole reservation goes back to the balance."""
    return await move(session, account_id=account_id, amount=amount, kind="release", job_id=job_id,
                      job_item_id=job_item_id, description=description)
