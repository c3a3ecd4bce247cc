"""Stage 3: new content ideas become queued tasks, in bulk.

The rules are those of making a task from an idea (services/tasks.py): the task takes the idea's
site, sector, cluster (which must be live), title, description, keywords, type, structure, taxonomy
term and word count, starts queued, and the idea moves from new to queued. An idea gives at most
one task: a batch first claims its ideas (new -> queued, locked until it commits), so a run racing
for the same ideas finds them no longer new and skips them, and the unique tasks.idea_id (INSERT ...
ON CONFLICT DO NOTHING) stands behind that. Each batch is one transaction of three statements,
whatever its size: an UPDATE that claims its ideas, one INSERT ... SELECT of their tasks (the
database copies the columns), and an UPDATE of the run's tallies.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Insert,
    Select,
    Table,
    Update,
    any_,
    bindparam,
    literal,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from writer_service.db.base import UtcDateTime, utcnow
from writer_service.db.models import Cluster, ContentIdea, Task
from writer_service.domain.changes import MAX_WORD_COUNT
from writer_service.services.automation import runs
from writer_service.services.automation.events import IDEA, TASK, TASK_CREATION, StageSummary
from writer_service.services.automation.progress import DONE, FAILED_ITEM, SKIPPED, Outcome, RunContext, StageRun
from writer_service.tenancy.context import TenantContext
from writer_service.tenancy.scoping import scoped

BATCH_SIZE = 500  # ideas per transaction: one UPDATE and one INSERT ... SELECT each
IDEAS = cast(Table, ContentIdea.__table__)
TASKS = cast(Table, Task.__table__)
S = TypeVar("S", bound=Select[*tuple[Any, ...]])


@dataclass(frozen=True)
class Candidate:
    """An idea the stage takes on, as it was when the stage started."""

    id: int
    title: str
    estimated_word_count: int


def _usable(stmt: S, tenant: TenantContext) -> S:
    """Live new ideas of live clusters in the run's site and sector."""
    live_cluster = scoped(select(Cluster.id).where(Cluster.id == ContentIdea.cluster_id), Cluster, tenant)
    return scoped(stmt, ContentIdea, tenant).where(ContentIdea.status == "new", live_cluster.exists())


async def eligible_ideas(ctx: RunContext) -> list[Candidate]:
    """The ideas the stage takes on, oldest first, at most max_items."""
    stmt = _usable(select(ContentIdea.id, ContentIdea.title, ContentIdea.estimated_word_count), ctx.tenant)
    if ctx.limits.cluster_id:
        stmt = stmt.where(ContentIdea.cluster_id == ctx.limits.cluster_id)
    stmt = stmt.order_by(ContentIdea.create_time, ContentIdea.id).limit(ctx.limits.max_items)
    async with ctx.gen.db.read() as session:
        return [Candidate(*row) for row in await session.execute(stmt)]


def _task_columns(now: datetime) -> dict[str, Any]:
    """Each column of the queued task made from an idea: the idea's column, or a value."""
    stamp = literal(now, UtcDateTime())
    return {
        "account_id": IDEAS.c.account_id, "site_id": IDEAS.c.site_id, "sector_id": IDEAS.c.sector_id,
        "title": IDEAS.c.title, "description": IDEAS.c.description, "cluster_id": IDEAS.c.cluster_id,
        "idea_id": IDEAS.c.id, "taxonomy_term_id": IDEAS.c.taxonomy_term_id, "content_type": IDEAS.c.content_type,
        "content_structure": IDEAS.c.content_structure, "keywords": IDEAS.c.target_keywords,
        "word_count": IDEAS.c.estimated_word_count, "status": literal("queued"), "version": literal(1),
        "create_time": stamp, "update_time": stamp,
    }


def _one_of(column: Any, ids: list[int], dialect: str) -> ColumnElement[bool]:
    """`column` is one of `ids`. On PostgreSQL one array parameter (= ANY): a batch's hundreds of
    ids as hundreds of placeholders make a new statement text each time, which psycopg parses anew
    at a cost that showed as most of a batch's time."""
    if dialect == "postgresql":
        return column == any_(bindparam(None, ids, type_=postgresql.ARRAY(BigInteger), unique=True))
    return column.in_(ids)


def _claim(dialect: str, tenant: TenantContext, ids: list[int], now: datetime) -> Update:
    """new -> queued for the ideas of `ids` that are still usable, returning their ids. The status is
    in the UPDATE's own WHERE: a run that waited for another's row locks sees its change."""
    usable = _usable(select(ContentIdea.id), tenant).where(_one_of(ContentIdea.id, ids, dialect))
    return (update(IDEAS).where(IDEAS.c.id.in_(usable.scalar_subquery()), IDEAS.c.status == "new")
            .values(status="queued", version=IDEAS.c.version + 1, update_time=now).returning(IDEAS.c.id))


def _insert_tasks(dialect: str, idea_ids: list[int], now: datetime) -> Insert:
    """One INSERT ... SELECT of the ideas' tasks; a row whose idea already has a task is skipped (and
    not returned). The database copies the columns: no row travels to this process and back."""
    columns = _task_columns(now)
    # `idea_ids` came out of the scoped claim in this very transaction, so the ids alone name the
    # rows; the scope is not repeated, since on PostgreSQL it invites the tenant index and a scan
    # of every idea of the sector where the primary key finds the batch.
    ideas = select(*columns.values()).where(_one_of(IDEAS.c.id, idea_ids, dialect))
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (insert(TASKS).from_select(list(columns), ideas)
            .on_conflict_do_nothing(index_elements=[TASKS.c.idea_id]).returning(TASKS.c.id, TASKS.c.idea_id))


async def _create_tasks(session: AsyncSession, ctx: RunContext, batch: list[Candidate]) -> list[Outcome]:
    """Claim the batch's ideas and write their tasks: one UPDATE, one INSERT."""
    too_long = {c.id for c in batch if c.estimated_word_count > MAX_WORD_COUNT}
    now = utcnow()
    dialect = ctx.gen.db.dialect
    claimed = list(await session.scalars(_claim(dialect, ctx.tenant, [c.id for c in batch if c.id not in too_long],
                                                now)))
    made: dict[int, int] = {}
    if claimed:
        result = await session.execute(_insert_tasks(dialect, claimed, now))
        made = {idea_id: task_id for task_id, idea_id in result}
    return [_outcome(c, too_long, set(claimed), made) for c in batch]


def _outcome(idea: Candidate, too_long: set[int], claimed: set[int], made: dict[int, int]) -> Outcome:
    if idea.id in made:
        return Outcome(idea.id, idea.title, DONE, result_kind=TASK, result_id=made[idea.id])
    if idea.id in too_long:
        return Outcome(idea.id, idea.title, FAILED_ITEM, reason=(
            f"WORD_COUNT_TOO_LARGE: estimated_word_count {idea.estimated_word_count} is above the "
            f"{MAX_WORD_COUNT} words a task may ask for"))
    if idea.id in claimed:  # new, yet a task had been made from it: now queued, as it should be
        return Outcome(idea.id, idea.title, SKIPPED, reason="IDEA_ALREADY_HAS_TASK: a task was made from it before")
    return Outcome(idea.id, idea.title, SKIPPED,
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
        # The batch's ideas ended together, in one transaction: one progress after them, not one each.
        for outcome in outcomes:
            stage.report(outcome, progress=False)
        stage.progress()
    return await stage.summary()
