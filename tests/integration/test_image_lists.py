"""ListImages and ListImagesGroupedByContent: filters, search, order, pages and scope, through the real
gRPC stack, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import TypeAlias

import grpc
import pytest
from google.rpc import error_details_pb2

from igny8.writer.v1 import images_pb2
from tests.conftest import Tenant, TenantFactory
from tests.factories.images import images_stub, insert_content, make_image
from tests.factories.tasks import make_task
from tests.rich import expect_error
from writer_service.db.database import Database

pytestmark = pytest.mark.asyncio(loop_scope="session")

Channel: TypeAlias = grpc.aio.Channel
FEATURED, IN_ARTICLE = images_pb2.IMAGE_TYPE_FEATURED, images_pb2.IMAGE_TYPE_IN_ARTICLE


async def list_ids(channel: Channel, tenant: Tenant, **request: object) -> list[int]:
    answer = await images_stub(channel).ListImages(images_pb2.ListImagesRequest(**request),  # type: ignore[arg-type]
                                                   metadata=tenant.metadata())
    return [image.id for image in answer.images]


async def all_pages(channel: Channel, tenant: Tenant, **request: object) -> list[int]:
    ids: list[int] = []
    token = ""
    while True:
        answer = await images_stub(channel).ListImages(
            images_pb2.ListImagesRequest(page_token=token, **request), metadata=tenant.metadata())  # type: ignore[arg-type]
        ids += [image.id for image in answer.images]
        token = answer.next_page_token
        if not token:
            return ids


async def test_list_filters_by_content_task_type_and_status(
    channel: Channel, tenants: TenantFactory, db: Database
) -> None:
    owner = await tenants.account()
    content = await insert_content(db, owner, title="Guide")
    task = await make_task(channel, owner)
    featured = await make_image(channel, owner, content_id=content.id)
    inline = await make_image(channel, owner, content_id=content.id, image_type=IN_ARTICLE)
    of_task = await make_image(channel, owner, task_id=task.id)
    loose = await make_image(channel, owner)
    assert await list_ids(channel, owner) == [loose.id, of_task.id, inline.id, featured.id]
    assert await list_ids(channel, owner, filter=f"content_id = {content.id}", order_by="position") == [
        featured.id, inline.id]
    assert await list_ids(channel, owner, filter=f"task_id = {task.id}") == [of_task.id]
    assert await list_ids(channel, owner, filter='image_type = "in_article"') == [inline.id]
    assert await list_ids(channel, owner, filter="content_id = 0 AND task_id = 0") == [loose.id]
    assert await list_ids(channel, owner, filter='status = "generated"') == []
    assert len(await list_ids(channel, owner, filter='status = "pending" AND format = "png"')) == 0
    answer = await images_stub(channel).ListImages(images_pb2.ListImagesRequest(filter=f"task_id = {task.id}"),
                                                   metadata=owner.metadata())
    assert answer.images[0].task_title == task.title


@pytest.mark.parametrize(("field", "value"), [
    ("filter", 'status = "done"'), ("filter", "position = 1"), ("filter", "content_id >"),
    ("order_by", "prompt"), ("page_token", "garbage"), ("page_size", -1),
])
async def test_list_rejects_what_does_not_parse(channel: Channel, tenants: TenantFactory, field: str,
                                                value: object) -> None:
    owner = await tenants.account()
    error = await expect_error(images_stub(channel).ListImages(images_pb2.ListImagesRequest(**{field: value}),
                                                               metadata=owner.metadata()),
                               grpc.StatusCode.INVALID_ARGUMENT)
    assert error.detail(error_details_pb2.BadRequest).field_violations[0].field == field


async def test_list_searches_prompt_alt_text_and_caption(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    by_prompt = await make_image(channel, owner, prompt="A red Kayak at dawn")
    by_alt = await make_image(channel, owner, alt_text="kayak paddles")
    by_caption = await make_image(channel, owner, caption="Our KAYAK fleet")
    await make_image(channel, owner, prompt="a canoe")
    assert sorted(await list_ids(channel, owner, search="kayak")) == sorted([by_prompt.id, by_alt.id, by_caption.id])


async def test_list_hides_deleted_unless_asked_and_other_tenants_always(
    channel: Channel, tenants: TenantFactory
) -> None:
    owner, stranger = await tenants.account(), await tenants.account()
    other_site = await tenants.site(owner)
    kept, gone = await make_image(channel, owner), await make_image(channel, owner)
    elsewhere = await make_image(channel, other_site)
    await make_image(channel, stranger)
    await images_stub(channel).DeleteImage(images_pb2.DeleteImageRequest(id=gone.id), metadata=owner.metadata())
    assert await list_ids(channel, owner) == [kept.id]
    assert await list_ids(channel, owner, show_deleted=True) == [gone.id, kept.id]
    everywhere = await images_stub(channel).ListImages(images_pb2.ListImagesRequest(),
                                                       metadata=owner.metadata(site=False, sector=False))
    assert [i.id for i in everywhere.images] == [elsewhere.id, kept.id]


async def test_pages_ordered_by_content_id_walk_images_with_and_without_content(
    channel: Channel, tenants: TenantFactory, db: Database
) -> None:
    owner = await tenants.account()
    contents = [await insert_content(db, owner) for _ in range(2)]
    made = [await make_image(channel, owner, content_id=c.id) for c in contents for _ in range(2)]
    made += [await make_image(channel, owner) for _ in range(3)]
    expected = sorted(made, key=lambda i: (i.content_id or 10**18, i.id))  # no content sorts last
    assert await all_pages(channel, owner, order_by="content_id", page_size=2) == [i.id for i in expected]
    assert await all_pages(channel, owner, order_by="content_id desc", page_size=2) == [
        i.id for i in reversed(expected)]


async def test_page_token_is_bound_to_its_query(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    for _ in range(3):
        await make_image(channel, owner)
    first = await images_stub(channel).ListImages(images_pb2.ListImagesRequest(page_size=2), metadata=owner.metadata())
    assert len(first.images) == 2 and first.next_page_token
    other = images_pb2.ListImagesRequest(page_size=2, page_token=first.next_page_token, filter='status = "pending"')
    await expect_error(images_stub(channel).ListImages(other, metadata=owner.metadata()),
                       grpc.StatusCode.INVALID_ARGUMENT)


Grouped: TypeAlias = images_pb2.ListImagesGroupedByContentResponse


async def groups_of(channel: Channel, tenant: Tenant, **request: object) -> Grouped:
    return await images_stub(channel).ListImagesGroupedByContent(
        images_pb2.ListImagesGroupedByContentRequest(**request), metadata=tenant.metadata())  # type: ignore[arg-type]


async def test_grouped_list_gives_one_group_per_content_with_images_by_position(
    channel: Channel, tenants: TenantFactory, db: Database
) -> None:
    owner = await tenants.account()
    guide, review, empty = [await insert_content(db, owner, title=t) for t in ("Guide", "Review", "Empty")]
    late = await make_image(channel, owner, content_id=guide.id, image_type=IN_ARTICLE, position=5)
    early = await make_image(channel, owner, content_id=guide.id, position=1)
    only = await make_image(channel, owner, content_id=review.id)
    await make_image(channel, owner)  # no content: never listed here
    answer = await groups_of(channel, owner)
    assert [(g.content_id, g.content_title) for g in answer.groups] == [(review.id, "Review"), (guide.id, "Guide")]
    assert [i.id for i in answer.groups[1].images] == [early.id, late.id]
    assert [i.id for i in answer.groups[0].images] == [only.id]
    assert answer.groups[1].images[0].content_title == "Guide"
    by_title = await groups_of(channel, owner, order_by="content_title")
    assert [g.content_id for g in by_title.groups] == [guide.id, review.id]
    assert empty.id not in [g.content_id for g in by_title.groups]


async def test_grouped_list_filters_images_and_searches_content_titles(
    channel: Channel, tenants: TenantFactory, db: Database
) -> None:
    owner = await tenants.account()
    guide, review = await insert_content(db, owner, title="Tent guide"), await insert_content(db, owner, title="Review")
    await make_image(channel, owner, content_id=guide.id)
    inline = await make_image(channel, owner, content_id=guide.id, image_type=IN_ARTICLE)
    await make_image(channel, owner, content_id=review.id)
    inline_only = await groups_of(channel, owner, filter='image_type = "in_article"')
    assert [(g.content_id, [i.id for i in g.images]) for g in inline_only.groups] == [(guide.id, [inline.id])]
    searched = await groups_of(channel, owner, search="tent")
    assert [g.content_id for g in searched.groups] == [guide.id]
    await expect_error(groups_of(channel, owner, filter="task_id = 3"), grpc.StatusCode.INVALID_ARGUMENT)


async def test_grouped_list_pages_count_groups_and_tokens_are_bound(
    channel: Channel, tenants: TenantFactory, db: Database
) -> None:
    owner = await tenants.account()
    contents = [await insert_content(db, owner) for _ in range(3)]
    for content in contents:
        for _ in range(2):
            await make_image(channel, owner, content_id=content.id)
    first = await groups_of(channel, owner, page_size=2)
    assert [g.content_id for g in first.groups] == [contents[2].id, contents[1].id]
    assert all(len(g.images) == 2 for g in first.groups)
    second = await groups_of(channel, owner, page_size=2, page_token=first.next_page_token)
    assert [g.content_id for g in second.groups] == [contents[0].id] and not second.next_page_token
    await expect_error(groups_of(channel, owner, page_size=2, page_token=first.next_page_token,
                                 filter='status = "pending"'), grpc.StatusCode.INVALID_ARGUMENT)


async def test_grouped_list_leaves_out_deleted_images_and_other_tenants(
    channel: Channel, tenants: TenantFactory, db: Database
) -> None:
    owner, stranger = await tenants.account(), await tenants.account()
    content = await insert_content(db, owner)
    image = await make_image(channel, owner, content_id=content.id)
    await make_image(channel, stranger, content_id=(await insert_content(db, stranger)).id)
    await images_stub(channel).DeleteImage(images_pb2.DeleteImageRequest(id=image.id), metadata=owner.metadata())
    assert list((await groups_of(channel, owner)).groups) == []
    shown = await groups_of(channel, owner, show_deleted=True)
    assert [(g.content_id, [i.id for i in g.images]) for g in shown.groups] == [(content.id, [image.id])]
