"""Stage 3: new content ideas become queued tasks, in bulk.

The rules are those of making a task from an idea (services/tasks.py): the task takes the idea's
site, sector, cluster (which must be live), title, description, keywords, type, structure, taxonomy
term and word count, starts queued, and the idea moves from new to queued. An idea gives at most
one task: the unique tasks.idea_id decides between runs racing for the same ideas (INSERT ... ON
CONFLICT DO NOTHING), and the ideas that lost are skipped. Each batch is one transaction: one
SELECT that locks its ideas, one INSERT of its tasks, one UPDATE of its ideas and of the run.
"""

from __future__ import annotations

from typing import Any, TypeVar, cast

from sqlalchemy import Insert, Select, Table, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from writer_service.db.base import utcnow
from writer_service.db.models import Cluster, ContentIdea, Task
from writer_service.domain.changes import MAX_WORD_COUNT
from writer_service.services.automation import runs
from writer_service.services.automation.events import IDEA, TASK, TASK_CREATION, StageSummary
from writer_service.services.automation.progress import DONE, FAILED_ITEM, SKIPPED, Outcome, RunContext, StageRun
from writer_service.tenancy.context import TenantContext
from writer_service.tenancy.scoping import scoped

BATCH_SIZE = 200  # tasks per INSERT: 16 columns a row stays far below every backend's parameter limit
IDEAS = cast(Table, ContentIdea.__table__)
TASKS = cast(Table, Task.__table__)
S = TypeVar("S", bound=Select[*tuple[Any, ...]])


def _usable(stmt: S, tenant: TenantContext) -> S:
    """Live new ideas of live clusters in the run's site and sector, without a task (deleted ones count)."""
    has_task = scoped(select(Task.id).where(Task.idea_id == ContentIdea.id), Task, tenant, show_deleted=True)
    live_cluster = scoped(select(Cluster.id).where(Cluster.id == ContentIdea.cluster_id), Cluster, tenant)
    return scoped(stmt, ContentIdea, tenant).where(
        ContentIdea.status == "new", ~has_task.exists(), live_cluster.exists())


async def eligible_ideas(ctx: RunContext) -> list[tuple[int, str]]:
    """(id, title) of the ideas the stage takes on, oldest first, at most max_items."""
    stmt = _usable(select(ContentIdea.id, ContentIdea.title), ctx.tenant)
    if ctx.limits.cluster_id:
        stmt = stmt.where(ContentIdea.cluster_id == ctx.limits.cluster_id)
    stmt = stmt.order_by(ContentIdea.create_time, ContentIdea.id).limit(ctx.limits.max_items)
    async with ctx.gen.db.read() as session:
        return [(row.id, row.title) for row in await session.execute(stmt)]


def task_values(idea: Any, now: Any) -> dict[str, Any]:
    """The columns of the queued task made from an idea row."""
    return {
        "account_id": idea.account_id, "site_id": idea.site_id, "sector_id": idea.sector_id,
        "title": idea.title, "description": idea.description, "cluster_id": idea.cluster_id, "idea_id": idea.id,
        "taxonomy_term_id": idea.taxonomy_term_id, "content_type": idea.content_type,
        "content_structure": idea.content_structure, "keywords": idea.target_keywords,
        "word_count": idea.estimated_word_count, "status": "queued", "version": 1,
        "create_time": now, "update_time": now, "delete_time": None,
    }


def _insert_tasks(dialect: str, rows: list[dict[str, Any]]) -> Insert:
    """One INSERT of every row that skips (and does not return) a row whose idea already has a task."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (insert(TASKS).values(rows).on_conflict_do_nothing(index_elements=[TASKS.c.idea_id])
            .returning(TASKS.c.id, TASKS.c.idea_id))


async def _create_tasks(session: AsyncSession, ctx: RunContext, batch: list[tuple[int, str]]) -> list[Outcome]:
    ids = [idea_id for idea_id, _ in batch]
    locked = _usable(select(IDEAS), ctx.tenant).where(ContentIdea.id.in_(ids)).with_for_update()
    ideas = {row.id: row for row in await session.execute(locked)}
    too_long = {i for i, idea in ideas.items() if idea.estimated_word_count > MAX_WORD_COUNT}
    now = utcnow()
    rows = [task_values(idea, now) for i, idea in ideas.items() if i not in too_long]
    made: dict[int, int] = {}
    if rows:
        result = await session.execute(_insert_tasks(ctx.gen.db.dialect, rows))
        made = {idea_id: task_id for task_id, idea_id in result.all()}
        await session.execute(update(IDEAS).where(IDEAS.c.id.in_(list(made)))
                              .values(status="queued", version=IDEAS.c.version + 1, update_time=now))
    return [_outcome(idea_id, title, ideas, too_long, made) for idea_id, title in batch]


def _outcome(idea_id: int, title: str, ideas: dict[int, Any], too_long: set[int], made: dict[int, int]) -> Outcome:
    if idea_id in made:
        return Outcome(idea_id, title, DONE, result_kind=TASK, result_id=made[idea_id])
    if idea_id in too_long:
        return Outcome(idea_id, title, FAILED_ITEM, reason=(
            f"WORD_COUNT_TOO_LARGE: estimated_word_count {ideas[idea_id].estimated_word_count} is above the "
            f"{MAX_WORD_COUNT} words a task may ask for"))
    if idea_id in ideas:
        return Outcome(idea_id, title, SKIPPED, reason="IDEA_ALREADY_HAS_TASK: a task was made from it meanwhile")
    return Outcome(idea_id, title, SKIPPED,
                   reason="IDEA_CHANGED: deleted, no longer new or its cluster deleted since the stage started")


async def run_stage(ctx: RunContext) -> StageSummary:
    """Turn the eligible ideas into queued tasks, a batch per transaction, until done or stopped."""
    ideas = await eligible_ideas(ctx)
    stage = StageRun(ctx, TASK_CREATION, IDEA, len(ideas))
    for start in range(0, len(ideas), BATCH_SIZE):
        if stage.stopping:
            stage.left_over = True
            break
        async with ctx.gen.db.transaction() as session:
            outcomes = await _create_tasks(session, ctx, ideas[start:start + BATCH_SIZE])
            for outcome in outcomes:
                stage.count(outcome)
            await runs.save_tally(session, ctx.tenant, run_id=ctx.run_id, tally=ctx.tally)
        for outcome in outcomes:
            stage.report(outcome)
    return await stage.summary()
