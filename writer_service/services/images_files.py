"""Image files: streaming one out (public, by image id only) and taking one in (tenant scoped).

Stored files live under keys the service makes (`images/<account>/<image>/<uuid>.<ext>`); a key
read back from the database is checked again by the store, so a tampered row cannot make the
service read outside the media root. An upload is staged, checked (size while it streams, then
the format from the bytes), moved into place, and only then recorded; a failure on the way leaves
no file and no change to the row. The replaced file is removed after the new row is committed.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from types import TracebackType

from sqlalchemy import select

from writer_service.db.database import Database
from writer_service.db.models import Image
from writer_service.domain.changes import check_etag
from writer_service.domain.errors import InvalidArgument, NotFound
from writer_service.domain.states import check_transition
from writer_service.services.content_workflow import locked_live_content, review_when_illustrated
from writer_service.services.images import WITH_PARENTS, require_id
from writer_service.storage import (
    ImageFacts,
    MediaNotFound,
    MediaReader,
    MediaStorage,
    NotAnImage,
    StagedFile,
    UnsafeKey,
    inspect_image,
)
from writer_service.storage.inspect import EXTENSIONS, FORMATS, MIME_TYPES
from writer_service.tenancy.context import TenantContext
from writer_service.tenancy.scoping import get_scoped, scoped

log = logging.getLogger("writer_service.images")

DEFAULT_CHUNK = 64 * 1024
MIN_CHUNK = 1024
MAX_CHUNK = 1024 * 1024
MAX_UPLOAD_BYTES = 20 * 1024 * 1024  # images.proto, UploadImageFile
MIME_BY_FORMAT = {stored: mime for stored, mime, _ in FORMATS.values()}
# Where the service's own copy of an image can be fetched: the HTTP form of GetImageFile.
FILE_URL = "/v1/images/{image_id}/file"


def image_file_url(image_id: int) -> str:
    """The service's own URL of an image's stored file."""
    return FILE_URL.format(image_id=image_id)


def image_file_key(account_id: int, image_id: int, image_format: str) -> str:
    """A new storage key for an image's file (a fresh name each time, so replacing is atomic)."""
    return f"images/{account_id}/{image_id}/{uuid.uuid4().hex}.{EXTENSIONS[image_format]}"


def _file_not_found(image_id: int, why: str) -> NotFound:
    return NotFound(message=f"image {image_id} has no file", resource_type="ImageFile",
                    resource_name=str(image_id), reason="IMAGE_FILE_NOT_FOUND",
                    metadata={"resource_type": "ImageFile", "id": str(image_id), "why": why})


@dataclass
class ImageFile:
    """An open image file: its MIME type, its size, and its bytes in pieces."""

    content_type: str
    reader: MediaReader
    chunk_size: int

    @property
    def size(self) -> int:
        """Size of the file in bytes."""
        return self.reader.size

    async def pieces(self) -> AsyncIterator[tuple[int, bytes]]:
        """(offset, bytes) in order; one empty piece for an empty file."""
        offset = 0
        async for data in self.reader.chunks(self.chunk_size):
            yield offset, data
            offset += len(data)
        if offset == 0:
            yield 0, b""

    async def __aenter__(self) -> ImageFile:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:
        await self.reader.close()


def _chunk_size(requested: int) -> int:
    if requested == 0:
        return DEFAULT_CHUNK
    if not MIN_CHUNK <= requested <= MAX_CHUNK:
        raise InvalidArgument.of("chunk_size", f"must be 0 (64 KiB) or between {MIN_CHUNK} and {MAX_CHUNK} bytes")
    return requested


async def open_image_file(db: Database, storage: MediaStorage, *, image_id: int, chunk_size: int = 0) -> ImageFile:
    """The file of a live image, opened for streaming; NOT_FOUND for no image, no file, or a bad path."""
    require_id(image_id, "image_id")
    size = _chunk_size(chunk_size)
    async with db.read() as session:
        # Public by contract: no tenant scope, image URLs are embedded in published pages.
        row = (await session.execute(
            select(Image.image_path, Image.format).where(Image.id == image_id, Image.delete_time.is_(None))
        )).one_or_none()
    if row is None:
        raise NotFound.of("Image", image_id)
    if not row.image_path:
        raise _file_not_found(image_id, "none stored")
    try:
        reader = await storage.open(row.image_path)
    except UnsafeKey:
        log.warning("image %s has an unsafe stored path; refusing to serve it", image_id)
        raise _file_not_found(image_id, "missing") from None
    except MediaNotFound:
        raise _file_not_found(image_id, "missing") from None
    return ImageFile(MIME_BY_FORMAT.get(row.format or "", "application/octet-stream"), reader, size)


