"""Automation runs as rows: started once per request_id, tallied as they go, ended, read and listed.

A run's credits are never counted by hand: they are the sum of the AI request logs that carry the
run's id (every job the run asks for carries it, and so does every AI call of those jobs).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import ScalarSelect, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from writer_service.db.base import utcnow
from writer_service.db.database import Database
from writer_service.db.models import AIRequestLog, AutomationRun, Cluster
from writer_service.domain.errors import InvalidArgument
from writer_service.domain.vocabulary import AUTOMATION_RUN_STATES
from writer_service.services.automation.events import (
    CONTENT_GENERATION,
    FAILED,
    IMAGE_GENERATION,
    IMAGE_PROMPTS,
    PIPELINE,
    RUNNING,
    TASK_CREATION,
    Exhausted,
    StageSummary,
    Tally,
)
from writer_service.services.idempotency import create_once
from writer_service.services.listing import FilterField, ListQuery, ListSpec, Page, list_page
from writer_service.services.write_rules import place_of
from writer_service.tenancy.context import TenantContext
from writer_service.tenancy.scoping import Placement, get_scoped, resolve_placement, scoped

DEFAULT_MAX_ITEMS, MAX_ITEMS = 50, 500
METHODS = {PIPELINE: "RunPipeline", TASK_CREATION: "RunTaskCreationStage",
           CONTENT_GENERATION: "RunContentGenerationStage", IMAGE_PROMPTS: "RunImagePromptStage",
           IMAGE_GENERATION: "RunImageGenerationStage"}
# The AI operation whose logs a stage's credits are summed from (stage 3 calls no model).
OPERATIONS = {CONTENT_GENERATION: "content_generation", IMAGE_PROMPTS: "image_prompts",
              IMAGE_GENERATION: "image_generation"}

LIST_SPEC = ListSpec(
    model=AutomationRun,
    filters={
        "stage": FilterField(AutomationRun.stage, "int"),
        "state": FilterField(AutomationRun.state, "enum", AUTOMATION_RUN_STATES),
        "created_by_user_id": FilterField(AutomationRun.created_by_user_id, "id"),
        "create_time": FilterField(AutomationRun.create_time, "time"),
        "end_time": FilterField(AutomationRun.end_time, "time"),
    },
    order_fields={"create_time": AutomationRun.create_time, "update_time": AutomationRun.update_time,
                  "credits_used": AutomationRun.credits_used},
)


@dataclass(frozen=True)
class Limits:
    """How many items each stage takes at most, and the one cluster they must belong to (None: any)."""

    max_items: int
    cluster_id: int | None = None


def check_limits(*, max_items: int, cluster_id: int) -> Limits:
    """The request's limits: max_items 0 means 50, at most 500; INVALID_ARGUMENT otherwise."""
    if not 0 <= max_items <= MAX_ITEMS:
        raise InvalidArgument.of("max_items", f"must be between 0 (meaning {DEFAULT_MAX_ITEMS}) and {MAX_ITEMS}")
    if cluster_id < 0:
        raise InvalidArgument.of("cluster_id", "must be a cluster id, or 0 for every cluster")
    return Limits(max_items=max_items or DEFAULT_MAX_ITEMS, cluster_id=cluster_id or None)


def narrowed(tenant: TenantContext, place: Placement) -> TenantContext:
    """The caller's context narrowed to one account, site and sector: every query of a run uses it."""
    return TenantContext(principal=tenant.principal, account_id=place.account_id, site_id=place.site_id,
                         sector_id=place.sector_id)


@dataclass(frozen=True)
class Started:
    """A run as its call found it: made now (`created`), or the first run of a retried request_id."""

    run: AutomationRun
    tenant: TenantContext
    limits: Limits
    created: bool


async def start_run(db: Database, tenant: TenantContext, *, stage: int, site_id: int, sector_id: int,
                    max_items: int, cluster_id: int, request_id: str) -> Started:
    """Check the request and write a running run; a retried request_id finds its first run instead."""
    limits = check_limits(max_items=max_items, cluster_id=cluster_id)
    tenant.require_account()
    made: list[AutomationRun] = []

    async def create(session: AsyncSession) -> AutomationRun:
        place = await resolve_placement(session, tenant, site_id=site_id, sector_id=sector_id)
        if limits.cluster_id:
            await get_scoped(session, Cluster, limits.cluster_id, narrowed(tenant, place))
        run = AutomationRun(account_id=place.account_id, site_id=place.site_id, sector_id=place.sector_id,
                            stage=stage, state=RUNNING, created_by_user_id=tenant.user_id, start_time=utcnow())
        session.add(run)
        await session.flush()
        made.append(run)
        return run

    async def load(session: AsyncSession, run_id: int) -> AutomationRun:
        return await get_scoped(session, AutomationRun, run_id, tenant)

    run = await create_once(db, tenant, method=f"AutomationService.{METHODS[stage]}", request_id=request_id,
                            create=create, load=load)
    return Started(run=run, tenant=narrowed(tenant, place_of(run)), limits=limits,
                   created=bool(made) and made[-1] is run)


