"""Jobs: the long work asked for now and done later, its items, and the event of every change.

Every change of a job is one conditional UPDATE that bumps its version (never read-then-write, so
workers on many machines can finish items of one job at once) plus one JobEvent row carrying the
job and item as they are after the change; WatchJob streams those rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from writer_service.db.base import utcnow
from writer_service.db.database import Database
from writer_service.db.models import Job, JobEvent, JobItem
from writer_service.domain.errors import FailedPrecondition, PreconditionViolation
from writer_service.services import credits
from writer_service.services.listing import FilterField, ListQuery, ListSpec, Page, list_page
from writer_service.tenancy.context import TenantContext
from writer_service.tenancy.scoping import Placement, get_scoped

TERMINAL_STATES = ("succeeded", "failed", "cancelled")
OPEN_STATES = ("pending", "running")

LIST_SPEC = ListSpec(
    model=Job,
    filters={
        "kind": FilterField(Job.kind, "enum", ("content_generation", "image_prompts", "image_generation")),
        "state": FilterField(Job.state, "enum", ("pending", "running", *TERMINAL_STATES)),
        "request_id": FilterField(Job.request_id, "str"),
        "created_by_user_id": FilterField(Job.created_by_user_id, "id"),
        "create_time": FilterField(Job.create_time, "time"),
        "update_time": FilterField(Job.update_time, "time"),
        "end_time": FilterField(Job.end_time, "time"),
    },
    order_fields={"create_time": Job.create_time, "update_time": Job.update_time, "state": Job.state,
                  "kind": Job.kind},
)


@dataclass(frozen=True)
class NewItem:
    """What one item of a new job works on, and the credits held for it."""

    credits_reserved: int
    task_id: int | None = None
    content_id: int | None = None
    image_id: int | None = None


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def snapshot(row: Any, model: type[Any]) -> dict[str, Any]:
    """The columns of a job or item row as JSON-ready values (for event payloads)."""
    return {c.key: _plain(getattr(row, c.key)) for c in model.__table__.columns}


async def find_by_request_id(session: AsyncSession, *, account_id: int, request_id: str) -> Job | None:
    """The job this account already asked for with this request_id, if any."""
    return await session.scalar(
        select(Job).where(Job.account_id == account_id, Job.request_id == request_id)
        .options(selectinload(Job.items))
    )


async def create_job(
    session: AsyncSession,
    *,
    placement: Placement,
    kind: str,
    user_id: int,
    request_id: str | None,
    wait: bool,
    items: Sequence[NewItem],
    description: str,
    automation_run_id: int | None = None,
    params: dict[str, Any] | None = None,
) -> Job:
    """Write a pending job with its items and reserve their credits (InsufficientCredits: nothing)."""
    total = sum(i.credits_reserved for i in items)
    job = Job(account_id=placement.account_id, site_id=placement.site_id, sector_id=placement.sector_id,
              kind=kind, state="pending", request_id=request_id, created_by_user_id=user_id,
              wait_requested=wait, total_items=len(items), credits_reserved=total,
              automation_run_id=automation_run_id, params=params or {})
    job.items = [
        JobItem(position=n, task_id=i.task_id, content_id=i.content_id, image_id=i.image_id,
                credits_reserved=i.credits_reserved, state="pending")
        for n, i in enumerate(items)
    ]
    session.add(job)
    await session.flush()
    if total:
        await credits.reserve(session, account_id=placement.account_id, amount=total, job_id=job.id,
                              description=f"{description}: job {job.id}, {len(items)} items")
    return job


# UPDATE ... RETURNING an entity: the returned values also refresh a copy already in the session.
_RETURNED = {"synchronize_session": False, "populate_existing": True}


async def record(
    session: AsyncSession, *, job_id: int, event: str, values: dict[str, Any] | None = None,
    item: JobItem | None = None,
) -> Job:
    """Apply `values` to the job, bump its version and write the event (with `item` as it is now,
    flushed); returns the job after the change."""
    stmt = (
        update(Job).where(Job.id == job_id)
        .values(**(values or {}), version=Job.version + 1, update_time=utcnow())
        .returning(Job)
    )
    job = (await session.scalars(stmt, execution_options=_RETURNED)).one()
    payload: dict[str, Any] = {"job": snapshot(job, Job)}
    if item is not None:
        payload["item"] = snapshot(item, JobItem)
    session.add(JobEvent(job_id=job_id, sequence=job.version, type=event, job_item_id=item.id if item else None,
                         payload=payload))
    await session.flush()
    return job


async def claim_item(session: AsyncSession, *, item_id: int) -> tuple[JobItem, Job] | None:
    """Mark an item running (again, after a crash) and count the attempt; None if it has ended.

    Returns the item, whose `attempts` the finishing transaction must still find (a redelivered
    copy of the same work cannot finish it twice), and its job."""
    now = utcnow()
    item = (await session.scalars(
        update(JobItem).where(JobItem.id == item_id, JobItem.state.in_(OPEN_STATES))
        .values(state="running", attempts=JobItem.attempts + 1, start_time=now, update_time=now)
        .returning(JobItem),
        execution_options=_RETURNED,
    )).one_or_none()
    if item is None:
        return None
    started = (await session.execute(
        update(Job).where(Job.id == item.job_id, Job.state == "pending")
        .values(state="running", start_time=now).returning(Job.id),
        execution_options={"synchronize_session": False},
    )).one_or_none()
    if started is not None:
        await record(session, job_id=item.job_id, event="job_started")
    job = await record(session, job_id=item.job_id, event="item_started", item=item)
    return item, job


async def own_item(session: AsyncSession, *, item_id: int, attempt: int) -> JobItem | None:
    """The running item, locked, if this attempt still owns it."""
    return await session.scalar(
        select(JobItem).where(JobItem.id == item_id, JobItem.state == "running", JobItem.attempts == attempt)
        .with_for_update()
    )


async def _end_if_done(session: AsyncSession, job: Job) -> None:
    if job.succeeded_items + job.failed_items + job.cancelled_items < job.total_items or job.state in TERMINAL_STATES:
        return
    final = "succeeded" if job.succeeded_items == job.total_items else (
        "cancelled" if job.cancelled_items else "failed")
    await record(session, job_id=job.id, event=f"job_{final}", values={"state": final, "end_time": utcnow()})


async def item_succeeded(
    session: AsyncSession, *, item: JobItem, charged: int, result_content_id: int | None = None
) -> None:
    """Settle the item's credits, mark it succeeded, and end the job if it was the last."""
    item.state, item.credits_charged, item.end_time = "succeeded", charged, utcnow()
    item.result_content_id, item.error_reason = result_content_id, ""
    await session.flush()
    job = await record(session, job_id=item.job_id, event="item_succeeded", item=item, values={
        "succeeded_items": Job.succeeded_items + 1, "credits_charged": Job.credits_charged + charged,
        "credits_released": Job.credits_released + (item.credits_reserved - charged)})
    await credits.settle(session, account_id=job.account_id, reserved=item.credits_reserved, charged=charged,
                         job_id=job.id, job_item_id=item.id)
    await _end_if_done(session, job)