async def _image_to_write(db: Database, tenant: TenantContext, image_id: int, etag: str) -> Image:
    async with db.read() as session:
        image = await get_scoped(session, Image, image_id, tenant)
    check_etag(etag, image.version, resource="Image", resource_id=image.id)
    check_transition("Image", image.id, image.status, "generated")
    return image


async def _receive(staged: StagedFile, chunks: AsyncIterable[bytes]) -> None:
    async for chunk in chunks:
        if staged.size + len(chunk) > MAX_UPLOAD_BYTES:
            raise InvalidArgument.of("chunk", f"the file is larger than {MAX_UPLOAD_BYTES} bytes (20 MiB)",
                                     reason="FILE_TOO_LARGE")
        await staged.write(chunk)
    if staged.size == 0:
        raise InvalidArgument.of("chunk", "the file is empty")


def _inspect(staged: StagedFile) -> ImageFacts:
    with staged.open_read() as file:
        return inspect_image(file)


async def _check_format(staged: StagedFile, declared: str) -> ImageFacts:
    try:
        facts = await asyncio.to_thread(_inspect, staged)
    except NotAnImage as error:
        raise InvalidArgument.of("chunk", f"not a PNG, JPEG or WebP image: {error}", reason="NOT_AN_IMAGE") from None
    if facts.mime_type != declared:
        raise InvalidArgument.of("metadata.content_type",
                                 f"is {declared} but the bytes are {facts.mime_type}", reason="CONTENT_TYPE_MISMATCH")
    return facts


async def _record(db: Database, tenant: TenantContext, *, image_id: int, etag: str, key: str, facts: ImageFacts,
                  size: int) -> tuple[Image, str]:
    async with db.transaction() as session:
        # The content before the image, as image generation locks them (content_workflow).
        content_id = await session.scalar(scoped(select(Image.content_id).where(Image.id == image_id), Image, tenant))
        content = await locked_live_content(session, content_id)
        image = await get_scoped(session, Image, image_id, tenant, for_update=True, options=WITH_PARENTS)
        check_etag(etag, image.version, resource="Image", resource_id=image.id)
        check_transition("Image", image.id, image.status, "generated")
        replaced = image.image_path
        image.image_path, image.image_url, image.status, image.failure_reason = (
            key, image_file_url(image.id), "generated", "")
        image.format, image.width, image.height, image.file_size = facts.format, facts.width, facts.height, size
        await session.flush()
        if content is not None:
            await review_when_illustrated(session, content)
        return image, replaced


async def remove_file_quietly(storage: MediaStorage, key: str) -> None:
    """Delete a stored file that is no longer referenced; a failure is logged, not raised."""
    try:
        await storage.delete(key)
    except (UnsafeKey, OSError) as error:
        log.warning("could not remove media file %r: %s", key, error)


async def upload_image_file(db: Database, storage: MediaStorage, tenant: TenantContext, *, image_id: int,
                            content_type: str, chunks: AsyncIterable[bytes], etag: str = "",
                            filename: str = "") -> Image:
    """Store the caller's file for an image it may write: at most 20 MiB, PNG, JPEG or WebP as the bytes
    say; the image becomes generated with the file's facts, and its draft content goes to review when
    that was the last of its images without a file. Any previous file is removed afterwards."""
    require_id(image_id, "metadata.image_id")
    declared = content_type.strip().lower()
    if declared not in MIME_TYPES:
        raise InvalidArgument.of("metadata.content_type", "must be image/png, image/jpeg or image/webp")
    image = await _image_to_write(db, tenant, image_id, etag)  # fail before taking any byte
    async with storage.staging() as staged:
        await _receive(staged, chunks)
        facts = await _check_format(staged, declared)
        key = image_file_key(image.account_id, image.id, facts.format)
        size = staged.size
        await storage.commit(staged, key)
    try:
        image, replaced = await _record(db, tenant, image_id=image_id, etag=etag, key=key, facts=facts, size=size)
    except BaseException:
        await remove_file_quietly(storage, key)
        raise
    log.info("image %s: stored %s (%d bytes, uploaded as %r)", image_id, key, size, filename[:200])
    if replaced and replaced != key:
        await remove_file_quietly(storage, replaced)
    return image
