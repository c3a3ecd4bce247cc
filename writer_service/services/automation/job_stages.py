"""Stages 4 to 6: items handed to generation jobs in batches, and followed through the jobs' events.

Each batch is asked for exactly as TasksService.AutoGenerateContent and ImagesService's
GenerateImagePrompts / GenerateImages ask for theirs (same checks, same credit reservation and
billing), with the run's id on the job. Rows a batch refuses by name (changed since the stage
started, or taken by another job) are skipped. When the account cannot pay for a whole batch, the
part it can pay for goes; when it cannot pay for the next item, the stage ends with credits
exhausted and nothing of that item written. A run told to stop cancels the items of its job that
have not started (their credits released, nothing charged), lets the started ones finish, and
takes no further batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from writer_service.db.models import Job
from writer_service.domain.errors import FailedPrecondition, InsufficientCredits, NotFound
from writer_service.services import jobs
from writer_service.services.automation.events import Exhausted, StageSummary
from writer_service.services.automation.progress import DONE, FAILED_ITEM, SKIPPED, Outcome, RunContext, StageRun
from writer_service.services.job_events import watch

log = logging.getLogger("writer_service.automation")


@dataclass(frozen=True)
class Candidate:
    """An item a stage takes on: its id, a title to show, and the credits its job reserves for it.
    `content_id`/`draft`: the content an image belongs to, and whether it was a draft at the start."""

    id: int
    title: str
    estimate: int
    content_id: int = 0
    draft: bool = False


# What a succeeded job item produced: (result kind or None, result id); `seen` is the stage's memory.
Produced = Callable[[RunContext, Candidate, dict[str, Any], set[int]], Awaitable[tuple[str | None, int]]]


@dataclass(frozen=True)
class JobStage:
    """One of stages 4 to 6: which items it takes, how it asks for their job, what an item produces."""

    stage: int
    item_kind: str  # also the resource name in the refusals of the job's checks ("task/12")
    item_field: str  # the job item's column naming the item: task_id, content_id or image_id
    batch_size: int
    eligible: Callable[[RunContext], Awaitable[list[Candidate]]]
    submit: Callable[[RunContext, list[int]], Awaitable[Job]]
    produced: Produced


async def run_job_stage(ctx: RunContext, spec: JobStage) -> StageSummary:
    """Take the eligible items batch by batch, each batch one job followed to its end."""
    queue = await spec.eligible(ctx)
    stage = StageRun(ctx, spec.stage, spec.item_kind, len(queue))
    seen: set[int] = set()
    while queue:
        if stage.stopping:
            stage.left_over = True
            break
        sent = await _submit(ctx, spec, stage, queue[:spec.batch_size])
        if isinstance(sent, Exhausted):
            return await stage.summary(sent)
        job, batch, consumed = sent
        queue = [c for c in queue if c.id not in consumed]
        if job is not None:
            await _follow(ctx, spec, stage, job, batch, seen)
    return await stage.summary()


def _affordable(batch: list[Candidate], available: int) -> int:
    """How many items from the front of the batch `available` credits pay for."""
    count, total = 0, 0
    for candidate in batch:
        total += candidate.estimate
        if total > available:
            break
        count += 1
    return count


def _refused(error: FailedPrecondition | NotFound, kind: str) -> dict[int, str]:
    """The items a job's checks refused by name, and why."""
    if isinstance(error, NotFound):
        missing = error.metadata.get("missing_ids", "")
        why = f"{error.reason}: deleted or moved since the stage started"
        return {int(i): why for i in missing.split(",") if i.strip().isdigit()}
    refused: dict[int, str] = {}
    for violation in error.violations:
        resource, _, item_id = violation.subject.rpartition("/")
        if resource == kind and item_id.isdigit():
            refused[int(item_id)] = f"{error.reason}: {violation.description}"
    return refused


