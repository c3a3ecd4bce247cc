"""Images made through ImagesService, their files uploaded and read back through it, real image bytes
made with Pillow, and content rows for images to belong to."""

from __future__ import annotations

import io
import os
from collections.abc import AsyncIterator
from typing import Any

import grpc
from PIL import Image as PILImage

from igny8.writer.v1 import images_pb2, images_pb2_grpc
from tests.conftest import Tenant, unique
from tests.factories.planner import Metadata
from writer_service.db.database import Database
from writer_service.db.models import Content


def images_stub(channel: grpc.aio.Channel) -> images_pb2_grpc.ImagesServiceStub:
    """An ImagesService client."""
    return images_pb2_grpc.ImagesServiceStub(channel)


def image_bytes(kind: str = "PNG", size: tuple[int, int] = (8, 6), *, noise: bool = False) -> bytes:
    """A real image file of Pillow format `kind` ("PNG", "JPEG", "WEBP", "GIF"); with `noise`, random
    pixels that do not compress (a 256x256 noise PNG is about 200 KB)."""
    if noise:
        picture = PILImage.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    else:
        picture = PILImage.new("RGB", size, (200, 80, 20))
    out = io.BytesIO()
    picture.save(out, format=kind)
    return out.getvalue()


async def insert_content(db: Database, tenant: Tenant, *, title: str | None = None, task_id: int | None = None,
                         site_id: int | None = None, sector_id: int | None = None) -> Content:
    """A draft content row in the tenant's site and sector, written straight into the table (so image
    tests do not depend on ContentService)."""
    async with db.transaction() as session:
        content = Content(account_id=tenant.account_id, site_id=site_id or tenant.site_id,
                          sector_id=sector_id or tenant.sector_id, title=title or unique("content"), task_id=task_id)
        session.add(content)
        await session.flush()
        return content


async def make_image(channel: grpc.aio.Channel, tenant: Tenant, *, metadata: Metadata | None = None,
                     site_id: int = 0, sector_id: int = 0, request_id: str = "", **fields: Any) -> images_pb2.Image:
    """An image (featured unless `image_type` is given); the other fields are Image fields."""
    fields.setdefault("image_type", images_pb2.IMAGE_TYPE_FEATURED)
    request = images_pb2.CreateImageRequest(image=images_pb2.Image(**fields), site_id=site_id, sector_id=sector_id,
                                            request_id=request_id)
    return await images_stub(channel).CreateImage(request, metadata=tenant.metadata() if metadata is None else metadata)


def upload_messages(image_id: int, data: bytes, *, content_type: str = "image/png", chunk_size: int = 64 * 1024,
                    etag: str = "", filename: str = "picture") -> list[images_pb2.UploadImageFileRequest]:
    """The messages of an upload: the metadata, then `data` in chunks."""
    head = images_pb2.UploadImageFileRequest(metadata=images_pb2.UploadImageFileMetadata(
        image_id=image_id, content_type=content_type, etag=etag, filename=filename))
    return [head, *(images_pb2.UploadImageFileRequest(chunk=data[i:i + chunk_size])
                    for i in range(0, len(data), chunk_size))]


async def stream(messages: list[images_pb2.UploadImageFileRequest]) -> AsyncIterator[images_pb2.UploadImageFileRequest]:
    """The messages as a client stream."""
    for message in messages:
        yield message


async def upload_file(channel: grpc.aio.Channel, tenant: Tenant, image_id: int, data: bytes, *,
                      metadata: Metadata | None = None, **options: Any) -> images_pb2.Image:
    """Upload `data` as the image's file (options: content_type, chunk_size, etag, filename)."""
    call = images_stub(channel).UploadImageFile(stream(upload_messages(image_id, data, **options)),
                                                metadata=tenant.metadata() if metadata is None else metadata)
    return await call


async def download_chunks(channel: grpc.aio.Channel, image_id: int, *, chunk_size: int = 0,
                          metadata: Metadata = ()) -> list[images_pb2.ImageFileChunk]:
    """Every chunk GetImageFile streams for the image (no API key unless `metadata` has one)."""
    request = images_pb2.GetImageFileRequest(image_id=image_id, chunk_size=chunk_size)
    return [chunk async for chunk in images_stub(channel).GetImageFile(request, metadata=metadata)]
