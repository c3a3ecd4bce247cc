"""GenerateImagePrompts and GenerateImages end to end in one process: image rows, files, credits, AI
logs, and content moving to review once illustrated."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from PIL import Image as PILImage
from sqlalchemy import func, select

from igny8.writer.v1 import content_pb2, images_pb2, jobs_pb2
from tests.conftest import Tenant, TenantFactory
from tests.factories.content import KEYWORD, content_stub, good_html, make_content, publishable_fields, to_review
from tests.factories.images import download_chunks, images_stub
from tests.fakes.image_providers import ScriptedImages, image_job_providers, in_process_runner
from tests.fakes.text_providers import ScriptedText, scripted_prompts
from tests.integration.test_generation import balance, ledger_sum
from writer_service.ai.errors import BadProviderResponse, QuotaExceeded
from writer_service.api.server import WriterServer
from writer_service.config import Settings
from writer_service.db.database import Database
from writer_service.db.models import AIRequestLog, CreditTransaction
from writer_service.services import image_runs
from writer_service.services.wiring import image_size

pytestmark = pytest.mark.asyncio(loop_scope="session")

SUCCEEDED, FAILED = jobs_pb2.JOB_STATE_SUCCEEDED, jobs_pb2.JOB_STATE_FAILED
HEADING = "Choosing solar panels, part {}"  # the H2s of good_html


async def article(channel: grpc.aio.Channel, tenant: Tenant, *, sections: int = 3,
                  **fields: Any) -> content_pb2.Content:
    """Draft content with `sections` H2 headings about KEYWORD."""
    fields.setdefault("content_html", good_html(sections=sections, words_per_section=40))
    return await make_content(channel, tenant, primary_keyword=KEYWORD, **fields)


async def prompts(channel: grpc.aio.Channel, tenant: Tenant, content_ids: list[int], **kw: Any) -> jobs_pb2.Job:
    request = images_pb2.GenerateImagePromptsRequest(content_ids=content_ids, **kw)
    return (await images_stub(channel).GenerateImagePrompts(request, metadata=tenant.metadata())).job


async def render(channel: grpc.aio.Channel, tenant: Tenant, **kw: Any) -> jobs_pb2.Job:
    request = images_pb2.GenerateImagesRequest(**kw)
    return (await images_stub(channel).GenerateImages(request, metadata=tenant.metadata())).job


async def images_of(channel: grpc.aio.Channel, tenant: Tenant, content_id: int) -> list[images_pb2.Image]:
    request = images_pb2.ListImagesRequest(filter=f"content_id = {content_id}", order_by="position")
    return list((await images_stub(channel).ListImages(request, metadata=tenant.metadata())).images)


async def status_of(channel: grpc.aio.Channel, tenant: Tenant, content_id: int) -> int:
    request = content_pb2.GetContentRequest(id=content_id)
    return (await content_stub(channel).GetContent(request, metadata=tenant.metadata())).status


async def ai_logs(db: Database, job_id: int) -> list[AIRequestLog]:
    async with db.read() as session:
        return list((await session.scalars(select(AIRequestLog).where(AIRequestLog.job_id == job_id))).all())


async def featured_image(channel: grpc.aio.Channel, tenant: Tenant) -> images_pb2.Image:
    """The featured image of new content (with one in-article image beside it), its prompt written."""
    content = await article(channel, tenant, sections=1)
    await prompts(channel, tenant, [content.id], max_in_article_images=1, wait=True)
    return (await images_of(channel, tenant, content.id))[0]


def picture(chunks: list[images_pb2.ImageFileChunk]) -> PILImage.Image:
    data = b"".join(c.data for c in chunks)
    assert len(data) == chunks[0].total_size
    opened = PILImage.open(io.BytesIO(data))
    opened.load()
    return opened


@pytest.fixture
def scripted(writer: WriterServer) -> Iterator[tuple[ScriptedImages, ScriptedText]]:
    """The test server renders and writes prompts through scripted wrappers of its real providers."""
    real = in_process_runner(writer).writer
    assert real.images is not None
    fakes = ScriptedImages(inner=real.images), scripted_prompts(real.text)
    with image_job_providers(writer, images=fakes[0], text=fakes[1]):
        yield fakes


async def test_prompts_make_a_featured_image_and_one_per_heading_billed_once(
    channel: grpc.aio.Channel, tenants: TenantFactory, db: Database, settings: Settings
) -> None:
    owner = await tenants.account(credits=100)
    content = await article(channel, owner, sections=3)
    job = await prompts(channel, owner, [content.id], max_in_article_images=2, wait=True)

    assert job.state == SUCCEEDED and job.kind == jobs_pb2.JOB_KIND_IMAGE_PROMPTS
    made = await images_of(channel, owner, content.id)
    assert [(i.image_type, i.position) for i in made] == [
        (images_pb2.IMAGE_TYPE_FEATURED, 0), (images_pb2.IMAGE_TYPE_IN_ARTICLE, 1),
        (images_pb2.IMAGE_TYPE_IN_ARTICLE, 2)]
    assert all(i.status == images_pb2.IMAGE_STATUS_PENDING and i.prompt and KEYWORD in i.alt_text.lower()
               for i in made)
    assert [i.caption for i in made] == [content.title, HEADING.format(0), HEADING.format(1)]
    assert {(i.account_id, i.site_id, i.sector_id) for i in made} == {(owner.account_id, owner.site_id,
                                                                       owner.sector_id)}
    logs = await ai_logs(db, job.id)
    assert [(log.operation, log.outcome, log.credits) for log in logs] == [("image_prompts", "success", 1)]
    assert logs[0].tokens_out > 0
    assert (job.credits_charged, job.items[0].credits_charged) == (1, 1)
    assert await balance(db, owner.account_id) == 99
    assert await ledger_sum(db, owner.account_id) == -1


async def test_in_article_prompts_default_to_three_and_stop_at_the_last_heading(
    channel: grpc.aio.Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account(credits=100)
    long_one, short_one = await article(channel, owner, sections=5), await article(channel, owner, sections=2)
    await prompts(channel, owner, [long_one.id], wait=True)
    await prompts(channel, owner, [short_one.id], max_in_article_images=10, wait=True)
    assert len(await images_of(channel, owner, long_one.id)) == 1 + 3
    assert len(await images_of(channel, owner, short_one.id)) == 1 + 2


async def test_content_that_already_has_prompts_is_skipped_and_charged_nothing(
    channel: grpc.aio.Channel, tenants: TenantFactory, db: Database
) -> None:
    owner = await tenants.account(credits=100)
    content = await article(channel, owner)
    await prompts(channel, owner, [content.id], wait=True)
    before = await images_of(channel, owner, content.id)

    again = await prompts(channel, owner, [content.id], wait=True)
    assert again.state == SUCCEEDED
    assert (again.items[0].credits_charged, again.credits_released) == (0, again.credits_reserved)
    assert again.credits_reserved > 0
    assert [(i.id, i.prompt) for i in await images_of(channel, owner, content.id)] == [(i.id, i.prompt)
                                                                                       for i in before]
    assert await ai_logs(db, again.id) == []
    assert await balance(db, owner.account_id) == 100 - 1


async def test_prompts_fill_an_image_that_has_none_instead_of_adding_another(
    channel: grpc.aio.Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account(credits=100)
    content = await article(channel, owner, sections=1)
    empty = await images_stub(channel).CreateImage(images_pb2.CreateImageRequest(image=images_pb2.Image(
        content_id=content.id, image_type=images_pb2.IMAGE_TYPE_FEATURED)), metadata=owner.metadata())
    await prompts(channel, owner, [content.id], wait=True)
    made = await images_of(channel, owner, content.id)
    assert [(i.id, i.image_type) for i in made][0] == (empty.id, images_pb2.IMAGE_TYPE_FEATURED)
    assert len(made) == 2 and made[0].prompt


async def test_generated_files_are_real_images_at_the_configured_sizes_and_billed(
    channel: grpc.aio.Channel, tenants: TenantFactory, db: Database, settings: Settings
) -> None:
    owner = await tenants.account(credits=100)
    content = await article(channel, owner, sections=1)
    await prompts(channel, owner, [content.id], wait=True)
    job = await render(channel, owner, content_ids=[content.id], wait=True)

    assert job.state == SUCCEEDED and job.total_items == 2
    sizes = {images_pb2.IMAGE_TYPE_FEATURED: image_size(settings.featured_image_size, "featured"),
             images_pb2.IMAGE_TYPE_IN_ARTICLE: image_size(settings.in_article_image_size, "in_article")}
    for image in await images_of(channel, owner, content.id):
        assert image.status == images_pb2.IMAGE_STATUS_GENERATED and image.failure_reason == ""
        assert image.image_url == f"/v1/images/{image.id}/file"
        assert image.image_path.startswith(f"images/{owner.account_id}/{image.id}/")
        assert (image.width, image.height) == sizes[image.image_type]
        chunks = await download_chunks(channel, image.id)
        opened = picture(chunks)
        assert opened.format == "PNG" and opened.size == sizes[image.image_type]
        assert image.format == images_pb2.IMAGE_FORMAT_PNG and image.file_size == chunks[0].total_size
    logs = await ai_logs(db, job.id)
    assert sorted((log.operation, log.credits, log.provider) for log in logs) == [
        ("image_generation", 2, "placeholder")] * 2
    assert job.credits_charged == 4 and await balance(db, owner.account_id) == 100 - 1 - 4
    # Both images rendered side by side; whichever finished last saw the other generated.
    assert await status_of(channel, owner, content.id) == content_pb2.CONTENT_STATUS_REVIEW


async def test_content_moves_to_review_when_its_last_image_is_generated(
    channel: grpc.aio.Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account(credits=100)
    content = await article(channel, owner, sections=2)
    await prompts(channel, owner, [content.id], wait=True)
    made = await images_of(channel, owner, content.id)
    await render(channel, owner, image_ids=[i.id for i in made[:-1]], wait=True)
    assert await status_of(channel, owner, content.id) == content_pb2.CONTENT_STATUS_DRAFT
    await render(channel, owner, image_ids=[made[-1].id], wait=True)
    assert await status_of(channel, owner, content.id) == content_pb2.CONTENT_STATUS_REVIEW


async def test_content_already_published_stays_published_when_illustrated(
    channel: grpc.aio.Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account(credits=100)
    content = await make_content(channel, owner, **publishable_fields())
    await content_stub(channel).PublishContent(content_pb2.PublishContentRequest(
        id=(await to_review(channel, owner, content)).id), metadata=owner.metadata())
    await prompts(channel, owner, [content.id], max_in_article_images=1, wait=True)
    job = await render(channel, owner, content_ids=[content.id], wait=True)
    assert job.state == SUCCEEDED
    assert await status_of(channel, owner, content.id) == content_pb2.CONTENT_STATUS_PUBLISHED


async def test_provider_failure_fails_the_image_with_its_reason_and_releases_its_credits(
    channel: grpc.aio.Channel, tenants: TenantFactory, db: Database,
    scripted: tuple[ScriptedImages, ScriptedText],
) -> None:
    owner = await tenants.account(credits=100)
    featured = await featured_image(channel, owner)
    scripted[0].errors = [QuotaExceeded("the provider account has no quota left")]
    job = await render(channel, owner, image_ids=[featured.id], wait=True)

    assert job.state == FAILED and job.items[0].error_reason.startswith("QUOTA_EXCEEDED")
    failed = (await images_of(channel, owner, featured.content_id))[0]
    assert failed.status == images_pb2.IMAGE_STATUS_FAILED and failed.failure_reason.startswith("QUOTA_EXCEEDED")
    assert failed.image_path == "" and failed.file_size == 0
    assert [(log.outcome, log.credits) for log in await ai_logs(db, job.id)] == [("error", 0)]
    assert (job.credits_charged, job.credits_released) == (0, job.credits_reserved)
    assert await balance(db, owner.account_id) == 100 - 1
    again = await render(channel, owner, image_ids=[featured.id], wait=True)  # a failed image may be tried again
    assert again.state == SUCCEEDED


async def test_an_answer_that_is_not_an_image_is_retried_then_fails_the_image(
    channel: grpc.aio.Channel, tenants: TenantFactory, db: Database,
    scripted: tuple[ScriptedImages, ScriptedText],
) -> None:
    owner = await tenants.account(credits=100)
    featured = await featured_image(channel, owner)
    scripted[0].bad_files = [b"<html>not an image</html>"] * 3
    job = await render(channel, owner, image_ids=[featured.id], wait=True)
    assert job.state == FAILED and job.items[0].attempts == 3
    assert job.items[0].error_reason.startswith(BadProviderResponse.reason)
    assert (await images_of(channel, owner, featured.content_id))[0].status == images_pb2.IMAGE_STATUS_FAILED
    assert await balance(db, owner.account_id) == 100 - 1


async def test_prompt_failure_fails_the_item_and_writes_no_image(
    channel: grpc.aio.Channel, tenants: TenantFactory, db: Database,
    scripted: tuple[ScriptedImages, ScriptedText],
) -> None:
    owner = await tenants.account(credits=100)
    content = await article(channel, owner)
    scripted[1].errors = [QuotaExceeded("no quota")]
    job = await prompts(channel, owner, [content.id], wait=True)
    assert job.state == FAILED and job.items[0].error_reason.startswith("QUOTA_EXCEEDED")
    assert await images_of(channel, owner, content.id) == []
    assert await balance(db, owner.account_id) == 100 and await ledger_sum(db, owner.account_id) == 0


async def test_running_one_image_item_twice_at_once_keeps_one_file_and_one_charge(
    channel: grpc.aio.Channel, tenants: TenantFactory, db: Database, writer: WriterServer, settings: Settings,
    scripted: tuple[ScriptedImages, ScriptedText],
) -> None:
    owner = await tenants.account(credits=100)
    featured = await featured_image(channel, owner)
    # The media root is shared by the backends' test runs, whose ids overlap: count new files only.
    folder = settings.resolved_media_root() / "images" / str(owner.account_id) / str(featured.id)
    before = set(folder.iterdir()) if folder.exists() else set()
    scripted[0].gate = asyncio.Event()
    job = await render(channel, owner, image_ids=[featured.id])
    await scripted[0].started.wait()
    duplicate = asyncio.ensure_future(image_runs.run_image_item(in_process_runner(writer).writer,
                                                                item_id=job.items[0].id))
    await asyncio.sleep(0.1)
    scripted[0].gate.set()
    await duplicate
    await writer.runtime.dispatcher.drain()  # type: ignore[union-attr]

    image = (await images_of(channel, owner, featured.content_id))[0]
    assert [p.name for p in set(folder.iterdir()) - before] == [image.image_path.rsplit("/", 1)[-1]]
    async with db.read() as session:
        settles = await session.scalar(select(func.count()).select_from(CreditTransaction).where(
            CreditTransaction.job_id == job.id, CreditTransaction.kind == "settle"))
    assert settles == 1 and len(await ai_logs(db, job.id)) == 1
    assert await balance(db, owner.account_id) == 100 - 1 - 2
