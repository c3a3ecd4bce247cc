"""AutomationService stages 5 (image prompts) and 6 (images, content to review), and RunPipeline from
ideas to illustrated content in review, through the real gRPC stack."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from PIL import Image as PILImage
from sqlalchemy import func, select

from igny8.writer.v1 import automation_pb2 as pb
from tests.conftest import Tenant, TenantFactory
from tests.factories.images import make_image
from tests.factories.planner import make_cluster, make_idea
from tests.fakes.text_providers import ScriptedText
from tests.integration import test_automation_content
from tests.integration.test_automation import Channel, check_item_order, ended_run, of, run, start, summaries
from tests.integration.test_automation_content import contents_by_task, items_cancelled, queued_tasks, run_credits
from tests.integration.test_generation import balance, ledger_sum
from writer_service.config import Settings
from writer_service.db.database import Database
from writer_service.db.models import AIRequestLog, Content, Image, Task
from writer_service.domain.pricing import Prices

pytestmark = pytest.mark.asyncio(loop_scope="session")

SUCCEEDED, FAILED = pb.AUTOMATION_RUN_STATE_SUCCEEDED, pb.AUTOMATION_RUN_STATE_FAILED
scripted = test_automation_content.scripted  # the text provider with a gate, as a fixture of this module too
STAGE_NUMBERS = [pb.AUTOMATION_STAGE_TASK_CREATION, pb.AUTOMATION_STAGE_CONTENT_GENERATION,
                 pb.AUTOMATION_STAGE_IMAGE_PROMPTS, pb.AUTOMATION_STAGE_IMAGE_GENERATION]


async def drafts(channel: Channel, tenant: Tenant, count: int) -> list[int]:
    """Ids of `count` draft contents written by stage 4, oldest first."""
    await queued_tasks(channel, tenant, count)
    events = await run(channel, tenant, "RunContentGenerationStage")
    return sorted(s.result_id for s in of(events, "item_succeeded"))


async def images_by_content(db: Database, content_ids: list[int]) -> dict[int, list[Image]]:
    """The live images of each content, in position order."""
    async with db.read() as session:
        rows = await session.scalars(select(Image).where(Image.content_id.in_(content_ids), Image.delete_time.is_(None))
                                     .order_by(Image.content_id, Image.position, Image.id))
        found: dict[int, list[Image]] = {}
        for image in rows:
            found.setdefault(image.content_id or 0, []).append(image)
        return found


async def content_statuses(db: Database, account_id: int) -> dict[int, str]:
    """Every content of the account and its status."""
    async with db.read() as session:
        return {i: s for i, s in await session.execute(
            select(Content.id, Content.status).where(Content.account_id == account_id))}


def opens_as_image(settings: Settings, image: Image) -> bool:
    """Whether the image's stored file is a real image of its recorded size."""
    with PILImage.open(Path(settings.resolved_media_root()) / image.image_path) as picture:
        picture.load()
        return picture.size == (image.width, image.height)


async def test_prompt_stage_writes_prompts_for_draft_content_without_any(
    channel: Channel, tenants: TenantFactory, db: Database
) -> None:
    owner = await tenants.account(credits=500)
    contents = await drafts(channel, owner, 3)
    prompted_already = contents[2]
    await make_image(channel, owner, content_id=prompted_already, prompt="a hand-written prompt")
    before = await balance(db, owner.account_id)
    events = await run(channel, owner, "RunImagePromptStage")

    check_item_order(events)
    succeeded = of(events, "item_succeeded")
    assert sorted(s.item_id for s in succeeded) == contents[:2]
    assert {(s.item_kind, s.result_kind, s.result_id) for s in succeeded} == {
        (pb.AUTOMATION_ITEM_KIND_CONTENT, pb.AUTOMATION_ITEM_KIND_UNSPECIFIED, 0)}
    images = await images_by_content(db, contents)
    for content_id in contents[:2]:
        assert images[content_id][0].image_type == "featured"
        assert len(images[content_id]) > 1 and all(i.prompt and i.status == "pending" for i in images[content_id])
    assert len(images[prompted_already]) == 1
    summary = of(events, "summary")[0]
    assert (summary.items_done, summary.state) == (2, SUCCEEDED)
    assert summary.credits_used == await run_credits(db, events[0].run_id) == before - await balance(
        db, owner.account_id) == 2 * Prices().image_prompt_credits
    again = await run(channel, owner, "RunImagePromptStage")
    assert of(again, "summary")[0].items_done == 0


