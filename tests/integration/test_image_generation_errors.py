"""Every refusal of GenerateImagePrompts and GenerateImages, through the real gRPC stack, and request_id
retries: what is refused writes nothing and reserves nothing."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from sqlalchemy import func, select

from igny8.writer.v1 import content_pb2, images_pb2, jobs_pb2, jobs_pb2_grpc
from tests.conftest import Tenant, TenantFactory
from tests.factories.content import content_stub, insert_image
from tests.factories.images import images_stub, make_image
from tests.fakes.image_providers import ScriptedImages, image_job_providers, in_process_runner
from tests.fakes.text_providers import scripted_prompts
from tests.integration.test_generation import balance, ledger_sum
from tests.integration.test_image_generation import article, images_of, prompts, render
from tests.rich import expect_error
from writer_service.api.server import WriterServer
from writer_service.db.database import Database
from writer_service.db.models import CreditTransaction, Job

pytestmark = pytest.mark.asyncio(loop_scope="session")

INVALID, NOT_FOUND = grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND
REFUSED, EXHAUSTED = grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.RESOURCE_EXHAUSTED


async def jobs_of(db: Database, account_id: int) -> int:
    async with db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(Job).where(Job.account_id == account_id))
                   or 0)


async def prompted(channel: grpc.aio.Channel, tenant: Tenant, *, in_article: int = 1) -> list[images_pb2.Image]:
    """The pending images of new content (featured and `in_article` more), prompts written."""
    content = await article(channel, tenant, sections=in_article)
    await prompts(channel, tenant, [content.id], max_in_article_images=in_article, wait=True)
    return await images_of(channel, tenant, content.id)


async def test_prompts_refuse_empty_too_many_or_repeated_ids_and_bad_counts(
    channel: grpc.aio.Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    content = await article(channel, owner)
    for ids, extra in (([], {}), (list(range(1, 12)), {}), ([content.id, content.id], {}), ([0], {}),
                       ([content.id], {"max_in_article_images": 11}), ([content.id], {"max_in_article_images": -1})):
        error = await expect_error(prompts(channel, owner, ids, **extra), INVALID)
        assert error.detail(error_details_pb2.BadRequest).field_violations


async def test_images_refuse_empty_both_too_many_or_repeated_ids(
    channel: grpc.aio.Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    requests: list[dict[str, Any]] = [
        {}, {"image_ids": [1], "content_ids": [1]}, {"image_ids": list(range(1, 52))},
        {"content_ids": list(range(1, 12))}, {"image_ids": [3, 3]}, {"content_ids": [4, 4]}]
    for request in requests:
        error = await expect_error(render(channel, owner, **request), INVALID)
        assert error.detail(error_details_pb2.BadRequest).field_violations


async def test_unknown_deleted_or_foreign_contents_are_not_found_by_id(
    channel: grpc.aio.Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    stranger = await tenants.account()
    other_sector = await tenants.sector(owner)
    mine, deleted = await article(channel, owner), await article(channel, owner)
    await content_stub(channel).DeleteContent(content_pb2.DeleteContentRequest(id=deleted.id),
                                              metadata=owner.metadata())
    foreign, elsewhere = await article(channel, stranger), await article(channel, other_sector)
    expected = f"{deleted.id},{foreign.id},{elsewhere.id},999999999"
    for call in (prompts(channel, owner, [mine.id, deleted.id, foreign.id, elsewhere.id, 999_999_999]),
                 render(channel, owner, content_ids=[mine.id, deleted.id, foreign.id, elsewhere.id, 999_999_999])):
        error = await expect_error(call, NOT_FOUND)
        assert error.info.metadata["missing_ids"] == expected
        assert error.detail(error_details_pb2.ResourceInfo).resource_type == "Content"


async def test_unknown_or_foreign_images_are_not_found_by_id(channel: grpc.aio.Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    stranger = await tenants.account()
    mine = await make_image(channel, owner, prompt="a roof")
    foreign = await make_image(channel, stranger, prompt="a roof")
    error = await expect_error(render(channel, owner, image_ids=[mine.id, foreign.id, 999_999_999]), NOT_FOUND)
    assert error.info.metadata["missing_ids"] == f"{foreign.id},999999999"


async def test_generated_images_and_images_without_prompt_are_refused_by_name(
    channel: grpc.aio.Channel, tenants: TenantFactory, db: Database
) -> None:
    owner = await tenants.account(credits=100)
    content = await article(channel, owner)
    generated = await insert_image(db, owner, content_id=content.id, status="generated")
    bare = await make_image(channel, owner, content_id=content.id)
    pending = await make_image(channel, owner, content_id=content.id, prompt="a roof at dawn")
    error = await expect_error(render(channel, owner, image_ids=[pending.id, generated]), REFUSED)
    assert (error.info.reason, error.info.metadata["image_ids"]) == ("IMAGES_ALREADY_GENERATED", str(generated))
    assert error.detail(error_details_pb2.PreconditionFailure).violations[0].subject == f"image/{generated}"
    error = await expect_error(render(channel, owner, image_ids=[pending.id, bare.id]), REFUSED)
    assert (error.info.reason, error.info.metadata["image_ids"]) == ("IMAGES_WITHOUT_PROMPT", str(bare.id))
    assert await jobs_of(db, owner.account_id) == 0 and await balance(db, owner.account_id) == 100


async def test_content_with_nothing_to_render_is_refused(channel: grpc.aio.Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account(credits=100)
    bare = await article(channel, owner)
    error = await expect_error(render(channel, owner, content_ids=[bare.id]), REFUSED)
    assert error.info.reason == "NO_IMAGES_TO_RENDER"


async def test_contents_of_two_sectors_in_one_call_are_invalid(
    channel: grpc.aio.Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account(credits=100)
    elsewhere = await tenants.sector(owner)
    here, there = await article(channel, owner), await article(channel, elsewhere)
    unnarrowed = Tenant(owner.account_id, 0, 0, owner.user_id, owner.api_key, owner.role)
    call = images_stub(channel).GenerateImagePrompts(
        images_pb2.GenerateImagePromptsRequest(content_ids=[here.id, there.id]),
        metadata=unnarrowed.metadata(site=False, sector=False))
    await expect_error(call, INVALID)


async def test_work_already_in_a_running_job_is_refused_by_name(
    channel: grpc.aio.Channel, tenants: TenantFactory, writer: WriterServer
) -> None:
    owner = await tenants.account(credits=100)
    content = await article(channel, owner)
    image = (await prompted(channel, owner))[0]
    real = in_process_runner(writer).writer
    assert real.images is not None
    held_images, held_prompts = ScriptedImages(inner=real.images), scripted_prompts(real.text)
    held_images.gate = held_prompts.gate = asyncio.Event()
    with image_job_providers(writer, images=held_images, text=held_prompts):
        running = [await prompts(channel, owner, [content.id]), await render(channel, owner, image_ids=[image.id])]
        error = await expect_error(prompts(channel, owner, [content.id]), REFUSED)
        assert (error.info.reason, error.info.metadata["content_ids"]) == ("CONTENT_IN_RUNNING_JOB", str(content.id))
        for call in (render(channel, owner, image_ids=[image.id]),
                     render(channel, owner, content_ids=[image.content_id])):
            error = await expect_error(call, REFUSED)
            assert (error.info.reason, error.info.metadata["image_ids"]) == ("IMAGES_IN_RUNNING_JOB", str(image.id))
        held_images.gate.set()
        stub = jobs_pb2_grpc.JobsServiceStub(channel)
        for job in running:
            events = [e async for e in stub.WatchJob(jobs_pb2.WatchJobRequest(job_id=job.id),
                                                     metadata=owner.metadata())]
            assert events[-1].job.state == jobs_pb2.JOB_STATE_SUCCEEDED


async def test_insufficient_credits_is_resource_exhausted_and_writes_nothing(
    channel: grpc.aio.Channel, tenants: TenantFactory, db: Database
) -> None:
    owner = await tenants.account(credits=1)
    images = await prompted(channel, owner, in_article=1)  # spends the only credit
    fresh = await article(channel, owner)
    for call in (prompts(channel, owner, [fresh.id]), render(channel, owner, content_ids=[images[0].content_id]),
                 render(channel, owner, image_ids=[images[1].id])):
        error = await expect_error(call, EXHAUSTED)
        assert (error.info.reason, error.info.metadata["available"]) == ("INSUFFICIENT_CREDITS", "0")
        assert int(error.info.metadata["required"]) > 0
        assert error.detail(error_details_pb2.QuotaFailure).violations
    assert await jobs_of(db, owner.account_id) == 1  # the prompts job that spent the credit
    assert await balance(db, owner.account_id) == 0 and await ledger_sum(db, owner.account_id) == -1
    assert await images_of(channel, owner, fresh.id) == []
    still = await images_of(channel, owner, images[0].content_id)
    assert [i.status for i in still] == [images_pb2.IMAGE_STATUS_PENDING] * 2


async def test_retry_with_the_same_request_id_returns_the_first_job_and_reserves_once(
    channel: grpc.aio.Channel, tenants: TenantFactory, db: Database
) -> None:
    owner = await tenants.account(credits=100)
    content = await article(channel, owner)
    first_key, second_key = str(uuid.uuid4()), str(uuid.uuid4())
    first, again = await asyncio.gather(prompts(channel, owner, [content.id], request_id=first_key),
                                        prompts(channel, owner, [content.id], request_id=first_key))
    assert first.id == again.id
    done = await prompts(channel, owner, [content.id], request_id=first_key, wait=True)  # the same job, ended
    assert done.id == first.id and done.state == jobs_pb2.JOB_STATE_SUCCEEDED
    image = (await images_of(channel, owner, content.id))[0]
    rendered, rendered_again = await asyncio.gather(
        render(channel, owner, image_ids=[image.id], request_id=second_key, wait=True),
        render(channel, owner, image_ids=[image.id], request_id=second_key, wait=True))
    assert rendered.id == rendered_again.id and rendered.state == jobs_pb2.JOB_STATE_SUCCEEDED
    async with db.read() as session:
        reserves = await session.scalar(select(func.count()).select_from(CreditTransaction).where(
            CreditTransaction.account_id == owner.account_id, CreditTransaction.kind == "reserve"))
    assert reserves == 2 and await jobs_of(db, owner.account_id) == 2
