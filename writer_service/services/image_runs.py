"""Running the items of image jobs: prompts for one content (stage 5), the file of one image (stage 6).

The claim / model call / retry / bill steps are services/ai_runs.py's. A prompts item writes the
content's image rows, the AI log and the settlement in one transaction. An image item renders and
stores the file outside any transaction, then records it, the AI log and the settlement in one
transaction that must still own the attempt; a run that loses that race removes its own file, so a
redelivered or duplicated run leaves one file referenced and one charge.

Skipping: an item whose work is already done (content that already has image prompts, an image
generated meanwhile, e.g. by an upload) succeeds with nothing charged, its whole reservation
released by the settlement, and changes no row; a run of stage 5 or 6 over the same content again
therefore writes nothing and charges nothing, and its job still ends succeeded.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import cast

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from writer_service.ai.base import (
    ImageFormat,
    ImagePromptBrief,
    ImagePromptDraft,
    ImagePrompts,
    ImageProvider,
    ImageRequest,
    RenderedImage,
)
from writer_service.ai.errors import BadProviderResponse
from writer_service.db.models import Content, Image
from writer_service.domain.changes import MAX_CAPTION, MAX_PROMPT
from writer_service.domain.html_text import analyze_html
from writer_service.domain.states import check_transition
from writer_service.services import ai_runs, jobs
from writer_service.services.ai_runs import ENDED, FAILED, SUCCEEDED, Claim, Writer
from writer_service.services.content_workflow import locked_live_content, review_when_illustrated
from writer_service.services.image_generation import DEFAULT_IN_ARTICLE_IMAGES
from writer_service.services.images import MAX_ALT_TEXT
from writer_service.services.images_files import image_file_key, image_file_url, remove_file_quietly
from writer_service.storage import ImageFacts, NotAnImage, inspect_image

log = logging.getLogger("writer_service.generation")
PROMPTS, RENDER = "image_prompts", "image_generation"


async def _skip(writer: Writer, claimed: Claim, why: str) -> str:
    """Succeed without an AI call: nothing charged, the reservation released."""
    async with writer.db.transaction() as session:
        item = await jobs.own_item(session, item_id=claimed.item.id, attempt=claimed.attempt)
        if item is None:
            return ENDED
        await jobs.item_succeeded(session, item=item, charged=0)
    log.info("job item %s skipped: %s", claimed.item.id, why)
    return SUCCEEDED


# Image prompts (stage 5).

async def _has_prompts(session: AsyncSession, content_id: int) -> bool:
    """Whether a live image of the content has a prompt: such content is skipped, not prompted twice."""
    return bool(await session.scalar(select(exists().where(
        Image.content_id == content_id, Image.delete_time.is_(None), Image.prompt != ""))))


async def _prompt_brief(writer: Writer, content_id: int, count: int) -> tuple[ImagePromptBrief, bool] | None:
    """The brief of the content's prompts and whether it already has some; None when it is gone."""
    async with writer.db.read() as session:
        content = await session.get(Content, content_id)
        if content is None or content.delete_time is not None:
            return None
        has_prompts = await _has_prompts(session, content_id)
    headings = [text for level, text in analyze_html(content.content_html).headings if level == 2 and text]
    keyword = content.primary_keyword or content.title
    keywords = [keyword, *(k for k in content.secondary_keywords if k and k != keyword)]
    brief = ImagePromptBrief(content_title=content.title, primary_keyword=keyword, keywords=keywords,
                             headings=headings, max_in_article=count)
    return brief, has_prompts


