"""Image files: UploadImageFile (client stream, tenant scoped, checked) and GetImageFile (server stream,
public, only from inside the media root), through the real gRPC stack, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import TypeAlias

import grpc
import pytest
from google.rpc import error_details_pb2
from sqlalchemy import update

from igny8.writer.v1 import content_pb2, images_pb2
from tests.conftest import Tenant, TenantFactory
from tests.factories.content import content_stub, make_content, publishable_fields, to_review
from tests.factories.images import (
    download_chunks,
    image_bytes,
    images_stub,
    make_image,
    stream,
    upload_file,
    upload_messages,
)
from tests.rich import expect_error
from writer_service.db.database import Database
from writer_service.db.models import Image

pytestmark = pytest.mark.asyncio(loop_scope="session")

Channel: TypeAlias = grpc.aio.Channel
INVALID, NOT_FOUND = grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND
MiB = 1024 * 1024


def stored_files(media_root: Path) -> set[Path]:
    """Every file under the media root, staging area included."""
    return {p for p in media_root.rglob("*") if p.is_file()}


async def set_columns(db: Database, image_id: int, **values: object) -> None:
    """Change an image row behind the service's back (as a tamperer or a crash would)."""
    async with db.transaction() as session:
        await session.execute(update(Image).where(Image.id == image_id).values(**values))


async def test_upload_stores_the_file_and_marks_the_image_generated(
    channel: Channel, tenants: TenantFactory, media_root: Path
) -> None:
    owner = await tenants.account()
    image = await make_image(channel, owner)
    data = image_bytes("PNG", (40, 30))
    uploaded = await upload_file(channel, owner, image.id, data, etag=image.etag)
    assert uploaded.status == images_pb2.IMAGE_STATUS_GENERATED
    assert (uploaded.format, uploaded.width, uploaded.height, uploaded.file_size) == (
        images_pb2.IMAGE_FORMAT_PNG, 40, 30, len(data))
    assert uploaded.image_path.startswith(f"images/{owner.account_id}/{image.id}/")
    assert uploaded.image_path.endswith(".png")
    assert uploaded.image_url == f"/v1/images/{image.id}/file"
    assert (media_root / uploaded.image_path).read_bytes() == data
    chunks = await download_chunks(channel, image.id)
    assert (chunks[0].content_type, chunks[0].total_size) == ("image/png", len(data))
    assert b"".join(c.data for c in chunks) == data


@pytest.mark.parametrize(("kind", "mime", "fmt"), [
    ("JPEG", "image/jpeg", images_pb2.IMAGE_FORMAT_JPEG), ("WEBP", "image/webp", images_pb2.IMAGE_FORMAT_WEBP),
])
async def test_upload_accepts_jpeg_and_webp(channel: Channel, tenants: TenantFactory, kind: str, mime: str,
                                            fmt: int) -> None:
    owner = await tenants.account()
    image = await make_image(channel, owner)
    uploaded = await upload_file(channel, owner, image.id, image_bytes(kind, (12, 9)), content_type=mime)
    assert (uploaded.format, uploaded.width, uploaded.height) == (fmt, 12, 9)
    assert (await download_chunks(channel, image.id))[0].content_type == mime


