"""Tasks: what to write, for which cluster (and idea), in which shape; single and bulk changes.

An idea gives at most one task, and a task and its idea share one cluster. Linking a new idea to a
task moves the idea to queued; completing a task moves its idea to completed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from writer_service.db.database import Database
from writer_service.db.models import Cluster, ContentIdea, ContentTaxonomy, Sector, Task
from writer_service.domain.changes import (
    MAX_DESCRIPTION,
    MAX_KEYWORDS,
    MAX_TITLE,
    MAX_WORD_COUNT,
    check_etag,
    check_lengths,
    require_fields,
)
from writer_service.domain.errors import AlreadyExists, FailedPrecondition, InvalidArgument
from writer_service.domain.states import check_transition
from writer_service.domain.vocabulary import CONTENT_STRUCTURES, CONTENT_TYPES, TASK_STATUSES
from writer_service.services.idempotency import create_once
from writer_service.services.listing import FilterField, ListQuery, ListSpec, list_rows
from writer_service.services.write_rules import (
    COMMON_READ_ONLY,
    check_batch_ids,
    check_bounds,
    load_reference,
    masked_changes,
    nullable_ids,
    place_of,
    soft_delete,
    undelete,
)
from writer_service.tenancy.context import TenantContext
from writer_service.tenancy.scoping import (
    KeptSelect,
    Placement,
    ScopeShape,
    get_many_scoped,
    get_scoped,
    get_scoped_row,
    resolve_placement,
    scope_conditions,
    scoped,
)

MAX_BATCH = 100  # BatchDeleteTasks and BatchUpdateTaskStatus, as tasks.proto documents
UPDATABLE = ("title", "description", "cluster_id", "idea_id", "taxonomy_term_id", "content_type",
             "content_structure", "keywords", "word_count")
CREATE_FIELDS = (*UPDATABLE, "status")
REQUIRED = ("title", "cluster_id", "content_type", "content_structure")
READ_ONLY = (*COMMON_READ_ONLY, "cluster_name", "sector_name")
LIMITS = {"title": MAX_TITLE, "description": MAX_DESCRIPTION, "keywords": MAX_KEYWORDS}
BOUNDS = {"word_count": (0, MAX_WORD_COUNT)}

TASK_LIST = ListSpec(
    model=Task,
    filters={"status": FilterField(Task.status, "enum", TASK_STATUSES),
             "cluster_id": FilterField(Task.cluster_id, "id"),
             "idea_id": FilterField(Task.idea_id, "id"),
             "taxonomy_term_id": FilterField(Task.taxonomy_term_id, "id"),
             "content_type": FilterField(Task.content_type, "enum", CONTENT_TYPES),
             "content_structure": FilterField(Task.content_structure, "enum", CONTENT_STRUCTURES),
             "create_time": FilterField(Task.create_time, "time"),
             "update_time": FilterField(Task.update_time, "time")},
    order_fields={"create_time": Task.create_time, "update_time": Task.update_time, "title": Task.title,
                  "status": Task.status, "word_count": Task.word_count},
    search_columns=(Task.title, Task.keywords),
)


@dataclass(frozen=True)
class TaskView:
    """A task (the ORM object after a write, a dict of its columns after a read) with the names
    responses show beside it."""

    task: Task | dict[str, Any]
    cluster_name: str
    sector_name: str


def _view_select(scope: TenantContext | ScopeShape) -> Select[Any]:
    """A task's columns and the names of its cluster and sector, each shown when the caller may see
    that row (as `_views` shows them): a read is one statement, with no ORM object built."""
    cluster_seen = and_(Cluster.id == Task.cluster_id, *scope_conditions(Cluster, scope, show_deleted=True))
    sector_seen = and_(Sector.id == Task.sector_id, *scope_conditions(Sector, scope))
    return (select(*Task.__table__.columns, Cluster.name.label("cluster_name"), Sector.name.label("sector_name"))
            .outerjoin(Cluster, cluster_seen).outerjoin(Sector, sector_seen))


GET_TASK = KeptSelect(Task, _view_select, show_deleted=True, by_id=True)


def _row_view(row: dict[str, Any]) -> TaskView:
    return TaskView(row, row["cluster_name"] or "", row["sector_name"] or "")


async def _views(session: AsyncSession, tenant: TenantContext, tasks: Sequence[Task]) -> list[TaskView]:
    cluster_ids = {t.cluster_id for t in tasks}
    sector_ids = {t.sector_id for t in tasks}
    clusters: dict[int, str] = {}
    sectors: dict[int, str] = {}
    if tasks:
        stmt = select(Cluster.id, Cluster.name).where(Cluster.id.in_(cluster_ids))
        clusters = {i: name for i, name in await session.execute(scoped(stmt, Cluster, tenant, show_deleted=True))}
        stmt = select(Sector.id, Sector.name).where(Sector.id.in_(sector_ids))
        sectors = {i: name for i, name in await session.execute(scoped(stmt, Sector, tenant))}
    return [TaskView(t, clusters.get(t.cluster_id, ""), sectors.get(t.sector_id, "")) for t in tasks]


def _check_values(values: Mapping[str, Any]) -> None:
    check_lengths(values, LIMITS, prefix="task.")
    check_bounds(values, BOUNDS, prefix="task.")


async def _check_references(session: AsyncSession, tenant: TenantContext, task: Task | None,
                            changed: Mapping[str, Any], place: Placement) -> None:
    """Re-check what a write points at: the cluster, the idea (same cluster, no other task) and the term."""
    if changed.get("cluster_id"):
        await load_reference(session, tenant, Cluster, changed["cluster_id"], place=place, field="task.cluster_id")
    if changed.get("taxonomy_term_id"):
        await load_reference(session, tenant, ContentTaxonomy, changed["taxonomy_term_id"], place=place,
                             field="task.taxonomy_term_id")
    idea_id = changed.get("idea_id", task.idea_id if task else None)
    if not idea_id or not ({"idea_id", "cluster_id"} & changed.keys()):
        return
    cluster_id = changed.get("cluster_id") or (task.cluster_id if task else None)
    if "idea_id" in changed:
        # Locked: two tasks racing for one idea queue up here, and the second sees the first.
        idea = await load_reference(session, tenant, ContentIdea, idea_id, place=place, field="task.idea_id",
                                    for_update=True)
        holder = await session.scalar(scoped(select(Task.id).where(Task.idea_id == idea_id), Task, tenant,
                                             show_deleted=True))
        if holder is not None:
            raise _idea_taken(idea_id, holder)
        if idea.status == "new":
            idea.status = "queued"
    else:
        idea = await get_scoped(session, ContentIdea, idea_id, tenant, show_deleted=True)
    if idea.cluster_id != cluster_id:
        field = "task.idea_id" if "idea_id" in changed else "task.cluster_id"
        raise InvalidArgument.of(field, f"content idea {idea_id} belongs to cluster {idea.cluster_id}, "
                                        f"not to cluster {cluster_id}", reason="IDEA_CLUSTER_MISMATCH")


def _idea_taken(idea_id: int, task_id: int | None) -> AlreadyExists:
    held_by = f"task {task_id}" if task_id else "another task"
    return AlreadyExists(
        message=f"content idea {idea_id} already has a task ({held_by}, perhaps deleted): an idea gives one task",
        resource_type="Task", resource_name=str(task_id or ""), reason="IDEA_ALREADY_HAS_TASK",
        metadata={"idea_id": str(idea_id), "task_id": str(task_id or "")},
    )


async def _flush(session: AsyncSession, idea_id: int | None) -> None:
    # Two writes racing for one idea: the unique index decides, and the loser hears ALREADY_EXISTS.
    try:
        await session.flush()
    except IntegrityError as error:
        if idea_id and "idea_id" in str(error.orig):
            raise _idea_taken(idea_id, None) from None
        raise


async def create_task(db: Database, tenant: TenantContext, *, values: dict[str, Any], site_id: int = 0,
                      sector_id: int = 0, request_id: str = "") -> TaskView:
    """A new task (status queued unless given) in the request's or the headers' site and sector."""
    require_fields(values, REQUIRED, prefix="task.")
    _check_values(values)
    values = nullable_ids({k: v for k, v in values.items() if k in CREATE_FIELDS}, ["idea_id", "taxonomy_term_id"])
    views: list[TaskView] = []

    async def create(session: AsyncSession) -> Task:
        place = await resolve_placement(session, tenant, site_id=site_id, sector_id=sector_id,
                                        fall_back_to_active_site=True)
        await _check_references(session, tenant, None, values, place)
        task = Task(account_id=place.account_id, site_id=place.site_id, sector_id=place.sector_id, **values)
        session.add(task)
        await _flush(session, task.idea_id)
        if task.status == "completed":
            await _complete_ideas(session, tenant, [task])
        views.extend(await _views(session, tenant, [task]))
        return task

    async def load(session: AsyncSession, task_id: int) -> Task:
        task = await get_scoped(session, Task, task_id, tenant, show_deleted=True)
        views.extend(await _views(session, tenant, [task]))
        return task

    await create_once(db, tenant, method="CreateTask", request_id=request_id, create=create, load=load)
    return views[-1]


async def get_task(db: Database, tenant: TenantContext, *, task_id: int) -> TaskView:
    """One task, soft-deleted ones too."""
    return _row_view(await get_scoped_row(db, GET_TASK, task_id, tenant))


async def update_task(db: Database, tenant: TenantContext, *, task_id: int, etag: str, paths: Iterable[str],
                      values: Mapping[str, Any]) -> TaskView:
    """The masked fields of a live task changed, references re-checked, if the etag is current."""
    changes = masked_changes(values, paths, updatable=UPDATABLE, read_only=READ_ONLY, required=REQUIRED,
                             prefix="task.")
    _check_values(changes)
    changes = nullable_ids(changes, ["idea_id", "taxonomy_term_id"])
    async with db.transaction() as session:
        task = await get_scoped(session, Task, task_id, tenant, for_update=True)
        check_etag(etag, task.version, resource="Task", resource_id=task.id)
        changed = {k: v for k, v in changes.items() if getattr(task, k) != v}
        await _check_references(session, tenant, task, changed, place_of(task))
        for name, value in changed.items():
            setattr(task, name, value)
        await _flush(session, task.idea_id)
        return (await _views(session, tenant, [task]))[0]


async def delete_task(db: Database, tenant: TenantContext, *, task_id: int, etag: str) -> TaskView:
    """Soft-delete a live task."""
    async with db.transaction() as session:
        task = await get_scoped(session, Task, task_id, tenant, for_update=True)
        soft_delete(task, etag)
        await session.flush()
        return (await _views(session, tenant, [task]))[0]


async def undelete_task(db: Database, tenant: TenantContext, *, task_id: int, etag: str) -> TaskView:
    """Restore a soft-deleted task."""
    async with db.transaction() as session:
        task = await get_scoped(session, Task, task_id, tenant, show_deleted=True, for_update=True)
        undelete(task, etag)
        await session.flush()
        return (await _views(session, tenant, [task]))[0]


async def list_tasks(db: Database, tenant: TenantContext, *, query: ListQuery) -> tuple[list[TaskView], str]:
    """One page of tasks, newest first unless asked otherwise, and the next page's token."""
    page = await list_rows(db, TASK_LIST, tenant, query, build=_view_select)
    return [_row_view(row) for row in page.items], page.next_page_token


