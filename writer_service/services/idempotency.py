"""request_id: a client's retry of a create returns the first answer and creates nothing twice."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from writer_service.db.database import Database
from writer_service.db.models import IdempotencyRecord
from writer_service.domain.changes import parse_request_id
from writer_service.domain.errors import AlreadyExists
from writer_service.tenancy.context import TenantContext

M = TypeVar("M")


async def _recorded(session: AsyncSession, *, account_id: int, method: str, request_id: str) -> int | None:
    return await session.scalar(
        select(IdempotencyRecord.resource_id).where(
            IdempotencyRecord.account_id == account_id,
            IdempotencyRecord.method == method,
            IdempotencyRecord.request_id == request_id,
        )
    )


async def create_once(
    db: Database,
    tenant: TenantContext,
    *,
    method: str,
    request_id: str,
    create: Callable[[AsyncSession], Awaitable[M]],
    load: Callable[[AsyncSession, int], Awaitable[M]],
) -> M:
    """Run `create` in one transaction, unless this account already made it with this request_id,
    in which case `load` the first answer. Two racing retries make one row: the loser reads it, whether
    the database or the create's own uniqueness check stopped it."""
    key = parse_request_id(request_id)
    if key is None:
        async with db.transaction() as session:
            return await create(session)
    account_id = tenant.require_account()
    try:
        async with db.transaction() as session:
            existing = await _recorded(session, account_id=account_id, method=method, request_id=key)
            if existing is not None:
                return await load(session, existing)
            row: Any = await create(session)
            session.add(IdempotencyRecord(account_id=account_id, request_id=key, method=method,
                                          resource_type=type(row).__name__, resource_id=row.id))
            await session.flush()
            return row
    except (IntegrityError, AlreadyExists):
        # The twin retry may have committed after our first look: a unique key it took (found by a
        # create's own check or by the database) is then its answer, not a conflict.
        async with db.transaction() as session:
            existing = await _recorded(session, account_id=account_id, method=method, request_id=key)
            if existing is None:
                raise
            return await load(session, existing)