async def run_prompts_item(writer: Writer, *, item_id: int) -> str:
    """Run one item of an image prompts job; SUCCEEDED, FAILED, RETRY (try later) or ENDED."""
    claimed = await ai_runs.claim(writer, item_id)
    if claimed is None or claimed.item.content_id is None:
        return ENDED
    content_id = claimed.item.content_id
    asked = claimed.job.params.get("max_in_article")
    count = asked if isinstance(asked, int) else DEFAULT_IN_ARTICLE_IMAGES
    found = await _prompt_brief(writer, content_id, count)
    if found is None:
        return await ai_runs.fail(writer, claimed, f"CONTENT_GONE: content {content_id} no longer exists")
    brief, has_prompts = found
    if has_prompts:
        return await _skip(writer, claimed, f"content {content_id} already has image prompts")
    answer = await ai_runs.call_model(writer, claimed, operation=PROMPTS, provider=writer.text,
                                      call=lambda: writer.text.write_image_prompts(brief))
    if isinstance(answer, str):
        return answer
    return await _write_prompts(writer, claimed, answer, count)


async def _write_prompts(writer: Writer, claimed: Claim, prompts: ImagePrompts, count: int) -> str:
    async with writer.db.transaction() as session:
        item = await jobs.own_item(session, item_id=claimed.item.id, attempt=claimed.attempt)
        if item is None:
            return ENDED  # another run of the same item finished it
        content = await locked_live_content(session, item.content_id)
        if content is None:
            await jobs.item_failed(session, item=item, reason="CONTENT_CHANGED: the content was deleted")
            return FAILED
        charged = 0
        if not await _has_prompts(session, content.id):  # else written meanwhile: kept, nothing charged
            await _place_prompts(session, content, [prompts.featured, *prompts.in_article[:count]])
            charged = min(writer.prices.image_prompt_credits, item.credits_reserved)
        await ai_runs.succeed(session, claimed, item, operation=PROMPTS, usage=prompts.usage, charged=charged)
    return SUCCEEDED


async def _place_prompts(session: AsyncSession, content: Content, drafts: list[ImagePromptDraft]) -> None:
    """One image per draft: the featured one first, in-article ones at positions 1.. in heading order.
    An image already in that place and not generated gets the prompt (pending again); a generated one
    is left as it is; otherwise a pending image is created under the content."""
    existing = (await session.scalars(
        select(Image).where(Image.content_id == content.id, Image.delete_time.is_(None))
        .order_by(Image.position, Image.id).with_for_update())).all()
    places: dict[tuple[str, int], Image] = {}
    for row in existing:
        places.setdefault((row.image_type, 0 if row.image_type == "featured" else row.position), row)
    for position, draft in enumerate(drafts):
        image_type = "featured" if position == 0 else "in_article"
        image = places.get((image_type, position))
        if image is None:
            image = Image(account_id=content.account_id, site_id=content.site_id, sector_id=content.sector_id,
                          content_id=content.id, task_id=content.task_id, image_type=image_type,
                          position=position, status="pending")
            session.add(image)
        elif image.status == "generated":
            continue
        else:
            check_transition("Image", image.id, image.status, "pending")
            image.status, image.failure_reason = "pending", ""
        image.prompt, image.alt_text = draft.prompt[:MAX_PROMPT], draft.alt_text[:MAX_ALT_TEXT]
        image.caption = draft.caption[:MAX_CAPTION]
    await session.flush()


# Images (stage 6).

@dataclass(frozen=True)
class _Target:
    """What an image item renders, read before the model call."""

    account_id: int
    status: str
    request: ImageRequest


async def _target(writer: Writer, image_id: int) -> _Target | None:
    async with writer.db.read() as session:
        image = await session.get(Image, image_id)
    if image is None or image.delete_time is not None or not image.prompt.strip():
        return None
    width, height = writer.featured_size if image.image_type == "featured" else writer.in_article_size
    request = ImageRequest(prompt=image.prompt, width=width, height=height,
                           format=cast(ImageFormat, writer.image_format))
    return _Target(account_id=image.account_id, status=image.status, request=request)


async def _render(provider: ImageProvider, request: ImageRequest) -> tuple[RenderedImage, ImageFacts]:
    """The provider's file and what its bytes really are; a file that is not an image is a bad answer."""
    rendered = await provider.render(request)
    try:
        facts = await asyncio.to_thread(inspect_image, io.BytesIO(rendered.data))
    except NotAnImage as error:
        raise BadProviderResponse(f"the rendered file is not an image: {error}") from None
    return rendered, facts