async def batch_delete_tasks(db: Database, tenant: TenantContext, *, ids: Sequence[int]) -> list[TaskView]:
    """Soft-delete every task of `ids`, or none: one unknown, foreign or deleted id fails the call."""
    check_batch_ids(ids, limit=MAX_BATCH)
    async with db.transaction() as session:
        tasks = await get_many_scoped(session, Task, ids, tenant, for_update=True)
        for task in tasks:
            soft_delete(task, "")
        await session.flush()
        return await _views(session, tenant, tasks)


async def batch_update_task_status(db: Database, tenant: TenantContext, *, ids: Sequence[int],
                                   status: str | None) -> list[TaskView]:
    """Move every task of `ids` to `status`, or none: one disallowed move fails the call."""
    if not status:
        raise InvalidArgument.of("status", "is required")
    check_batch_ids(ids, limit=MAX_BATCH)
    async with db.transaction() as session:
        tasks = await get_many_scoped(session, Task, ids, tenant, for_update=True)
        refused: list[FailedPrecondition] = []
        for task in tasks:
            try:
                check_transition("Task", task.id, task.status, status)
            except FailedPrecondition as error:
                refused.append(error)
        if refused:
            raise _refusals(refused, status)
        moving = [task for task in tasks if task.status != status]
        for task in moving:
            task.status = status
        if status == "completed":
            await _complete_ideas(session, tenant, moving)
        await session.flush()
        return await _views(session, tenant, tasks)


def _refusals(refused: list[FailedPrecondition], status: str) -> FailedPrecondition:
    ids = [error.metadata["id"] for error in refused]
    return FailedPrecondition(
        message=f"{len(refused)} task(s) cannot move to {status}: " + "; ".join(e.message for e in refused),
        reason="INVALID_STATE_TRANSITION",
        violations=[v for error in refused for v in error.violations],
        metadata={"resource_type": "Task", "ids": ",".join(ids), "to": status},
    )


async def _complete_ideas(session: AsyncSession, tenant: TenantContext, tasks: Sequence[Task]) -> None:
    # An idea is completed once the task made from it is.
    idea_ids = [task.idea_id for task in tasks if task.idea_id]
    if not idea_ids:
        return
    stmt = select(ContentIdea).where(ContentIdea.id.in_(idea_ids), ContentIdea.status != "completed")
    stmt = scoped(stmt, ContentIdea, tenant, show_deleted=True).with_for_update()
    for idea in (await session.execute(stmt)).scalars():
        idea.status = "completed"
