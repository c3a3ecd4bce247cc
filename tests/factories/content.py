"""Content made through the real ContentService, publishable bodies, and the rows around content
that have no RPC of their own (task attributes and cluster maps, images in a given status)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import grpc
from google.protobuf import field_mask_pb2

from igny8.writer.v1 import common_pb2, content_pb2, content_pb2_grpc
from tests.conftest import Tenant, unique
from tests.factories.planner import Metadata
from writer_service.db.database import Database
from writer_service.db.models import ContentAttribute, ContentClusterMap, Image

KEYWORD = "solar panels"
FILLER_TEXT = "a small home can cut its power bill with clean energy made on the roof every sunny day and sell"
FILLER = FILLER_TEXT.split()
META_TITLE = "Solar panels for small homes: a buyer's guide"
META_DESCRIPTION = ("How to choose solar panels for a small home: sizes, prices, installers and the subsidies "
                    "that make the roof pay for itself within years.")


def filler(n: int) -> str:
    """n words of plain text without the keyword."""
    return " ".join(FILLER[i % len(FILLER)] for i in range(n))


def good_html(sections: int = 3, words_per_section: int = 120) -> str:
    """A body that passes every check: keyword in the intro and the H2s (about 1.5%), alt texts,
    a subheading every 120 words; about 420 words."""
    intro = f"<p>Solar panels pay for themselves. {filler(40)}</p>"
    parts = [f"<h2>Choosing solar panels, part {i}</h2><p>{filler(words_per_section)} with solar panels.</p>"
             for i in range(sections)]
    return intro + "".join(parts) + '<img src="roof.png" alt="Solar panels on a roof">'


def publishable_fields(**fields: Any) -> dict[str, Any]:
    """Content fields with which no check fails (a featured image aside, which only warns)."""
    return {"title": "Solar panels for small homes", "content_html": good_html(), "meta_title": META_TITLE,
            "meta_description": META_DESCRIPTION, "primary_keyword": KEYWORD, **fields}


def content_stub(channel: grpc.aio.Channel) -> content_pb2_grpc.ContentServiceStub:
    """A ContentService client."""
    return content_pb2_grpc.ContentServiceStub(channel)


def content_message(**fields: Any) -> content_pb2.Content:
    """A Content message: a post with a unique title unless `fields` say otherwise."""
    fields.setdefault("title", unique("content"))
    fields.setdefault("content_type", common_pb2.CONTENT_TYPE_POST)
    metadata = fields.pop("external_metadata", None)
    message = content_pb2.Content(**fields)
    if metadata is not None:
        message.external_metadata.update(metadata)
    return message


async def make_content(channel: grpc.aio.Channel, tenant: Tenant, *, metadata: Metadata | None = None,
                       site_id: int = 0, sector_id: int = 0, request_id: str = "",
                       taxonomy_term_ids: Sequence[int] = (), **fields: Any) -> content_pb2.Content:
    """Content in the tenant's site and sector; the other fields are Content fields
    (`external_metadata` a dict)."""
    request = content_pb2.CreateContentRequest(content=content_message(**fields), site_id=site_id,
                                               sector_id=sector_id, request_id=request_id,
                                               taxonomy_term_ids=list(taxonomy_term_ids))
    return await content_stub(channel).CreateContent(request, metadata=metadata or tenant.metadata())


async def update_content(channel: grpc.aio.Channel, tenant: Tenant, content: content_pb2.Content, paths: list[str],
                         **fields: Any) -> content_pb2.Content:
    """UpdateContent of `paths` with `fields` (and the content's etag unless `etag` is given)."""
    fields.setdefault("etag", content.etag)
    message = content_message(id=content.id, **fields)
    request = content_pb2.UpdateContentRequest(content=message, update_mask=field_mask_pb2.FieldMask(paths=paths))
    return await content_stub(channel).UpdateContent(request, metadata=tenant.metadata())


async def to_review(channel: grpc.aio.Channel, tenant: Tenant, content: content_pb2.Content) -> content_pb2.Content:
    """The content moved from draft to review."""
    return await content_stub(channel).SubmitContentForReview(
        content_pb2.SubmitContentForReviewRequest(id=content.id), metadata=tenant.metadata())


async def insert_image(db: Database, tenant: Tenant, *, content_id: int, image_type: str = "featured",
                       status: str = "pending") -> int:
    """An image of the content in any status, written straight into the table; its id."""
    async with db.transaction() as session:
        image = Image(account_id=tenant.account_id, site_id=tenant.site_id, sector_id=tenant.sector_id,
                      content_id=content_id, image_type=image_type, status=status)
        session.add(image)
        await session.flush()
        return image.id


async def insert_task_attribute(db: Database, tenant: Tenant, *, task_id: int, name: str, value: str = "",
                                attribute_type: str = "product_spec") -> None:
    """An attribute of a task (no RPC makes them), written straight into the table."""
    async with db.transaction() as session:
        session.add(ContentAttribute(account_id=tenant.account_id, site_id=tenant.site_id,
                                     sector_id=tenant.sector_id, task_id=task_id, attribute_type=attribute_type,
                                     name=name, value=value, source="planner"))


async def insert_task_cluster_map(db: Database, tenant: Tenant, *, task_id: int, cluster_id: int, role: str,
                                  source: str = "blueprint") -> None:
    """The role a task plays in its cluster (no RPC makes them), written straight into the table."""
    async with db.transaction() as session:
        session.add(ContentClusterMap(account_id=tenant.account_id, site_id=tenant.site_id,
                                      sector_id=tenant.sector_id, task_id=task_id, cluster_id=cluster_id,
                                      role=role, source=source))