async def _submit(ctx: RunContext, spec: JobStage, stage: StageRun, batch: list[Candidate]
                  ) -> tuple[Job | None, list[Candidate], set[int]] | Exhausted:
    """Ask for the batch's job: (the job or None, its items, the ids dealt with), or Exhausted."""
    pending, consumed = list(batch), set[int]()
    while pending:
        try:
            job = await spec.submit(ctx, [c.id for c in pending])
        except InsufficientCredits as error:
            count = min(_affordable(pending, error.available), len(pending) - 1)
            if count <= 0:
                required = error.required if len(pending) == 1 else pending[0].estimate
                return Exhausted(required=required, available=error.available)
            pending = pending[:count]  # the rest go back to the queue
            continue
        except (FailedPrecondition, NotFound) as error:
            refused = _refused(error, spec.item_kind)
            if not refused.keys() & {c.id for c in pending}:
                raise
            for candidate in pending:
                if candidate.id in refused:
                    await stage.finish_item(Outcome(candidate.id, candidate.title, SKIPPED,
                                                    reason=refused[candidate.id]))
            consumed |= refused.keys()
            pending = [c for c in pending if c.id not in refused]
            continue
        return job, pending, consumed | {c.id for c in pending}
    return None, [], consumed


CANCEL_ATTEMPTS = 5


async def _cancel_when_stopped(ctx: RunContext, job_id: int) -> None:
    """Once the run is told to stop, cancel the job's items not started yet. A failure of the cancel
    itself (a lost connection, a lock timeout) is tried again: the items it would leave pending would
    run and be charged after the caller went away."""
    await ctx.stop.wait()
    for attempt in range(1, CANCEL_ATTEMPTS + 1):
        try:
            await jobs.cancel_job(ctx.gen.db, ctx.tenant, job_id=job_id)
            return
        except FailedPrecondition:  # the job ended meanwhile
            return
        except Exception:  # noqa: BLE001 - logged and tried again; the run goes on following the job
            log.warning("automation run %s: cancelling job %s failed (attempt %d of %d)", ctx.run_id, job_id,
                        attempt, CANCEL_ATTEMPTS, exc_info=True)
            await asyncio.sleep(0.2 * 2 ** attempt)


async def _follow(ctx: RunContext, spec: JobStage, stage: StageRun, job: Job, batch: list[Candidate],
                  seen: set[int]) -> None:
    """Report each item of the job as its events show it starting and ending, until the job ends."""
    by_id = {c.id: c for c in batch}
    ended: set[int] = set()
    canceller = asyncio.create_task(_cancel_when_stopped(ctx, job.id))
    try:
        async for event in watch(ctx.gen.db, ctx.gen.hub, ctx.tenant, job_id=job.id):
            for item in event.items:
                candidate = by_id.get(item[spec.item_field] or 0)
                if candidate is not None and candidate.id not in ended:
                    outcome = await _outcome(ctx, spec, stage, candidate, item, seen)
                    if outcome is not None:
                        ended.add(candidate.id)
                        await stage.finish_item(outcome)
    finally:
        canceller.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await canceller


async def _outcome(ctx: RunContext, spec: JobStage, stage: StageRun, candidate: Candidate, item: dict[str, Any],
                   seen: set[int]) -> Outcome | None:
    state = item["state"]
    if state in ("running", "succeeded", "failed"):
        stage.started(candidate.id, candidate.title)
    if state == "succeeded":
        kind, result_id = await spec.produced(ctx, candidate, item, seen)
        return Outcome(candidate.id, candidate.title, DONE, result_kind=kind, result_id=result_id,
                       credits=int(item["credits_charged"]))
    if state == "failed":
        return Outcome(candidate.id, candidate.title, FAILED_ITEM, reason=item["error_reason"] or "failed")
    if state == "cancelled":
        stage.left_over = stage.left_over or stage.stopping
        return Outcome(candidate.id, candidate.title, SKIPPED, reason="JOB_CANCELLED: cancelled before it started")
    return None
