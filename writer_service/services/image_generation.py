"""Asking for image prompts (stage 5) and images (stage 6): jobs of one item per content or image.

The flow is generation.start_job's: check and lock the rows, reserve credits, commit the job,
dispatch its items; the runners are in services/image_runs.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from writer_service.db.models import Content, Image, Job, JobItem
from writer_service.domain.errors import InvalidArgument
from writer_service.services import jobs
from writer_service.services.generation import Generation, check_ids, one_place, refuse, start_job
from writer_service.tenancy.context import TenantContext
from writer_service.tenancy.scoping import get_many_scoped, scoped

MAX_CONTENTS_PER_CALL = 10
MAX_IMAGES_PER_CALL = 50
DEFAULT_IN_ARTICLE_IMAGES = 3
MAX_IN_ARTICLE_IMAGES = 10
RENDERABLE = ("pending", "failed")

Retried = Callable[[int], Awaitable[Job | None]]


def in_article_count(requested: int) -> int:
    """In-article images per content: 0 means the default; 0..10."""
    if requested < 0 or requested > MAX_IN_ARTICLE_IMAGES:
        raise InvalidArgument.of("max_in_article_images", f"must be between 0 and {MAX_IN_ARTICLE_IMAGES}")
    return requested or DEFAULT_IN_ARTICLE_IMAGES


async def generate_image_prompts(
    gen: Generation,
    tenant: TenantContext,
    *,
    content_ids: Sequence[int],
    max_in_article: int = 0,
    request_id: str = "",
    wait: bool = False,
    automation_run_id: int | None = None,
) -> Job:
    """A job writing a featured and in-article image prompts for each of 1-10 contents."""
    ids = check_ids(content_ids, field="content_ids", maximum=MAX_CONTENTS_PER_CALL)
    count = in_article_count(max_in_article)

    async def build(session: AsyncSession, key: str | None, retried: Retried) -> Job:
        contents = await get_many_scoped(session, Content, ids, tenant, for_update=True)
        await retried(contents[0].account_id)
        placement = one_place(contents, "content_ids", "contents")
        busy = await jobs.open_items_for(session, JobItem.content_id, ids)
        if busy:
            raise refuse(busy, "CONTENT_IN_RUNNING_JOB", "already in a job that has not ended", resource="content")
        return await jobs.create_job(
            session, placement=placement, kind="image_prompts", user_id=tenant.user_id, request_id=key, wait=wait,
            description="image prompts", automation_run_id=automation_run_id, params={"max_in_article": count},
            items=[jobs.NewItem(credits_reserved=gen.prices.image_prompt_credits, content_id=c.id)
                   for c in contents],
        )

    return await start_job(gen, tenant, request_id=request_id, wait=wait, build=build)


async def _images_of_contents(session: AsyncSession, tenant: TenantContext, ids: list[int]) -> list[Image]:
    await get_many_scoped(session, Content, ids, tenant)  # NOT_FOUND naming what the caller cannot see
    stmt = scoped(select(Image), Image, tenant).where(
        Image.content_id.in_(ids), Image.status.in_(RENDERABLE), Image.prompt != ""
    ).order_by(Image.content_id, Image.position, Image.id).with_for_update()
    return list((await session.scalars(stmt)).all())


async def generate_images(
    gen: Generation,
    tenant: TenantContext,
    *,
    image_ids: Sequence[int] = (),
    content_ids: Sequence[int] = (),
    request_id: str = "",
    wait: bool = False,
    automation_run_id: int | None = None,
) -> Job:
    """A job rendering 1-50 images, or the pending and failed images of 1-10 contents."""
    if bool(image_ids) == bool(content_ids):
        raise InvalidArgument.of("image_ids", "set exactly one of image_ids and content_ids")
    by_content = bool(content_ids)
    ids = (check_ids(content_ids, field="content_ids", maximum=MAX_CONTENTS_PER_CALL) if by_content
           else check_ids(image_ids, field="image_ids", maximum=MAX_IMAGES_PER_CALL))

    async def build(session: AsyncSession, key: str | None, retried: Retried) -> Job:
        if by_content:
            images = await _images_of_contents(session, tenant, ids)
            if not images:
                raise refuse(ids, "NO_IMAGES_TO_RENDER", "has no pending or failed image with a prompt",
                             resource="content")
        else:
            images = await get_many_scoped(session, Image, ids, tenant, for_update=True)
            done = [i.id for i in images if i.status not in RENDERABLE]
            if done:
                raise refuse(done, "IMAGES_ALREADY_GENERATED", "already generated", resource="image")
            no_prompt = [i.id for i in images if not i.prompt.strip()]
            if no_prompt:
                raise refuse(no_prompt, "IMAGES_WITHOUT_PROMPT", "has no prompt", resource="image")
        await retried(images[0].account_id)
        placement = one_place(images, "content_ids" if by_content else "image_ids", "images")
        image_ids_ = [i.id for i in images]
        busy = await jobs.open_items_for(session, JobItem.image_id, image_ids_)
        if busy:
            raise refuse(busy, "IMAGES_IN_RUNNING_JOB", "already in a job that has not ended", resource="image")
        return await jobs.create_job(
            session, placement=placement, kind="image_generation", user_id=tenant.user_id, request_id=key,
            wait=wait, description="image generation", automation_run_id=automation_run_id,
            items=[jobs.NewItem(credits_reserved=gen.prices.image_credits, image_id=i) for i in image_ids_],
        )

    return await start_job(gen, tenant, request_id=request_id, wait=wait, build=build)