async def item_failed(session: AsyncSession, *, item: JobItem, reason: str) -> None:
    """Release the item's credits, mark it failed with the reason, and end the job if it was the last."""
    item.state, item.error_reason, item.end_time = "failed", reason, utcnow()
    await session.flush()
    job = await record(session, job_id=item.job_id, event="item_failed", item=item, values={
        "failed_items": Job.failed_items + 1, "credits_released": Job.credits_released + item.credits_reserved})
    await credits.release(session, account_id=job.account_id, amount=item.credits_reserved, job_id=job.id,
                          job_item_id=item.id, description=f"item {item.id} failed: {reason[:200]}")
    await _end_if_done(session, job)


async def cancel_job(db: Database, tenant: TenantContext, *, job_id: int) -> Job:
    """Cancel the items not started yet (releasing their credits); running ones finish."""
    async with db.transaction() as session:
        job = await get_scoped(session, Job, job_id, tenant)
        if job.state in TERMINAL_STATES:
            raise FailedPrecondition(
                message=f"job {job_id} has already ended ({job.state})", reason="JOB_ENDED",
                violations=[PreconditionViolation("STATE", f"job/{job_id}", f"job is {job.state}")],
                metadata={"id": str(job_id), "state": job.state})
        pending = list((await session.scalars(
            select(JobItem).where(JobItem.job_id == job_id, JobItem.state == "pending").with_for_update()
        )).all())
        row: Job | None = None
        for item in pending:
            item.state, item.end_time = "cancelled", utcnow()
            await session.flush()
            # The job's row before the account's, the order an item finishing on a worker takes them
            # in: the other order deadlocks against it.
            row = await record(session, job_id=job_id, event="item_cancelled", item=item, values={
                "cancelled_items": Job.cancelled_items + 1,
                "credits_released": Job.credits_released + item.credits_reserved})
            await credits.release(session, account_id=job.account_id, amount=item.credits_reserved, job_id=job_id,
                                  job_item_id=item.id, description=f"item {item.id} cancelled")
        if row is not None:
            await _end_if_done(session, row)
    return await get_job(db, tenant, job_id=job_id)