async def test_image_stage_renders_pending_images_and_moves_each_illustrated_draft_to_review(
    channel: Channel, tenants: TenantFactory, db: Database, settings: Settings
) -> None:
    owner = await tenants.account(credits=500)
    contents = await drafts(channel, owner, 2)
    await run(channel, owner, "RunImagePromptStage")
    pending = await images_by_content(db, contents)
    before = await balance(db, owner.account_id)
    events = await run(channel, owner, "RunImageGenerationStage")

    check_item_order(events)
    succeeded = of(events, "item_succeeded")
    assert sorted(s.item_id for s in succeeded) == sorted(i.id for images in pending.values() for i in images)
    moved = [(s.result_kind, s.result_id) for s in succeeded if s.result_id]
    assert sorted(moved) == [(pb.AUTOMATION_ITEM_KIND_CONTENT, c) for c in contents]
    assert {c: s for c, s in (await content_statuses(db, owner.account_id)).items()} == dict.fromkeys(
        contents, "review")
    for images in (await images_by_content(db, contents)).values():
        assert all(i.status == "generated" and opens_as_image(settings, i) for i in images)
    summary = of(events, "summary")[0]
    count = sum(len(images) for images in pending.values())
    assert (summary.items_done, summary.state) == (count, SUCCEEDED)
    assert summary.credits_used == await run_credits(db, events[0].run_id) == before - await balance(
        db, owner.account_id) == count * Prices().image_credits


async def test_image_stages_take_only_the_content_of_the_cluster_asked_for(
    channel: Channel, tenants: TenantFactory, db: Database
) -> None:
    owner = await tenants.account(credits=500)
    first, second = await drafts(channel, owner, 1), await drafts(channel, owner, 1)
    async with db.read() as session:
        cluster_id = await session.scalar(select(Content.cluster_id).where(Content.id == first[0]))
    prompts = await run(channel, owner, "RunImagePromptStage", cluster_id=cluster_id)
    assert [s.item_id for s in of(prompts, "item_succeeded")] == first
    images = await run(channel, owner, "RunImageGenerationStage", cluster_id=cluster_id, max_items=1)
    assert len(of(images, "item_succeeded")) == 1
    assert set(await images_by_content(db, second)) == set()


async def test_pipeline_takes_ideas_to_illustrated_content_in_review_and_a_second_run_does_nothing(
    channel: Channel, tenants: TenantFactory, db: Database, settings: Settings
) -> None:
    owner = await tenants.account(credits=1000)
    for _ in range(2):
        cluster = await make_cluster(channel, owner)
        for _ in range(2):
            await make_idea(channel, owner, cluster_id=cluster.id, estimated_word_count=400)
    events = await run(channel, owner, "RunPipeline")

    check_item_order(events)
    by_stage = summaries(events)
    assert list(by_stage) == [*STAGE_NUMBERS, pb.AUTOMATION_STAGE_PIPELINE]
    assert [e.summary.state for e in events if e.WhichOneof("event") == "summary"] == [SUCCEEDED] * 5
    assert by_stage[pb.AUTOMATION_STAGE_TASK_CREATION].items_done == 4
    assert by_stage[pb.AUTOMATION_STAGE_CONTENT_GENERATION].items_done == 4
    assert by_stage[pb.AUTOMATION_STAGE_IMAGE_PROMPTS].items_done == 4
    final = by_stage[pb.AUTOMATION_STAGE_PIPELINE]
    assert final.items_done == sum(by_stage[s].items_done for s in STAGE_NUMBERS)
    assert final.credits_used == sum(by_stage[s].credits_used for s in STAGE_NUMBERS)
    assert final.credits_used == await run_credits(db, events[0].run_id) == 1000 - await balance(db, owner.account_id)
    assert await ledger_sum(db, owner.account_id) == -final.credits_used
    statuses = await content_statuses(db, owner.account_id)
    assert len(statuses) == 4 and set(statuses.values()) == {"review"}
    images = await images_by_content(db, list(statuses))
    assert set(images) == set(statuses)
    for content_images in images.values():
        assert content_images[0].image_type == "featured" and len(content_images) > 1
        assert all(i.status == "generated" and opens_as_image(settings, i) for i in content_images)
    kept = await ended_run(channel, owner, events[0].run_id)
    assert (kept.stage, kept.state, kept.items_done, kept.credits_used) == (
        pb.AUTOMATION_STAGE_PIPELINE, SUCCEEDED, final.items_done, final.credits_used)

    again = await run(channel, owner, "RunPipeline")
    final_again = summaries(again)[pb.AUTOMATION_STAGE_PIPELINE]
    assert (final_again.items_done, final_again.credits_used, final_again.state) == (0, 0, SUCCEEDED)
    assert await balance(db, owner.account_id) == 1000 - final.credits_used
    async with db.read() as session:
        tasks = await session.scalar(select(func.count()).select_from(Task).where(Task.account_id == owner.account_id))
    assert tasks == 4 and len(await content_statuses(db, owner.account_id)) == 4


