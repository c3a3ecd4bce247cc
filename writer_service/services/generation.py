"""Asking for content generation (the source's ContentGenerationService.generate_content).

`auto_generate_content` checks the tasks, reserves their estimated cost and writes the job in one
transaction, commits, and only then hands the job's items to the dispatcher (Celery workers, or
this process when there is no broker). A caller that asks to wait gets the ended job back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.exc import IntegrityError

from writer_service.db.database import Database
from writer_service.db.models import Job, Task
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


def _refuse(tasks_ids: list[int], reason: str, why: str) -> FailedPrecondition:
    listed = ", ".join(map(str, tasks_ids))
    return FailedPrecondition(
        message=f"tasks {listed}: {why}", reason=reason,
        violations=[PreconditionViolation("STATE", f"task/{i}", why) for i in tasks_ids],
        metadata={"task_ids": listed},
    )


async def _existing(gen: Generation, account_id: int, request_id: str) -> Job | None:
    async with gen.db.read() as session:
        return await jobs.find_by_request_id(session, account_id=account_id, request_id=request_id)


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
    key = parse_request_id(request_id)
    account_id = tenant.require_account()
    job = await _existing(gen, account_id, key) if key else None
    if job is None:
        try:
            job, created = await _create(gen, tenant, ids=ids, request_id=key, wait=wait,
                                         automation_run_id=automation_run_id)
        except IntegrityError:
            # A concurrent retry with the same request_id won the race: answer with its job.
            job, created = (await _existing(gen, account_id, key) if key else None), False
            if job is None:
                raise
        if created:
            await gen.dispatcher.submit(job.id, [item.id for item in job.items])
    if wait:
        await wait_for_end(gen, tenant, job_id=job.id)
    return await jobs.get_job(gen.db, tenant, job_id=job.id)


async def _create(gen: Generation, tenant: TenantContext, *, ids: list[int], request_id: str | None,
                  wait: bool, automation_run_id: int | None) -> tuple[Job, bool]:
    async with gen.db.transaction() as session:
        tasks = await get_many_scoped(session, Task, ids, tenant, for_update=True)
        if request_id is not None:
            # Checked again under the task locks: a concurrent retry may have committed meanwhile.
            existing = await jobs.find_by_request_id(session, account_id=tasks[0].account_id, request_id=request_id)
            if existing is not None:
                return existing, False
        places = {(t.account_id, t.site_id, t.sector_id) for t in tasks}
        if len(places) > 1:
            raise InvalidArgument.of("task_ids", "the tasks of one call must belong to one site and sector")
        completed = [t.id for t in tasks if t.status == "completed"]
        if completed:
            raise _refuse(completed, "TASKS_COMPLETED", "already completed")
        busy = await jobs.open_items_for_tasks(session, ids)
        if busy:
            raise _refuse(busy, "TASKS_IN_RUNNING_JOB", "already in a job that has not ended")
        account_id, site_id, sector_id = places.pop()
        job = await jobs.create_job(
            session,
            placement=Placement(account_id, site_id, sector_id),
            kind="content_generation",
            user_id=tenant.user_id,
            request_id=request_id,
            wait=wait,
            items=[jobs.NewItem(credits_reserved=gen.prices.content_estimate(t.word_count), task_id=t.id)
                   for t in tasks],
            description="content generation",
            automation_run_id=automation_run_id,
        )
        return job, True


async def wait_for_end(gen: Generation, tenant: TenantContext, *, job_id: int) -> None:
    """Return once the job has ended (the caller's deadline bounds the wait)."""
    async for _event in watch(gen.db, gen.hub, tenant, job_id=job_id):
        pass
