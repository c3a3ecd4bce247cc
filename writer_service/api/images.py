"""ImagesService: proto in, service call, proto out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, TypeAlias

import grpc

from igny8.writer.v1 import images_pb2, images_pb2_grpc
from writer_service.api.convert import from_proto, list_query, present, to_proto
from writer_service.api.jobs import job_with_items
from writer_service.db.models import Image
from writer_service.domain.errors import InvalidArgument
from writer_service.services import image_generation, images, images_files
from writer_service.storage import LocalMediaStorage
from writer_service.tenancy.context import current_tenant

if TYPE_CHECKING:
    from writer_service.api.server import Runtime

Context: TypeAlias = grpc.aio.ServicerContext


def image_message(row: Image) -> images_pb2.Image:
    """An Image message, with the titles of its content and task."""
    return to_proto(images_pb2.Image, row, content_title=row.content.title if row.content else "",
                    task_title=row.task.title if row.task else "")


async def upload_parts(
    messages: AsyncIterator[images_pb2.UploadImageFileRequest],
) -> tuple[images_pb2.UploadImageFileMetadata, AsyncIterator[bytes]]:
    """The metadata of an upload stream (its first message) and its chunks (every later one)."""
    first = await anext(messages, None)
    if first is None or first.WhichOneof("payload") != "metadata":
        raise InvalidArgument.of("metadata", "the first message must carry the metadata")

    async def chunks() -> AsyncIterator[bytes]:
        async for message in messages:
            if message.WhichOneof("payload") != "chunk":
                raise InvalidArgument.of("metadata", "only the first message may carry metadata")
            yield message.chunk

    return first.metadata, chunks()


class ImagesServicer(images_pb2_grpc.ImagesServiceServicer):
    """Each method turns its request into plain arguments and its answer into a message."""

    def __init__(self, runtime: Runtime) -> None:
        self.db = runtime.db
        self.generation = runtime.generation
        self.storage = LocalMediaStorage(runtime.settings.resolved_media_root())

    async def CreateImage(self, request: images_pb2.CreateImageRequest, context: Context) -> images_pb2.Image:  # noqa: N802
        row = await images.create_image(
            self.db, current_tenant(), values=present(from_proto(request.image, images.CREATE_FIELDS)),
            site_id=request.site_id, sector_id=request.sector_id, request_id=request.request_id,
        )
        return image_message(row)

    async def GetImage(self, request: images_pb2.GetImageRequest, context: Context) -> images_pb2.Image:  # noqa: N802
        return image_message(await images.get_image(self.db, current_tenant(), image_id=request.id))

    async def UpdateImage(self, request: images_pb2.UpdateImageRequest, context: Context) -> images_pb2.Image:  # noqa: N802
        row = await images.update_image(
            self.db, current_tenant(), image_id=request.image.id, etag=request.image.etag,
            paths=list(request.update_mask.paths), values=from_proto(request.image, images.UPDATABLE),
        )
        return image_message(row)

    async def DeleteImage(self, request: images_pb2.DeleteImageRequest, context: Context) -> images_pb2.Image:  # noqa: N802
        row = await images.delete_image(self.db, current_tenant(), image_id=request.id, etag=request.etag)
        return image_message(row)

    async def UndeleteImage(  # noqa: N802
        self, request: images_pb2.UndeleteImageRequest, context: Context
    ) -> images_pb2.Image:
        row = await images.undelete_image(self.db, current_tenant(), image_id=request.id, etag=request.etag)
        return image_message(row)

    async def ListImages(  # noqa: N802
        self, request: images_pb2.ListImagesRequest, context: Context
    ) -> images_pb2.ListImagesResponse:
        page = await images.list_images(self.db, current_tenant(), query=list_query(request))
        return images_pb2.ListImagesResponse(images=[image_message(r) for r in page.items],
                                             next_page_token=page.next_page_token)

    async def BatchDeleteImages(  # noqa: N802
        self, request: images_pb2.BatchDeleteImagesRequest, context: Context
    ) -> images_pb2.BatchDeleteImagesResponse:
        rows = await images.batch_delete_images(self.db, current_tenant(), ids=list(request.ids))
        return images_pb2.BatchDeleteImagesResponse(images=[image_message(r) for r in rows])

    async def ListImagesGroupedByContent(  # noqa: N802
        self, request: images_pb2.ListImagesGroupedByContentRequest, context: Context
    ) -> images_pb2.ListImagesGroupedByContentResponse:
        page = await images.list_image_groups(self.db, current_tenant(), query=list_query(request))
        groups = [
            images_pb2.ContentImageGroup(content_id=g.content.id, content_title=g.content.title,
                                         images=[image_message(r) for r in g.images])
            for g in page.items
        ]
        return images_pb2.ListImagesGroupedByContentResponse(groups=groups, next_page_token=page.next_page_token)

    async def GetImageFile(  # noqa: N802
        self, request: images_pb2.GetImageFileRequest, context: Context
    ) -> AsyncIterator[images_pb2.ImageFileChunk]:
        image_file = await images_files.open_image_file(self.db, self.storage, image_id=request.image_id,
                                                        chunk_size=request.chunk_size)
        async with image_file:
            first = True
            async for offset, data in image_file.pieces():
                header: dict[str, Any] = {"content_type": image_file.content_type, "total_size": image_file.size}
                yield images_pb2.ImageFileChunk(data=data, offset=offset, **(header if first else {}))
                first = False

    async def UploadImageFile(  # noqa: N802
        self, request_iterator: AsyncIterator[images_pb2.UploadImageFileRequest], context: Context
    ) -> images_pb2.Image:
        metadata, chunks = await upload_parts(request_iterator)
        row = await images_files.upload_image_file(
            self.db, self.storage, current_tenant(), image_id=metadata.image_id, content_type=metadata.content_type,
            etag=metadata.etag, filename=metadata.filename, chunks=chunks,
        )
        return image_message(row)

    async def GenerateImagePrompts(  # noqa: N802
        self, request: images_pb2.GenerateImagePromptsRequest, context: Context
    ) -> images_pb2.GenerateImagePromptsResponse:
        job = await image_generation.generate_image_prompts(
            self.generation, current_tenant(), content_ids=list(request.content_ids),
            max_in_article=request.max_in_article_images, request_id=request.request_id, wait=request.wait,
        )
        return images_pb2.GenerateImagePromptsResponse(job=job_with_items(job))

    async def GenerateImages(  # noqa: N802
        self, request: images_pb2.GenerateImagesRequest, context: Context
    ) -> images_pb2.GenerateImagesResponse:
        job = await image_generation.generate_images(
            self.generation, current_tenant(), image_ids=list(request.image_ids),
            content_ids=list(request.content_ids), request_id=request.request_id, wait=request.wait,
        )
        return images_pb2.GenerateImagesResponse(job=job_with_items(job))