def _credits_of(tenant: TenantContext, run_id: int, stage: int = PIPELINE) -> ScalarSelect[Any]:
    stmt = select(func.coalesce(func.sum(AIRequestLog.credits), 0)).where(AIRequestLog.automation_run_id == run_id)
    if stage != PIPELINE:
        stmt = stmt.where(AIRequestLog.operation == OPERATIONS.get(stage, ""))
    return scoped(stmt, AIRequestLog, tenant).scalar_subquery()


async def stage_credits(db: Database, tenant: TenantContext, *, run_id: int, stage: int) -> int:
    """Credits of the run's AI calls made by `stage` (PIPELINE: by every stage)."""
    async with db.read() as session:
        return int(await session.scalar(select(_credits_of(tenant, run_id, stage))) or 0)


async def save_tally(session: AsyncSession, tenant: TenantContext, *, run_id: int, tally: Tally,
                     state: str = RUNNING, exhausted: Exhausted | None = None) -> None:
    """Write the run's counts, and its credits summed from its AI logs (into `tally.credits` too);
    a state other than running ends the run (`exhausted`: because credits ran out)."""
    values: dict[str, object] = {"items_done": tally.done, "items_failed": tally.failed,
                                 "items_skipped": tally.skipped, "credits_used": _credits_of(tenant, run_id),
                                 "update_time": utcnow()}
    if state != RUNNING:
        values.update(state=state, end_time=utcnow())
    if exhausted is not None:
        values.update(credits_exhausted=True, credits_required=exhausted.required,
                      credits_available=exhausted.available)
    stmt = update(AutomationRun).where(AutomationRun.id == run_id).values(**values)
    credits = await session.scalar(stmt.returning(AutomationRun.credits_used),
                                   execution_options={"synchronize_session": False})
    tally.credits = int(credits or 0)


async def record_tally(db: Database, tenant: TenantContext, *, run_id: int, tally: Tally,
                       state: str = RUNNING, exhausted: Exhausted | None = None) -> None:
    """save_tally in a transaction of its own."""
    async with db.transaction() as session:
        await save_tally(session, tenant, run_id=run_id, tally=tally, state=state, exhausted=exhausted)


async def end_run(db: Database, tenant: TenantContext, *, run_id: int, tally: Tally, summary: StageSummary) -> None:
    """Write the run's end as its last summary tells it."""
    exhausted = (Exhausted(required=summary.credits_required, available=summary.credits_available)
                 if summary.credits_exhausted else None)
    await record_tally(db, tenant, run_id=run_id, tally=tally, state=summary.state, exhausted=exhausted)


async def beat(db: Database, run_ids: Sequence[int]) -> None:
    """The heartbeat of the running runs a process drives: it is alive and they are its."""
    if not run_ids:
        return
    async with db.transaction() as session:
        await session.execute(update(AutomationRun).where(AutomationRun.id.in_(list(run_ids)),
                                                          AutomationRun.state == RUNNING)
                              .values(heartbeat_time=utcnow()))


async def sweep_stale(db: Database, *, stale_after: float) -> list[int]:
    """End as failed every running run whose heartbeat (its start, before the first beat) is more than
    `stale_after` seconds old: the process driving it is gone (killed, crashed, its machine lost), and
    nothing else would end it. Its tallies stay as it last saved them. Returns the ids swept."""
    now = utcnow()
    cutoff = now - timedelta(seconds=stale_after)
    async with db.transaction() as session:
        swept = await session.scalars(
            update(AutomationRun)
            .where(AutomationRun.state == RUNNING,
                   func.coalesce(AutomationRun.heartbeat_time, AutomationRun.start_time) < cutoff)
            .values(state=FAILED, end_time=now)
            .returning(AutomationRun.id)
        )
        return list(swept)


def summary_of(run: AutomationRun) -> StageSummary:
    """The summary of a run as it stands (what a retried request_id is answered with)."""
    return StageSummary(run_id=run.id, stage=run.stage, items_done=run.items_done, items_failed=run.items_failed,
                        items_skipped=run.items_skipped, credits_used=run.credits_used, state=run.state,
                        credits_exhausted=run.credits_exhausted, credits_required=run.credits_required,
                        credits_available=run.credits_available)


async def get_run(db: Database, tenant: TenantContext, *, run_id: int) -> AutomationRun:
    """One automation run the caller may see."""
    async with db.read() as session:
        return await get_scoped(session, AutomationRun, run_id, tenant)


async def list_runs(db: Database, tenant: TenantContext, *, query: ListQuery) -> Page:
    """A page of the caller's automation runs, newest first unless asked otherwise."""
    async with db.read() as session:
        return await list_page(session, LIST_SPEC, tenant, query)