async def test_pipeline_stops_at_the_stage_that_runs_out_of_credits(
    channel: Channel, tenants: TenantFactory, db: Database
) -> None:
    estimate = Prices().content_estimate(300)
    owner = await tenants.account(credits=estimate + 1)
    cluster = await make_cluster(channel, owner)
    for _ in range(3):
        await make_idea(channel, owner, cluster_id=cluster.id, estimated_word_count=300)
    events = await run(channel, owner, "RunPipeline")

    by_stage = summaries(events)
    assert list(by_stage) == [pb.AUTOMATION_STAGE_TASK_CREATION, pb.AUTOMATION_STAGE_CONTENT_GENERATION,
                              pb.AUTOMATION_STAGE_PIPELINE]
    stopped, final = by_stage[pb.AUTOMATION_STAGE_CONTENT_GENERATION], by_stage[pb.AUTOMATION_STAGE_PIPELINE]
    assert stopped.credits_exhausted and stopped.state == FAILED and stopped.items_done == 1
    assert (final.state, final.credits_exhausted, final.credits_required, final.credits_available) == (
        FAILED, True, stopped.credits_required, stopped.credits_available)
    assert final.items_done == 3 + 1
    async with db.read() as session:
        operations = set(await session.scalars(
            select(AIRequestLog.operation).where(AIRequestLog.automation_run_id == events[0].run_id)))
    assert operations == {"content_generation"}
    assert (await ended_run(channel, owner, events[0].run_id)).state == FAILED


async def test_a_pipeline_cancelled_mid_stage_is_finished_by_the_next_run_without_duplicates(
    channel: Channel, tenants: TenantFactory, db: Database, scripted: ScriptedText
) -> None:
    owner = await tenants.account(credits=1000)
    cluster = await make_cluster(channel, owner)
    for _ in range(5):
        await make_idea(channel, owner, cluster_id=cluster.id, estimated_word_count=300)
    scripted.gate = asyncio.Event()
    call = start(channel, owner, "RunPipeline")
    async for event in call:
        if event.stage == pb.AUTOMATION_STAGE_CONTENT_GENERATION and event.WhichOneof("event") == "item_started":
            break
    call.cancel()
    await items_cancelled(db, event.run_id)
    scripted.gate.set()
    kept = await ended_run(channel, owner, event.run_id)
    async with db.read() as session:
        task_ids = list(await session.scalars(select(Task.id).where(Task.account_id == owner.account_id)))
        images = await session.scalar(select(func.count()).select_from(Image).where(
            Image.account_id == owner.account_id))
    written = await contents_by_task(db, task_ids)
    assert kept.state == pb.AUTOMATION_RUN_STATE_CANCELLED and len(task_ids) == 5
    assert kept.items_done == 5 + len(written) and 1 <= len(written) < 5 and images == 0
    assert kept.credits_used == await run_credits(db, event.run_id) == 1000 - await balance(db, owner.account_id)
    assert await ledger_sum(db, owner.account_id) == -kept.credits_used

    scripted.gate = None
    rest = await run(channel, owner, "RunPipeline")
    by_stage = summaries(rest)
    assert by_stage[pb.AUTOMATION_STAGE_TASK_CREATION].items_done == 0
    assert by_stage[pb.AUTOMATION_STAGE_CONTENT_GENERATION].items_done == 5 - len(written)
    assert by_stage[pb.AUTOMATION_STAGE_PIPELINE].state == SUCCEEDED
    assert await contents_by_task(db, task_ids) == dict.fromkeys(task_ids, 1)
    statuses = await content_statuses(db, owner.account_id)
    assert set(statuses.values()) == {"review"}
    featured = [i for images in (await images_by_content(db, list(statuses))).values() for i in images
                if i.image_type == "featured"]
    assert sorted(i.content_id or 0 for i in featured) == sorted(statuses)
