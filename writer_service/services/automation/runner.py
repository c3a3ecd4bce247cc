"""Starting automation runs, and driving each in a task of its own while its caller reads the events.

The run does not live inside the call: a caller that cancels, or whose deadline passes, only sets the
run's stop flag, and the run stops at the next item boundary (what started finishes and is counted)
before it writes its end state. The call itself only relays the run's events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from writer_service.services.automation import ideas, runs
from writer_service.services.automation.events import (
    CANCELLED,
    CONTENT_GENERATION,
    FAILED,
    IMAGE_GENERATION,
    IMAGE_PROMPTS,
    PIPELINE,
    STAGES,
    SUCCEEDED,
    TASK_CREATION,
    Event,
    StageSummary,
)
from writer_service.services.automation.job_stages import JobStage, run_job_stage
from writer_service.services.automation.progress import RunContext
from writer_service.services.automation.stages import CONTENT_STAGE, IMAGE_STAGE, PROMPT_STAGE
from writer_service.services.generation import Generation
from writer_service.tenancy.context import TenantContext

log = logging.getLogger("writer_service.automation")

# A process beats for the runs it drives this often; a running run not beaten for STALE_AFTER_SECONDS
# lost its process and is swept to failed by whichever server sweeps next.
HEARTBEAT_SECONDS = 30.0
STALE_AFTER_SECONDS = 120.0


def _jobs_of(spec: JobStage) -> Callable[[RunContext], Awaitable[StageSummary]]:
    async def run(ctx: RunContext) -> StageSummary:
        return await run_job_stage(ctx, spec)
    return run


STAGE_RUNNERS: dict[int, Callable[[RunContext], Awaitable[StageSummary]]] = {
    TASK_CREATION: ideas.run_stage,
    CONTENT_GENERATION: _jobs_of(CONTENT_STAGE),
    IMAGE_PROMPTS: _jobs_of(PROMPT_STAGE),
    IMAGE_GENERATION: _jobs_of(IMAGE_STAGE),
}


class Automation:
    """Runs automation stages 3 to 6 (one stage, or all four as the pipeline) for callers."""

    def __init__(self, gen: Generation) -> None:
        self.gen = gen
        self._runs: dict[asyncio.Task[None], RunContext] = {}
        self._keeper: asyncio.Task[None] | None = None

    def keep_runs(self, *, every: float = HEARTBEAT_SECONDS, stale_after: float = STALE_AFTER_SECONDS) -> None:
        """Start beating for this process's runs and sweeping the runs of processes gone, every
        `every` seconds, until close(). The first sweep is now: runs a killed server left running end."""
        if self._keeper is None:
            self._keeper = asyncio.create_task(self._keep(every, stale_after), name="automation-run-keeper")

    async def _keep(self, every: float, stale_after: float) -> None:
        while True:
            try:
                await runs.beat(self.gen.db, [ctx.run_id for ctx in self._runs.values()])
                swept = await runs.sweep_stale(self.gen.db, stale_after=stale_after)
                if swept:
                    log.warning("automation runs %s ended as failed: their process stopped (no heartbeat for "
                                "%.0f s)", swept, stale_after)
            except Exception:  # noqa: BLE001 - a database hiccup; the next round tries again
                log.exception("automation run heartbeat or sweep failed")
            await asyncio.sleep(every)

    async def run(self, tenant: TenantContext, *, stage: int, site_id: int = 0, sector_id: int = 0,
                  max_items: int = 0, cluster_id: int = 0, request_id: str = "") -> AsyncIterator[Event]:
        """Start a run of `stage` (PIPELINE: stages 3 to 6) and yield its events until its last summary;
        a retried request_id yields its first run's summary as it stands. Closing the iterator early
        stops the run at the next item boundary."""
        started = await runs.start_run(self.gen.db, tenant, stage=stage, site_id=site_id, sector_id=sector_id,
                                       max_items=max_items, cluster_id=cluster_id, request_id=request_id)
        if not started.created:
            yield runs.summary_of(started.run)
            return
        queue: asyncio.Queue[Event | None] = asyncio.Queue()
        ctx = RunContext(gen=self.gen, tenant=started.tenant, run_id=started.run.id, limits=started.limits,
                         emit=queue.put_nowait, stop=asyncio.Event())
        task = asyncio.create_task(self._drive(ctx, stage, queue), name=f"automation-run-{ctx.run_id}")
        self._runs[task] = ctx
        task.add_done_callback(self._forget)
        try:
            while (event := await queue.get()) is not None:
                yield event
        finally:
            ctx.stop.set()

    def _forget(self, task: asyncio.Task[None]) -> None:
        self._runs.pop(task, None)

    async def drain(self) -> None:
        """Wait for every run started so far to end."""
        while self._runs:
            await asyncio.gather(*list(self._runs), return_exceptions=True)

    async def close(self, grace: float) -> None:
        """Shutting down: stop every run at its next item boundary and give them `grace` seconds to
        end; a run still going then is cut off and recorded as cancelled."""
        if self._keeper is not None:
            self._keeper.cancel()
            await asyncio.gather(self._keeper, return_exceptions=True)
            self._keeper = None
        for ctx in self._runs.values():
            ctx.stop.set()
        if not self._runs:
            return
        _done, going = await asyncio.wait(list(self._runs), timeout=grace)
        for task in going:
            task.cancel()
        await asyncio.gather(*going, return_exceptions=True)

    async def _drive(self, ctx: RunContext, stage: int, queue: asyncio.Queue[Event | None]) -> None:
        try:
            final = await (_pipeline(ctx) if stage == PIPELINE else _one_stage(ctx, stage))
            log.info("automation run %s (stage %s) %s: %d done, %d failed, %d skipped, %d credits", ctx.run_id,
                     stage, final.state, final.items_done, final.items_failed, final.items_skipped,
                     final.credits_used)
        except asyncio.CancelledError:
            log.warning("automation run %s cut off by shutdown", ctx.run_id)
            with contextlib.suppress(Exception):
                await runs.record_tally(self.gen.db, ctx.tenant, run_id=ctx.run_id, tally=ctx.tally,
                                        state=CANCELLED)
            raise
        except Exception:  # noqa: BLE001 - the run ends failed and says so; the cause goes to the log
            log.exception("automation run %s failed", ctx.run_id)
            with contextlib.suppress(Exception):
                await runs.record_tally(self.gen.db, ctx.tenant, run_id=ctx.run_id, tally=ctx.tally, state=FAILED)
            ctx.emit(StageSummary(run_id=ctx.run_id, stage=stage, items_done=ctx.tally.done,
                                  items_failed=ctx.tally.failed, items_skipped=ctx.tally.skipped,
                                  credits_used=ctx.tally.credits, state=FAILED))
        finally:
            queue.put_nowait(None)


async def _one_stage(ctx: RunContext, stage: int) -> StageSummary:
    summary = await STAGE_RUNNERS[stage](ctx)
    await runs.end_run(ctx.gen.db, ctx.tenant, run_id=ctx.run_id, tally=ctx.tally, summary=summary)
    ctx.emit(summary)
    return summary


async def _pipeline(ctx: RunContext) -> StageSummary:
    """Stages 3 to 6 in order, each with its summary; the first that does not succeed ends the run."""
    last: StageSummary | None = None
    for stage in STAGES:
        last = await STAGE_RUNNERS[stage](ctx)
        ctx.emit(last)
        if last.state != SUCCEEDED:
            break
    assert last is not None
    await runs.end_run(ctx.gen.db, ctx.tenant, run_id=ctx.run_id, tally=ctx.tally, summary=last)
    final = StageSummary(
        run_id=ctx.run_id, stage=PIPELINE, items_done=ctx.tally.done, items_failed=ctx.tally.failed,
        items_skipped=ctx.tally.skipped, credits_used=ctx.tally.credits, state=last.state,
        credits_exhausted=last.credits_exhausted, credits_required=last.credits_required,
        credits_available=last.credits_available,
    )
    ctx.emit(final)
    return final
