"""What every AI job item does around its model call: claim, retry or fail, bill, finish.

Idempotent by construction: an item is claimed (attempt n), the model is called outside any
transaction, and whatever the item writes is written in ONE transaction that must still own
attempt n (jobs.own_item). A redelivered or duplicated run therefore writes once and charges once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from writer_service.ai.base import ImageProvider, TextProvider, Usage
from writer_service.ai.errors import ProviderError
from writer_service.db.database import Database
from writer_service.db.models import Job, JobItem
from writer_service.domain.pricing import Prices
from writer_service.services import billing, jobs
from writer_service.storage.media import MediaStorage

log = logging.getLogger("writer_service.generation")

SUCCEEDED, FAILED, RETRY, ENDED = "succeeded", "failed", "retry", "ended"
OUTCOMES = (SUCCEEDED, FAILED, RETRY, ENDED)
T = TypeVar("T")


@dataclass
class Writer:
    """What running items needs: the database, the models, where files go, prices and attempts."""

    db: Database
    text: TextProvider
    prices: Prices
    max_attempts: int = 3
    images: ImageProvider | None = None
    storage: MediaStorage | None = None
    featured_size: tuple[int, int] = (1536, 1024)
    in_article_size: tuple[int, int] = (1024, 1024)
    image_format: str = "png"


@dataclass
class Claim:
    """An item this run owns, as attempt `attempt`, and its job."""

    item: JobItem
    job: Job
    attempt: int


async def claim(writer: Writer, item_id: int) -> Claim | None:
    """Mark the item running for this attempt; None when it has already ended."""
    async with writer.db.transaction() as session:
        return await claim_in(session, item_id)


async def claim_in(session: AsyncSession, item_id: int) -> Claim | None:
    """`claim` in the caller's transaction (which may read what the item needs before it commits)."""
    claimed = await jobs.claim_item(session, item_id=item_id)
    if claimed is None:
        return None
    item, job = claimed
    return Claim(item=item, job=job, attempt=item.attempts)


async def call_model(
    writer: Writer, claimed: Claim, *, operation: str, provider: Any, call: Callable[[], Awaitable[T]],
    on_failed: Callable[[AsyncSession, str], Awaitable[None]] | None = None,
) -> T | str:
    """The model's answer, or the item's outcome when the call failed: RETRY while attempts are
    left for a retryable failure, else the item fails with the reason (and `on_failed` gets it)."""
    started = time.monotonic()
    try:
        return await call()
    except ProviderError as error:
        reason = f"{error.reason}: {error.message}"
        async with writer.db.transaction() as session:
            await billing.record_ai_request(
                session, account_id=claimed.job.account_id, site_id=claimed.job.site_id,
                sector_id=claimed.job.sector_id, operation=operation, provider=provider.name, model=provider.model,
                duration_ms=int((time.monotonic() - started) * 1000), error=reason, job_id=claimed.job.id,
                job_item_id=claimed.item.id, automation_run_id=claimed.job.automation_run_id)
        if error.retryable and claimed.attempt < writer.max_attempts:
            log.warning("job item %s attempt %s: %s, will retry", claimed.item.id, claimed.attempt, error.reason)
            return RETRY
        return await fail(writer, claimed, reason, on_failed=on_failed)


async def fail(writer: Writer, claimed: Claim, reason: str,
               on_failed: Callable[[AsyncSession, str], Awaitable[None]] | None = None) -> str:
    """Fail the item with `reason` (releasing its credits), if this attempt still owns it; `on_failed`
    records the reason on what the item works on, in the same transaction."""
    async with writer.db.transaction() as session:
        item = await jobs.own_item(session, item_id=claimed.item.id, attempt=claimed.attempt)
        if item is None:
            return ENDED
        if on_failed is not None:
            await on_failed(session, reason)
        await jobs.item_failed(session, item=item, reason=reason)
    return FAILED


async def crashed(writer: Writer, *, item_id: int, error: BaseException) -> str:
    """An item's run failed unexpectedly (not a model's answer: a lost connection, a deadlock, a bug).
    RETRY while attempts are left, so a passing fault does not leave the item running for good;
    after the last, the item fails with the error's kind as its reason and its credits are released."""
    async with writer.db.transaction() as session:
        item = await session.scalar(
            select(JobItem).where(JobItem.id == item_id, JobItem.state.in_(jobs.OPEN_STATES)).with_for_update())
        if item is None:
            return ENDED
        if item.attempts < writer.max_attempts:
            return RETRY
        await jobs.item_failed(session, item=item, reason=f"INTERNAL_ERROR: the item's run failed "
                                                           f"({type(error).__name__}); see the worker's log")
    return FAILED


async def succeed(
    session: AsyncSession, claimed: Claim, item: JobItem, *, operation: str, usage: Usage, charged: int,
    result_content_id: int | None = None,
) -> None:
    """Log the AI call with what it cost and settle the item, in the caller's transaction."""
    job = claimed.job
    await billing.record_ai_request(
        session, account_id=job.account_id, site_id=job.site_id, sector_id=job.sector_id, operation=operation,
        provider=usage.provider, model=usage.model, tokens_in=usage.tokens_in, tokens_out=usage.tokens_out,
        credits=charged, duration_ms=usage.duration_ms, job_id=job.id, job_item_id=item.id,
        automation_run_id=job.automation_run_id)
    await jobs.item_succeeded(session, item=item, charged=charged, result_content_id=result_content_id)
