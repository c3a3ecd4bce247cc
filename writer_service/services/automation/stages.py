"""Which items stages 4, 5 and 6 take, how each asks for its job, and what an item produces.

Items already in a job that has not ended are someone else's work and are not taken.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import InstrumentedAttribute

from writer_service.db.models import Content, Image, Job, JobItem, Task
from writer_service.services import image_generation
from writer_service.services.automation.events import (
    CONTENT,
    CONTENT_GENERATION,
    IMAGE,
    IMAGE_GENERATION,
    IMAGE_PROMPTS,
    TASK,
)
from writer_service.services.automation.job_stages import Candidate, JobStage
from writer_service.services.automation.progress import RunContext
from writer_service.services.generation import MAX_TASKS_PER_CALL, auto_generate_content
from writer_service.services.jobs import OPEN_STATES
from writer_service.tenancy.scoping import scoped


def _in_open_job(ctx: RunContext, column: InstrumentedAttribute[Any], row_id: Any) -> Any:
    busy = select(JobItem.id).join(Job, Job.id == JobItem.job_id).where(
        column == row_id, JobItem.state.in_(OPEN_STATES), Job.state.in_(OPEN_STATES))
    return scoped(busy, Job, ctx.tenant).exists()


async def _rows(ctx: RunContext, stmt: Select[*tuple[Any, ...]], *order: Any) -> list[Any]:
    async with ctx.gen.db.read() as session:
        return list(await session.execute(stmt.order_by(*order).limit(ctx.limits.max_items)))


# Stage 4: queued tasks -> content.

async def _queued_tasks(ctx: RunContext) -> list[Candidate]:
    stmt = scoped(select(Task.id, Task.title, Task.word_count), Task, ctx.tenant).where(
        Task.status == "queued", ~_in_open_job(ctx, JobItem.task_id, Task.id))
    if ctx.limits.cluster_id:
        stmt = stmt.where(Task.cluster_id == ctx.limits.cluster_id)
    prices = ctx.gen.prices
    return [Candidate(r.id, r.title, prices.content_estimate(r.word_count))
            for r in await _rows(ctx, stmt, Task.create_time, Task.id)]


async def _write_content(ctx: RunContext, ids: list[int]) -> Job:
    return await auto_generate_content(ctx.gen, ctx.tenant, task_ids=ids, automation_run_id=ctx.run_id)


async def _content_written(ctx: RunContext, candidate: Candidate, item: dict[str, Any],
                           seen: set[int]) -> tuple[str | None, int]:
    return CONTENT, int(item.get("result_content_id") or 0)


# Stage 5: draft content without image prompts -> image prompts.

def _has_prompts(ctx: RunContext) -> Any:
    prompted = select(Image.id).where(Image.content_id == Content.id, Image.prompt != "")
    return scoped(prompted, Image, ctx.tenant).exists()


async def _unprompted_content(ctx: RunContext) -> list[Candidate]:
    stmt = scoped(select(Content.id, Content.title), Content, ctx.tenant).where(
        Content.status == "draft", ~_has_prompts(ctx), ~_in_open_job(ctx, JobItem.content_id, Content.id))
    if ctx.limits.cluster_id:
        stmt = stmt.where(Content.cluster_id == ctx.limits.cluster_id)
    cost = ctx.gen.prices.image_prompt_credits
    return [Candidate(r.id, r.title, cost) for r in await _rows(ctx, stmt, Content.create_time, Content.id)]


async def _write_prompts(ctx: RunContext, ids: list[int]) -> Job:
    return await image_generation.generate_image_prompts(ctx.gen, ctx.tenant, content_ids=ids,
                                                         automation_run_id=ctx.run_id)


async def _nothing_to_name(ctx: RunContext, candidate: Candidate, item: dict[str, Any],
                           seen: set[int]) -> tuple[str | None, int]:
    return None, 0


# Stage 6: pending images (of live content) -> images; content -> review.

def _image_title(row: Any) -> str:
    which = "featured image" if row.image_type == "featured" else f"in-article image {row.position}"
    return f"{row.content_title}: {which}"


async def _pending_images(ctx: RunContext) -> list[Candidate]:
    columns = (Image.id, Image.image_type, Image.position, Image.content_id, Content.title.label("content_title"),
               Content.status.label("content_status"))
    stmt = scoped(select(*columns).join(Content, Content.id == Image.content_id), Image, ctx.tenant).where(
        Image.status == "pending", Image.prompt != "", Content.delete_time.is_(None),
        ~_in_open_job(ctx, JobItem.image_id, Image.id))
    if ctx.limits.cluster_id:
        stmt = stmt.where(Content.cluster_id == ctx.limits.cluster_id)
    cost = ctx.gen.prices.image_credits
    return [Candidate(r.id, _image_title(r), cost, content_id=r.content_id, draft=r.content_status == "draft")
            for r in await _rows(ctx, stmt, Image.create_time, Image.id)]


async def _render_images(ctx: RunContext, ids: list[int]) -> Job:
    return await image_generation.generate_images(ctx.gen, ctx.tenant, image_ids=ids, automation_run_id=ctx.run_id)


async def _content_reviewed(ctx: RunContext, candidate: Candidate, item: dict[str, Any],
                            seen: set[int]) -> tuple[str | None, int]:
    """The content, when this image's success moved it from draft to review (named once)."""
    if not candidate.draft or candidate.content_id in seen:
        return None, 0
    stmt = scoped(select(Content.status).where(Content.id == candidate.content_id), Content, ctx.tenant)
    async with ctx.gen.db.read() as session:
        status = await session.scalar(stmt)
    if status != "review":
        return None, 0
    seen.add(candidate.content_id)
    return CONTENT, candidate.content_id


CONTENT_STAGE = JobStage(stage=CONTENT_GENERATION, item_kind=TASK, item_field="task_id",
                         batch_size=MAX_TASKS_PER_CALL, eligible=_queued_tasks, submit=_write_content,
                         produced=_content_written)
PROMPT_STAGE = JobStage(stage=IMAGE_PROMPTS, item_kind=CONTENT, item_field="content_id",
                        batch_size=image_generation.MAX_CONTENTS_PER_CALL, eligible=_unprompted_content,
                        submit=_write_prompts, produced=_nothing_to_name)
IMAGE_STAGE = JobStage(stage=IMAGE_GENERATION, item_kind=IMAGE, item_field="image_id",
                       batch_size=image_generation.MAX_IMAGES_PER_CALL, eligible=_pending_images,
                       submit=_render_images, produced=_content_reviewed)
