"""One run as it goes: where its events go, when it must stop, and each stage's items and counts.

Every item ends in one Outcome; the stage counts it, saves the run's tally (so the AutomationRun row
is current while the run goes) and tells the caller: ItemStarted (once per item), the outcome's event
and a StageProgress (stage 3, whose ideas end together a batch at a time, sends one per batch).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from writer_service.services.automation import runs
from writer_service.services.automation.events import (
    CANCELLED,
    FAILED,
    SUCCEEDED,
    Event,
    Exhausted,
    ItemFailed,
    ItemSkipped,
    ItemStarted,
    ItemSucceeded,
    StageProgress,
    StageSummary,
    Tally,
)
from writer_service.services.generation import Generation
from writer_service.tenancy.context import TenantContext

DONE, FAILED_ITEM, SKIPPED = "done", "failed", "skipped"


@dataclass
class RunContext:
    """What every stage of a run shares: the generation machinery, the run's narrowed tenant, its
    limits, where its events go, the flag that stops it, and its tally across stages."""

    gen: Generation
    tenant: TenantContext
    run_id: int
    limits: runs.Limits
    emit: Callable[[Event], None]
    stop: asyncio.Event
    tally: Tally = field(default_factory=Tally)


@dataclass(frozen=True)
class Outcome:
    """How one item ended: done (with what it produced and cost), failed or skipped (with why)."""

    item_id: int
    title: str
    result: str
    reason: str = ""
    result_kind: str | None = None
    result_id: int = 0
    credits: int = 0


def _add(tally: Tally, outcome: Outcome) -> None:
    tally.done += outcome.result == DONE
    tally.failed += outcome.result == FAILED_ITEM
    tally.skipped += outcome.result == SKIPPED


class StageRun:
    """One stage of a run: its items' events and its counts."""

    def __init__(self, ctx: RunContext, stage: int, item_kind: str, total: int) -> None:
        self.ctx = ctx
        self.stage = stage
        self.item_kind = item_kind
        self.total = total
        self.tally = Tally()
        self.left_over = False  # items it took on and did not get to (stopped early)
        self._started: set[int] = set()

    def started(self, item_id: int, title: str) -> None:
        """Tell the caller work on the item started (once per item)."""
        if item_id in self._started:
            return
        self._started.add(item_id)
        self.ctx.emit(ItemStarted(run_id=self.ctx.run_id, stage=self.stage, item_kind=self.item_kind,
                                  item_id=item_id, title=title))

    def count(self, outcome: Outcome) -> None:
        """Count the outcome in the run's tally, to be saved (the run's credits come from its logs)."""
        _add(self.ctx.tally, outcome)

    def report(self, outcome: Outcome, *, progress: bool = True) -> None:
        """Count the outcome in the stage's tally, and tell the caller how the item ended and (unless
        the stage reports progress once per batch) the stage's counts after it."""
        _add(self.tally, outcome)
        self.tally.credits += outcome.credits
        run_id, stage, kind = self.ctx.run_id, self.stage, self.item_kind
        self.started(outcome.item_id, outcome.title)
        if outcome.result == DONE:
            self.ctx.emit(ItemSucceeded(run_id=run_id, stage=stage, item_kind=kind, item_id=outcome.item_id,
                                        result_kind=outcome.result_kind, result_id=outcome.result_id,
                                        credits_used=outcome.credits))
        elif outcome.result == FAILED_ITEM:
            self.ctx.emit(ItemFailed(run_id=run_id, stage=stage, item_kind=kind, item_id=outcome.item_id,
                                     reason=outcome.reason))
        else:
            self.ctx.emit(ItemSkipped(run_id=run_id, stage=stage, item_kind=kind, item_id=outcome.item_id,
                                      reason=outcome.reason))
        if progress:
            self.progress()

    def progress(self) -> None:
        """Tell the caller the stage's counts so far."""
        self.ctx.emit(StageProgress(run_id=self.ctx.run_id, stage=self.stage, items_done=self.tally.done,
                                    items_failed=self.tally.failed, items_skipped=self.tally.skipped,
                                    items_total=self.total, credits_used=self.tally.credits))

    async def finish_item(self, outcome: Outcome) -> None:
        """Count the outcome, save the run's tally, then tell the caller."""
        self.count(outcome)
        await runs.record_tally(self.ctx.gen.db, self.ctx.tenant, run_id=self.ctx.run_id, tally=self.ctx.tally)
        self.report(outcome)

    @property
    def stopping(self) -> bool:
        """Whether the caller went away: the stage takes no further item."""
        return self.ctx.stop.is_set()

    async def summary(self, exhausted: Exhausted | None = None) -> StageSummary:
        """The stage's summary: credits summed from the logs of its AI calls in this run."""
        state = FAILED if exhausted else CANCELLED if self.left_over else SUCCEEDED
        credits = await runs.stage_credits(self.ctx.gen.db, self.ctx.tenant, run_id=self.ctx.run_id,
                                           stage=self.stage)
        return StageSummary(
            run_id=self.ctx.run_id, stage=self.stage, items_done=self.tally.done, items_failed=self.tally.failed,
            items_skipped=self.tally.skipped, credits_used=credits, state=state,
            credits_exhausted=exhausted is not None, credits_required=exhausted.required if exhausted else 0,
            credits_available=exhausted.available if exhausted else 0,
        )