async def test_a_multi_chunk_file_streams_back_byte_exact(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    image = await make_image(channel, owner)
    data = image_bytes("PNG", (256, 256), noise=True)
    assert len(data) > 150_000
    await upload_file(channel, owner, image.id, data, chunk_size=7_000)
    chunks = await download_chunks(channel, image.id, chunk_size=16 * 1024)
    assert len(chunks) == -(-len(data) // (16 * 1024))
    assert [c.offset for c in chunks] == [i * 16 * 1024 for i in range(len(chunks))]
    assert (chunks[0].content_type, chunks[0].total_size) == ("image/png", len(data))
    assert all(not c.content_type and not c.total_size for c in chunks[1:])
    assert b"".join(c.data for c in chunks) == data
    default = await download_chunks(channel, image.id)
    assert [len(c.data) for c in default[:-1]] == [64 * 1024] * (len(default) - 1)


async def test_get_image_file_needs_no_key_and_no_tenant(channel: Channel, tenants: TenantFactory) -> None:
    owner, stranger = await tenants.account(), await tenants.account()
    image = await make_image(channel, owner)
    data = image_bytes("PNG")
    await upload_file(channel, owner, image.id, data)
    assert b"".join(c.data for c in await download_chunks(channel, image.id)) == data
    other = await download_chunks(channel, image.id, metadata=stranger.metadata())
    assert b"".join(c.data for c in other) == data


@pytest.mark.parametrize("chunk_size", [-1, 512, 1023, MiB + 1])
async def test_chunk_size_out_of_bounds_is_invalid(channel: Channel, tenants: TenantFactory, chunk_size: int) -> None:
    owner = await tenants.account()
    image = await make_image(channel, owner)
    await upload_file(channel, owner, image.id, image_bytes("PNG"))
    error = await expect_error(download_chunks(channel, image.id, chunk_size=chunk_size), INVALID)
    assert error.detail(error_details_pb2.BadRequest).field_violations[0].field == "chunk_size"


async def test_unknown_deleted_or_fileless_images_are_not_found(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    await expect_error(download_chunks(channel, 10**12), NOT_FOUND)
    pending = await make_image(channel, owner)
    error = await expect_error(download_chunks(channel, pending.id), NOT_FOUND)
    assert error.info.reason == "IMAGE_FILE_NOT_FOUND"
    assert error.detail(error_details_pb2.ResourceInfo).resource_name == str(pending.id)
    deleted = await make_image(channel, owner)
    await upload_file(channel, owner, deleted.id, image_bytes("PNG"))
    await images_stub(channel).DeleteImage(images_pb2.DeleteImageRequest(id=deleted.id), metadata=owner.metadata())
    await expect_error(download_chunks(channel, deleted.id), NOT_FOUND)


async def test_a_file_missing_on_disk_is_not_found(
    channel: Channel, tenants: TenantFactory, media_root: Path
) -> None:
    owner = await tenants.account()
    image = await make_image(channel, owner)
    uploaded = await upload_file(channel, owner, image.id, image_bytes("PNG"))
    (media_root / uploaded.image_path).unlink()
    error = await expect_error(download_chunks(channel, image.id), NOT_FOUND)
    assert error.info.reason == "IMAGE_FILE_NOT_FOUND"


@pytest.mark.parametrize("tampered", ["../../etc/passwd", "/etc/passwd", "images/../../../etc/passwd",
                                      ".staging/x.part", "images/%2e%2e/x"])
async def test_a_tampered_stored_path_is_not_found_never_the_file(
    channel: Channel, tenants: TenantFactory, db: Database, tampered: str
) -> None:
    owner = await tenants.account()
    image = await make_image(channel, owner)
    await upload_file(channel, owner, image.id, image_bytes("PNG"))
    await set_columns(db, image.id, image_path=tampered)
    error = await expect_error(download_chunks(channel, image.id), NOT_FOUND)
    assert "passwd" not in error.message and "root" not in error.message


async def test_a_symlink_out_of_the_media_root_is_not_followed(
    channel: Channel, tenants: TenantFactory, db: Database, media_root: Path, tmp_path: Path
) -> None:
    owner = await tenants.account()
    image = await make_image(channel, owner)
    secret = tmp_path / "secret.png"
    secret.write_bytes(image_bytes("PNG"))
    link = media_root / "images" / f"link-{image.id}-{tmp_path.name}.png"
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(secret)
    await set_columns(db, image.id, image_path=str(link.relative_to(media_root)), format="png")
    await expect_error(download_chunks(channel, image.id), NOT_FOUND)


async def test_an_upload_over_20_mib_is_invalid_and_stores_nothing(
    channel: Channel, tenants: TenantFactory, db: Database, media_root: Path
) -> None:
    owner = await tenants.account()
    image = await make_image(channel, owner)
    before = stored_files(media_root)
    oversized = image_bytes("PNG") + bytes(20 * MiB)
    error = await expect_error(upload_file(channel, owner, image.id, oversized, chunk_size=MiB), INVALID)
    assert error.info.reason == "FILE_TOO_LARGE"
    assert stored_files(media_root) == before
    after = await images_stub(channel).GetImage(images_pb2.GetImageRequest(id=image.id), metadata=owner.metadata())
    assert after == image


@pytest.mark.parametrize(("data", "content_type", "field"), [
    (image_bytes("PNG"), "image/jpeg", "metadata.content_type"),
    (image_bytes("JPEG"), "image/webp", "metadata.content_type"),
    (image_bytes("GIF"), "image/png", "chunk"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/png", "chunk"),
    (image_bytes("PNG")[:60], "image/png", "chunk"),
    (b"", "image/png", "chunk"),
    (image_bytes("GIF"), "image/gif", "metadata.content_type"),
], ids=["png-as-jpeg", "jpeg-as-webp", "gif", "svg", "truncated", "empty", "gif-declared"])
async def test_an_upload_must_be_what_it_says_and_an_accepted_format(
    channel: Channel, tenants: TenantFactory, media_root: Path, data: bytes, content_type: str, field: str
) -> None:
    owner = await tenants.account()
    image = await make_image(channel, owner)
    before = stored_files(media_root)
    error = await expect_error(upload_file(channel, owner, image.id, data, content_type=content_type), INVALID)
    assert error.detail(error_details_pb2.BadRequest).field_violations[0].field == field
    assert stored_files(media_root) == before


async def test_replacing_a_file_removes_the_old_one(channel: Channel, tenants: TenantFactory, media_root: Path) -> None:
    owner = await tenants.account()
    image = await make_image(channel, owner)
    first = await upload_file(channel, owner, image.id, image_bytes("PNG", (5, 5)))
    second = await upload_file(channel, owner, image.id, image_bytes("WEBP", (6, 4)), content_type="image/webp",
                               etag=first.etag)
    assert second.image_path != first.image_path and second.format == images_pb2.IMAGE_FORMAT_WEBP
    assert not (media_root / first.image_path).exists()
    assert (media_root / second.image_path).is_file()


async def test_a_failed_image_becomes_generated_by_an_upload(
    channel: Channel, tenants: TenantFactory, db: Database
) -> None:
    owner = await tenants.account()
    image = await make_image(channel, owner)
    await set_columns(db, image.id, status="failed", failure_reason="provider timed out")
    uploaded = await upload_file(channel, owner, image.id, image_bytes("PNG"))
    assert (uploaded.status, uploaded.failure_reason) == (images_pb2.IMAGE_STATUS_GENERATED, "")


async def test_upload_is_scoped_to_images_the_caller_may_write(
    channel: Channel, tenants: TenantFactory, media_root: Path
) -> None:
    owner, stranger = await tenants.account(), await tenants.account()
    viewer = await tenants.user(owner, "viewer")
    image = await make_image(channel, owner)
    before = stored_files(media_root)
    data = image_bytes("PNG")
    await expect_error(upload_file(channel, stranger, image.id, data), NOT_FOUND)
    await expect_error(upload_file(channel, viewer, image.id, data), grpc.StatusCode.PERMISSION_DENIED)
    await expect_error(upload_file(channel, owner, image.id, data, metadata=()), grpc.StatusCode.UNAUTHENTICATED)
    await expect_error(upload_file(channel, owner, image.id, data, etag='W/"999"'), grpc.StatusCode.ABORTED)
    await images_stub(channel).DeleteImage(images_pb2.DeleteImageRequest(id=image.id), metadata=owner.metadata())
    await expect_error(upload_file(channel, owner, image.id, data), NOT_FOUND)
    assert stored_files(media_root) == before


async def test_upload_stream_must_start_with_metadata_and_carry_it_once(
    channel: Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    image = await make_image(channel, owner)
    messages = upload_messages(image.id, image_bytes("PNG"))
    stub = images_stub(channel)
    for broken in (messages[1:], [*messages, messages[0]], []):
        error = await expect_error(stub.UploadImageFile(stream(broken), metadata=owner.metadata()), INVALID)
        assert error.detail(error_details_pb2.BadRequest).field_violations[0].field == "metadata"
    no_id = upload_messages(0, image_bytes("PNG"))
    await expect_error(stub.UploadImageFile(stream(no_id), metadata=owner.metadata()), INVALID)


async def content_status(channel: Channel, owner: Tenant, content_id: int) -> int:
    request = content_pb2.GetContentRequest(id=content_id)
    return (await content_stub(channel).GetContent(request, metadata=owner.metadata())).status


async def test_uploading_the_last_image_without_a_file_moves_draft_content_to_review(
    channel: Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    draft = await make_content(channel, owner)
    featured = await make_image(channel, owner, content_id=draft.id)
    inline = await make_image(channel, owner, content_id=draft.id, image_type=images_pb2.IMAGE_TYPE_IN_ARTICLE,
                              position=1)
    await upload_file(channel, owner, featured.id, image_bytes(), etag=featured.etag)
    assert await content_status(channel, owner, draft.id) == content_pb2.CONTENT_STATUS_DRAFT
    await upload_file(channel, owner, inline.id, image_bytes(), etag=inline.etag)
    assert await content_status(channel, owner, draft.id) == content_pb2.CONTENT_STATUS_REVIEW


async def test_an_upload_leaves_content_in_review_or_published_where_it_is(
    channel: Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    made = await make_content(channel, owner, **publishable_fields())
    published = await content_stub(channel).PublishContent(content_pb2.PublishContentRequest(
        id=(await to_review(channel, owner, made)).id), metadata=owner.metadata())
    image = await make_image(channel, owner, content_id=published.id)
    await upload_file(channel, owner, image.id, image_bytes(), etag=image.etag)
    assert await content_status(channel, owner, published.id) == content_pb2.CONTENT_STATUS_PUBLISHED
