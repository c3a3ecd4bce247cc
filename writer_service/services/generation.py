"""Asking for content generation (the source's ContentGenerationService.generate_content).

`auto_generate_content` checks the tasks, reserves their estimated cost and writes the job in one
transaction, commits, and only then hands the job's items to the dispatcher (Celery workers, or
this process when there is no broker). A caller that asks to wait gets the ended job back.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from writer_service.db.database import Database
from writer_service.db.models import Job, JobItem, Task
from writer_service.domain.changes import parse_request_id
from writer_service.domain.errors import FailedPrecondition, FieldViolation, InvalidArgument, PreconditionViolation
from writer_service.domain.pricing import Prices
from writer_service.services import jobs
from writer_service.services.job_events import JobEventHub, watch
from writer_service.tenancy.context import TenantContext
from writer_service.tenancy.scoping import Placement, get_many_scoped

MAX_TASKS_PER_CALL = 10


class Dispatcher(Protocol):
    """Runs the items of a committed job somewhere: Celery workers or this process."""

    async def submit(self, job_id: int, item_ids: Sequence[int]) -> None:
        """Start the items; returns as soon as they are handed over."""


@dataclass
class Generation:
    """What asking for generation needs: the database, prices, where items run and how to follow them."""

    db: Database
    prices: Prices
    dispatcher: Dispatcher
    hub: JobEventHub


def check_ids(ids: Sequence[int], *, field: str, maximum: int) -> list[int]:
    """1..maximum positive ids without repeats; INVALID_ARGUMENT naming what is wrong."""
    if not ids:
        raise InvalidArgument.of(field, f"name between 1 and {maximum} ids")
    if len(ids) > maximum:
        raise InvalidArgument.of(field, f"at most {maximum} ids per call, got {len(ids)}")
    violations = [FieldViolation(f"{field}[{n}]", "must be a positive id") for n, i in enumerate(ids) if i <= 0]
    repeated = sorted({i for i in ids if list(ids).count(i) > 1})
    if repeated:
        violations.append(FieldViolation(field, f"repeated ids: {', '.join(map(str, repeated))}"))
    if violations:
        raise InvalidArgument(message="; ".join(v.description for v in violations), violations=violations,
                              metadata={"field": field})
    return list(ids)


def refuse(ids: list[int], reason: str, why: str, *, resource: str = "task") -> FailedPrecondition:
    """FAILED_PRECONDITION naming every row of `ids` that cannot be worked on, and why."""
    listed = ", ".join(map(str, ids))
    return FailedPrecondition(
        message=f"{resource}s {listed}: {why}", reason=reason,
        violations=[PreconditionViolation("STATE", f"{resource}/{i}", why) for i in ids],
        metadata={f"{resource}_ids": listed},
    )


async def _existing(gen: Generation, account_id: int, request_id: str) -> Job | None:
    async with gen.db.read() as session:
        return await jobs.find_by_request_id(session, account_id=account_id, request_id=request_id)


def one_place(rows: Sequence[Any], field: str, what: str) -> Placement:
    """The one site and sector all `rows` live in; INVALID_ARGUMENT when they are spread out."""
    places = {(r.account_id, r.site_id, r.sector_id) for r in rows}
    if len(places) > 1:
        raise InvalidArgument.of(field, f"the {what} of one call must belong to one site and sector")
    return Placement(*places.pop())


# Builds the job inside the transaction: checks and locks its rows first, then jobs.create_job.
JobBuilder = Callable[[AsyncSession, str | None, Callable[[int], Awaitable[Job | None]]], Awaitable[Job]]


class _Retried(Exception):
    def __init__(self, job_id: int) -> None:
        self.job_id = job_id


async def start_job(gen: Generation, tenant: TenantContext, *, request_id: str, wait: bool,
                    build: JobBuilder) -> Job:
    """The flow every generation request shares: answer a retried request_id with its first job;
    otherwise build, reserve and commit the job in one transaction, then dispatch its items; with
    `wait`, return once it has ended."""
    key = parse_request_id(request_id)
    account_id = tenant.require_account()
    existing = await _existing(gen, account_id, key) if key else None
    job_id = existing.id if existing is not None else 0
    if not job_id:
        try:
            async with gen.db.transaction() as session:

                async def retried(locked_account: int) -> Job | None:
                    # Checked again under the row locks: a concurrent retry may have committed meanwhile.
                    if key is None:
                        return None
                    found = await jobs.find_by_request_id(session, account_id=locked_account, request_id=key)
                    if found is not None:
                        raise _Retried(found.id)
                    return None

                job = await build(session, key, retried)
            job_id = job.id
            await gen.dispatcher.submit(job.id, [item.id for item in job.items])
        except _Retried as first:
            job_id = first.job_id
        except IntegrityError:
            # A concurrent retry with the same request_id won the race: answer with its job.
            existing = await _existing(gen, account_id, key) if key else None
            if existing is None:
                raise
            job_id = existing.id
    if wait:
        await wait_for_end(gen, tenant, job_id=job_id)
    return await jobs.get_job(gen.db, tenant, job_id=job_id)


async def auto_generate_content(
    gen: Generation,
    tenant: TenantContext,
    *,
    task_ids: Sequence[int],
    request_id: str = "",
    wait: bool = False,
    automation_run_id: int | None = None,
) -> Job:
    """Write a content generation job for 1-10 queued tasks, reserve its credits, start it."""
    ids = check_ids(task_ids, field="task_ids", maximum=MAX_TASKS_PER_CALL)

    async def build(session: AsyncSession, key: str | None, retried: Callable[[int], Awaitable[Job | None]]) -> Job:
        tasks = await get_many_scoped(session, Task, ids, tenant, for_update=True)
        await retried(tasks[0].account_id)
        placement = one_place(tasks, "task_ids", "tasks")
        completed = [t.id for t in tasks if t.status == "completed"]
        if completed:
            raise refuse(completed, "TASKS_COMPLETED", "already completed")
        busy = await jobs.open_items_for(session, JobItem.task_id, ids)
        if busy:
            raise refuse(busy, "TASKS_IN_RUNNING_JOB", "already in a job that has not ended")
        return await jobs.create_job(
            session, placement=placement, kind="content_generation", user_id=tenant.user_id, request_id=key,
            wait=wait, description="content generation", automation_run_id=automation_run_id,
            items=[jobs.NewItem(credits_reserved=gen.prices.content_estimate(t.word_count), task_id=t.id)
                   for t in tasks],
        )

    return await start_job(gen, tenant, request_id=request_id, wait=wait, build=build)


async def wait_for_end(gen: Generation, tenant: TenantContext, *, job_id: int) -> None:
    """Return once the job has ended (the caller's deadline bounds the wait)."""
    async for _event in watch(gen.db, gen.hub, tenant, job_id=job_id):
        pass