def _image_failed(image_id: int) -> Callable[[AsyncSession, str], Awaitable[None]]:
    """Marks the image failed with the item's reason, in the transaction that fails the item."""
    async def mark(session: AsyncSession, reason: str) -> None:
        image = await session.scalar(select(Image).where(Image.id == image_id).with_for_update())
        if image is not None and image.status != "generated":  # an upload meanwhile stands
            check_transition("Image", image.id, image.status, "failed")
            image.status, image.failure_reason = "failed", reason
    return mark


async def run_image_item(writer: Writer, *, item_id: int) -> str:
    """Run one item of an image generation job; SUCCEEDED, FAILED, RETRY (try later) or ENDED."""
    claimed = await ai_runs.claim(writer, item_id)
    if claimed is None or claimed.item.image_id is None:
        return ENDED
    image_id = claimed.item.image_id
    if writer.images is None or writer.storage is None:
        return await ai_runs.fail(writer, claimed, "NOT_CONFIGURED: no image provider or media storage here")
    target = await _target(writer, image_id)
    if target is None:
        return await ai_runs.fail(writer, claimed, f"IMAGE_GONE: image {image_id} was deleted or has no prompt")
    if target.status == "generated":
        return await _skip(writer, claimed, f"image {image_id} is already generated")
    images, storage = writer.images, writer.storage
    answer = await ai_runs.call_model(writer, claimed, operation=RENDER, provider=images,
                                      call=lambda: _render(images, target.request), on_failed=_image_failed(image_id))
    if isinstance(answer, str):
        return answer
    rendered, facts = answer
    key = image_file_key(target.account_id, image_id, facts.format)
    try:
        await storage.save(key, rendered.data)
    except OSError as error:
        return await ai_runs.fail(writer, claimed, f"STORAGE_ERROR: could not store the file: {error}",
                                  on_failed=_image_failed(image_id))
    try:
        outcome, unused = await _record_file(writer, claimed, key, facts, rendered)
    except BaseException:
        await remove_file_quietly(storage, key)
        raise
    if unused:
        await remove_file_quietly(storage, unused)
    return outcome


async def _record_file(writer: Writer, claimed: Claim, key: str, facts: ImageFacts,
                       rendered: RenderedImage) -> tuple[str, str]:
    """Record the stored file on its image, bill it, and move the content on; returns the outcome and
    the key of a file no longer referenced (this run's when it did not record it, or the replaced one)."""
    async with writer.db.transaction() as session:
        item = await jobs.own_item(session, item_id=claimed.item.id, attempt=claimed.attempt)
        if item is None:
            return ENDED, key  # another run of the same item recorded its own file
        # The content is locked before the image (the order the prompts runner takes them in), so
        # the last of its images to finish sees every other one generated.
        content_id = await session.scalar(select(Image.content_id).where(Image.id == item.image_id))
        content = await locked_live_content(session, content_id)
        image = await session.scalar(select(Image).where(Image.id == item.image_id).with_for_update())
        if image is None or image.delete_time is not None:
            await jobs.item_failed(session, item=item, reason="IMAGE_CHANGED: the image was deleted")
            return FAILED, key
        if image.status == "generated":  # uploaded meanwhile: that file stands, nothing charged
            await ai_runs.succeed(session, claimed, item, operation=RENDER, usage=rendered.usage, charged=0)
            return SUCCEEDED, key
        check_transition("Image", image.id, image.status, "generated")
        replaced = image.image_path
        image.image_path, image.image_url, image.status, image.failure_reason = (
            key, image_file_url(image.id), "generated", "")
        image.format, image.width, image.height, image.file_size = (
            facts.format, facts.width, facts.height, len(rendered.data))
        await session.flush()
        if content is not None:
            await review_when_illustrated(session, content)
        charged = min(writer.prices.image_credits, item.credits_reserved)
        await ai_runs.succeed(session, claimed, item, operation=RENDER, usage=rendered.usage, charged=charged)
    return SUCCEEDED, replaced
