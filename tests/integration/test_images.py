"""ImagesService records: placement from the parent, reads, updates, soft delete, batch delete and the
two Lists, through the real gRPC stack, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from typing import TypeAlias

import grpc
import pytest
from google.protobuf import field_mask_pb2
from google.rpc import error_details_pb2

from igny8.writer.v1 import images_pb2
from tests.conftest import Tenant, TenantFactory
from tests.factories.images import images_stub, insert_content, make_image
from tests.factories.tasks import make_task
from tests.rich import RichError, expect_error
from writer_service.db.database import Database

pytestmark = pytest.mark.asyncio(loop_scope="session")

Channel: TypeAlias = grpc.aio.Channel
FEATURED, IN_ARTICLE = images_pb2.IMAGE_TYPE_FEATURED, images_pb2.IMAGE_TYPE_IN_ARTICLE
INVALID, NOT_FOUND = grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND


def fields_of(error: RichError) -> list[str]:
    """The field paths of a rich INVALID_ARGUMENT."""
    return [v.field for v in error.detail(error_details_pb2.BadRequest).field_violations]


def placement(image: images_pb2.Image) -> tuple[int, int, int]:
    return image.account_id, image.site_id, image.sector_id


def update_request(image: images_pb2.Image, *paths: str) -> images_pb2.UpdateImageRequest:
    return images_pb2.UpdateImageRequest(image=image, update_mask=field_mask_pb2.FieldMask(paths=list(paths)))


async def test_image_under_content_takes_the_contents_placement_and_title(
    channel: Channel, tenants: TenantFactory, db: Database
) -> None:
    owner = await tenants.account()
    second = await tenants.site(owner)
    content = await insert_content(db, second, title="Trail shoes guide")
    image = await make_image(channel, owner, metadata=owner.metadata(site=False, sector=False), content_id=content.id,
                             site_id=owner.site_id, sector_id=owner.sector_id, prompt="A shoe on a rock")
    assert placement(image) == (second.account_id, second.site_id, second.sector_id)
    assert (image.content_id, image.content_title, image.task_id, image.task_title) == (
        content.id, "Trail shoes guide", 0, "")
    assert (image.status, image.image_type, image.prompt) == (images_pb2.IMAGE_STATUS_PENDING, FEATURED,
                                                              "A shoe on a rock")
    assert image.etag and image.HasField("create_time") and not image.HasField("delete_time")
    got = await images_stub(channel).GetImage(images_pb2.GetImageRequest(id=image.id),
                                              metadata=owner.metadata(site=False, sector=False))
    assert got == image


async def test_image_under_task_carries_the_task_title(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    task = await make_task(channel, owner, title="Write about tents")
    image = await make_image(channel, owner, task_id=task.id)
    assert (image.task_id, image.task_title, image.content_id) == (task.id, "Write about tents", 0)
    assert placement(image) == (owner.account_id, owner.site_id, owner.sector_id)


async def test_image_with_its_contents_task_is_accepted(channel: Channel, tenants: TenantFactory, db: Database) -> None:
    owner = await tenants.account()
    task = await make_task(channel, owner, title="The task")
    content = await insert_content(db, owner, title="The content", task_id=task.id)
    image = await make_image(channel, owner, content_id=content.id, task_id=task.id)
    assert (image.content_title, image.task_title) == ("The content", "The task")


async def test_content_and_task_of_different_sectors_are_refused(
    channel: Channel, tenants: TenantFactory, db: Database
) -> None:
    owner = await tenants.account()
    other_sector = await tenants.sector(owner)
    task = await make_task(channel, owner)
    content = await insert_content(db, other_sector)
    call = make_image(channel, owner, metadata=owner.metadata(sector=False), content_id=content.id, task_id=task.id)
    error = await expect_error(call, grpc.StatusCode.FAILED_PRECONDITION)
    assert error.info.reason == "TENANCY_MISMATCH"


async def test_content_written_for_another_task_is_refused(
    channel: Channel, tenants: TenantFactory, db: Database
) -> None:
    owner = await tenants.account()
    task, other_task = await make_task(channel, owner), await make_task(channel, owner)
    content = await insert_content(db, owner, task_id=other_task.id)
    error = await expect_error(make_image(channel, owner, content_id=content.id, task_id=task.id),
                               grpc.StatusCode.FAILED_PRECONDITION)
    assert error.info.reason == "CONTENT_TASK_MISMATCH"


async def test_parents_outside_the_callers_scope_are_not_found(
    channel: Channel, tenants: TenantFactory, db: Database
) -> None:
    owner, stranger = await tenants.account(), await tenants.account()
    foreign_content = await insert_content(db, stranger)
    foreign_task = await make_task(channel, stranger)
    for fields in ({"content_id": foreign_content.id}, {"task_id": foreign_task.id}, {"content_id": 10**12}):
        await expect_error(make_image(channel, owner, **fields), NOT_FOUND)
    other_site = await tenants.site(owner)
    content = await insert_content(db, other_site)
    error = await expect_error(make_image(channel, owner, content_id=content.id), NOT_FOUND)  # x-site-id narrows
    assert error.detail(error_details_pb2.ResourceInfo).resource_type == "Content"


async def test_image_without_parent_is_placed_by_the_request(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    second = await tenants.site(owner)
    image = await make_image(channel, owner, metadata=owner.metadata(site=False, sector=False),
                             site_id=second.site_id, sector_id=second.sector_id)
    assert placement(image) == (owner.account_id, second.site_id, second.sector_id)
    headers = await make_image(channel, second)
    assert placement(headers) == (owner.account_id, second.site_id, second.sector_id)


async def test_image_without_parent_or_placement_uses_the_active_site_default_sector(
    channel: Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    image = await make_image(channel, owner, metadata=owner.metadata(site=False, sector=False))
    assert placement(image) == (owner.account_id, owner.site_id, owner.sector_id)


async def test_sector_of_another_site_is_invalid(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    second = await tenants.site(owner)
    call = make_image(channel, owner, metadata=owner.metadata(site=False, sector=False),
                      site_id=owner.site_id, sector_id=second.sector_id)
    assert fields_of(await expect_error(call, INVALID)) == ["sector_id"]


async def test_create_requires_an_image_type(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    error = await expect_error(make_image(channel, owner, image_type=images_pb2.IMAGE_TYPE_UNSPECIFIED), INVALID)
    assert fields_of(error) == ["image.image_type"]


async def test_create_names_every_field_over_its_limit(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    call = make_image(channel, owner, prompt="p" * 4001, caption="c" * 1001, alt_text="a" * 501,
                      image_url="https://x.test/" + "u" * 2000)
    error = await expect_error(call, INVALID)
    assert fields_of(error) == ["image.image_url", "image.prompt", "image.alt_text", "image.caption"]
    at_limit = await make_image(channel, owner, prompt="p" * 4000, caption="c" * 1000, alt_text="a" * 500)
    assert len(at_limit.prompt) == 4000
    await expect_error(make_image(channel, owner, position=-1), INVALID)


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:image/png;base64,AAAA", "//evil.test/x.png",
                                 "ftp://x.test/a.png", "https://", "images/a.png"])
async def test_image_url_must_be_http_or_a_path(channel: Channel, tenants: TenantFactory, url: str) -> None:
    owner = await tenants.account()
    assert fields_of(await expect_error(make_image(channel, owner, image_url=url), INVALID)) == ["image.image_url"]
    for fine in ("https://cdn.test/a.png", "http://cdn.test/a.png", "/v1/images/1/file"):
        assert (await make_image(channel, owner, image_url=fine)).image_url == fine


async def test_create_ignores_output_only_fields(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    image = await make_image(channel, owner, status=images_pb2.IMAGE_STATUS_GENERATED, image_path="../../etc/passwd",
                             width=10, file_size=99, account_id=owner.account_id + 1000)
    assert (image.status, image.image_path, image.width, image.file_size, image.account_id) == (
        images_pb2.IMAGE_STATUS_PENDING, "", 0, 0, owner.account_id)


async def test_images_of_a_content_are_appended_after_its_last_position(
    channel: Channel, tenants: TenantFactory, db: Database
) -> None:
    owner = await tenants.account()
    content = await insert_content(db, owner)
    first = await make_image(channel, owner, content_id=content.id)
    second = await make_image(channel, owner, content_id=content.id, image_type=IN_ARTICLE)
    placed = await make_image(channel, owner, content_id=content.id, image_type=IN_ARTICLE, position=7)
    after = await make_image(channel, owner, content_id=content.id, image_type=IN_ARTICLE)
    assert [first.position, second.position, placed.position, after.position] == [0, 1, 7, 8]


async def test_create_with_the_same_request_id_makes_one_image(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    request_id = str(uuid.uuid4())
    first = await make_image(channel, owner, request_id=request_id, prompt="once")
    again = await make_image(channel, owner, request_id=request_id, prompt="once")
    assert again == first
    await expect_error(make_image(channel, owner, request_id="not-a-uuid"), INVALID)


async def test_get_image_of_another_account_is_not_found(channel: Channel, tenants: TenantFactory) -> None:
    owner, stranger = await tenants.account(), await tenants.account()
    image = await make_image(channel, owner)
    error = await expect_error(images_stub(channel).GetImage(images_pb2.GetImageRequest(id=image.id),
                                                             metadata=stranger.metadata()), NOT_FOUND)
    assert error.detail(error_details_pb2.ResourceInfo).resource_name == str(image.id)
    await expect_error(images_stub(channel).GetImage(images_pb2.GetImageRequest(), metadata=owner.metadata()),
                       INVALID)


async def test_update_changes_only_the_masked_fields(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    image = await make_image(channel, owner, prompt="old prompt", caption="old caption")
    change = images_pb2.Image(id=image.id, etag=image.etag, prompt="new prompt", caption="ignored",
                              image_type=IN_ARTICLE, position=3)
    updated = await images_stub(channel).UpdateImage(update_request(change, "prompt", "image_type", "position"),
                                                     metadata=owner.metadata())
    assert (updated.prompt, updated.caption, updated.image_type, updated.position) == (
        "new prompt", "old caption", IN_ARTICLE, 3)
    assert updated.etag != image.etag


@pytest.mark.parametrize("path", ["status", "image_path", "width", "format", "content_id", "task_id", "etag", "nope"])
async def test_update_of_output_only_or_unknown_fields_is_invalid(
    channel: Channel, tenants: TenantFactory, path: str
) -> None:
    owner = await tenants.account()
    image = await make_image(channel, owner)
    change = images_pb2.Image(id=image.id, status=images_pb2.IMAGE_STATUS_GENERATED)
    error = await expect_error(images_stub(channel).UpdateImage(update_request(change, path),
                                                                metadata=owner.metadata()), INVALID)
    assert fields_of(error) == ["update_mask"]


async def test_update_checks_limits_type_and_etag(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    image = await make_image(channel, owner)
    stub = images_stub(channel)
    too_long = images_pb2.Image(id=image.id, caption="c" * 1001)
    assert fields_of(await expect_error(stub.UpdateImage(update_request(too_long, "caption"),
                                                         metadata=owner.metadata()), INVALID)) == ["image.caption"]
    no_type = images_pb2.Image(id=image.id)
    await expect_error(stub.UpdateImage(update_request(no_type, "image_type"), metadata=owner.metadata()), INVALID)
    await expect_error(stub.UpdateImage(update_request(no_type), metadata=owner.metadata()), INVALID)
    await stub.UpdateImage(update_request(images_pb2.Image(id=image.id, etag=image.etag, prompt="x"), "prompt"),
                           metadata=owner.metadata())
    stale = images_pb2.Image(id=image.id, etag=image.etag, prompt="y")
    error = await expect_error(stub.UpdateImage(update_request(stale, "prompt"), metadata=owner.metadata()),
                               grpc.StatusCode.ABORTED)
    assert error.info.reason == "ETAG_MISMATCH"


async def test_viewer_cannot_update(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    viewer = await tenants.user(owner, "viewer")
    image = await make_image(channel, owner)
    await images_stub(channel).GetImage(images_pb2.GetImageRequest(id=image.id), metadata=viewer.metadata())
    change = update_request(images_pb2.Image(id=image.id, prompt="x"), "prompt")
    await expect_error(images_stub(channel).UpdateImage(change, metadata=viewer.metadata()),
                       grpc.StatusCode.PERMISSION_DENIED)


async def test_delete_is_soft_and_undelete_restores(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    image = await make_image(channel, owner)
    stub, md = images_stub(channel), owner.metadata()
    await expect_error(stub.DeleteImage(images_pb2.DeleteImageRequest(id=image.id, etag='W/"99"'), metadata=md),
                       grpc.StatusCode.ABORTED)
    deleted = await stub.DeleteImage(images_pb2.DeleteImageRequest(id=image.id, etag=image.etag), metadata=md)
    assert deleted.HasField("delete_time")
    assert (await stub.GetImage(images_pb2.GetImageRequest(id=image.id), metadata=md)).HasField("delete_time")
    await expect_error(stub.DeleteImage(images_pb2.DeleteImageRequest(id=image.id), metadata=md), NOT_FOUND)
    await expect_error(stub.UpdateImage(update_request(images_pb2.Image(id=image.id, prompt="x"), "prompt"),
                                        metadata=md), NOT_FOUND)
    restored = await stub.UndeleteImage(images_pb2.UndeleteImageRequest(id=image.id, etag=deleted.etag), metadata=md)
    assert not restored.HasField("delete_time")
    error = await expect_error(stub.UndeleteImage(images_pb2.UndeleteImageRequest(id=image.id), metadata=md),
                               grpc.StatusCode.FAILED_PRECONDITION)
    assert error.info.reason == "NOT_DELETED"


async def make_images(channel: Channel, owner: Tenant, count: int, **fields: object) -> list[images_pb2.Image]:
    return [await make_image(channel, owner, **fields) for _ in range(count)]  # type: ignore[arg-type]


async def test_batch_delete_deletes_all_in_request_order(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    made = await make_images(channel, owner, 3)
    ids = [made[2].id, made[0].id, made[1].id]
    answer = await images_stub(channel).BatchDeleteImages(images_pb2.BatchDeleteImagesRequest(ids=ids),
                                                          metadata=owner.metadata())
    assert [i.id for i in answer.images] == ids and all(i.HasField("delete_time") for i in answer.images)


@pytest.mark.parametrize(("ids", "why"), [([], "empty"), (list(range(1, 102)), "too many"), ([0], "zero")])
async def test_batch_delete_rejects_bad_id_lists(channel: Channel, tenants: TenantFactory, ids: list[int],
                                                 why: str) -> None:
    owner = await tenants.account()
    await expect_error(images_stub(channel).BatchDeleteImages(images_pb2.BatchDeleteImagesRequest(ids=ids),
                                                              metadata=owner.metadata()), INVALID)


async def test_batch_delete_is_all_or_nothing(channel: Channel, tenants: TenantFactory) -> None:
    owner, stranger = await tenants.account(), await tenants.account()
    mine = await make_images(channel, owner, 2)
    theirs = await make_image(channel, stranger)
    stub, md = images_stub(channel), owner.metadata()
    duplicated = images_pb2.BatchDeleteImagesRequest(ids=[mine[0].id, mine[1].id, mine[0].id])
    assert fields_of(await expect_error(stub.BatchDeleteImages(duplicated, metadata=md), INVALID)) == ["ids"]
    foreign = images_pb2.BatchDeleteImagesRequest(ids=[mine[0].id, theirs.id, mine[1].id, 10**12])
    error = await expect_error(stub.BatchDeleteImages(foreign, metadata=md), NOT_FOUND)
    assert error.info.metadata["missing_ids"] == f"{theirs.id},{10**12}"
    await stub.DeleteImage(images_pb2.DeleteImageRequest(id=mine[1].id), metadata=md)
    error = await expect_error(stub.BatchDeleteImages(images_pb2.BatchDeleteImagesRequest(
        ids=[mine[0].id, mine[1].id]), metadata=md), NOT_FOUND)
    assert error.info.metadata["missing_ids"] == str(mine[1].id)
    still = await stub.GetImage(images_pb2.GetImageRequest(id=mine[0].id), metadata=md)
    assert not still.HasField("delete_time")