async def get_job(db: Database, tenant: TenantContext, *, job_id: int) -> Job:
    """One job with its items, if the caller may see it."""
    async with db.read() as session:
        return await get_scoped(session, Job, job_id, tenant, options=[selectinload(Job.items)])


async def list_jobs(db: Database, tenant: TenantContext, *, query: ListQuery) -> Page:
    """A page of the caller's jobs (without items)."""
    async with db.read() as session:
        return await list_page(session, LIST_SPEC, tenant, query)


async def open_items_for(session: AsyncSession, column: Any, ids: Sequence[int]) -> list[int]:
    """The ids among `ids` (tasks, contents or images: `column` says which) that a job not yet
    ended is working on."""
    rows = await session.scalars(
        select(column).join(Job, Job.id == JobItem.job_id)
        .where(column.in_(list(ids)), JobItem.state.in_(OPEN_STATES), Job.state.in_(OPEN_STATES))
    )
    return sorted({r for r in rows if r is not None})


async def pending_item_ids(db: Database, *, job_id: int) -> list[int]:
    """The items of a job that still have to run, in order."""
    async with db.read() as session:
        return list(await session.scalars(
            select(JobItem.id).where(JobItem.job_id == job_id, JobItem.state.in_(OPEN_STATES))
            .order_by(JobItem.position)))


async def latest_event_id(db: Database) -> int:
    """The id of the newest job event (0 when there is none)."""
    async with db.read() as session:
        return int(await session.scalar(select(func.coalesce(func.max(JobEvent.id), 0))) or 0)


async def events_after(db: Database, *, after_id: int, also: Sequence[int] = (), limit: int = 500) -> list[JobEvent]:
    """Job events newer than `after_id`, and those among the ids `also` (older ids a poll passed
    over), oldest first."""
    newer = JobEvent.id > after_id
    async with db.read() as session:
        return list(await session.scalars(
            select(JobEvent).where(or_(newer, JobEvent.id.in_(list(also))) if also else newer)
            .order_by(JobEvent.id).limit(limit)))


async def job_versions(db: Database, *, job_ids: Sequence[int]) -> dict[int, int]:
    """The current version (the sequence of its latest event) of each of the jobs."""
    async with db.read() as session:
        rows = await session.execute(select(Job.id, Job.version).where(Job.id.in_(list(job_ids))))
        return {row.id: row.version for row in rows}


async def job_events_after(db: Database, *, job_id: int, sequence: int) -> list[JobEvent]:
    """A job's events after `sequence`, in order."""
    async with db.read() as session:
        return list(await session.scalars(
            select(JobEvent).where(JobEvent.job_id == job_id, JobEvent.sequence > sequence)
            .order_by(JobEvent.sequence)))
