"""ContentService: creating and importing content, and what every Content answer carries."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2
from sqlalchemy import func, select

from igny8.writer.v1 import common_pb2, content_pb2
from tests.conftest import Tenant, TenantFactory
from tests.factories.content import (
    content_stub,
    insert_image,
    insert_task_attribute,
    insert_task_cluster_map,
    make_content,
)
from tests.factories.planner import make_cluster
from tests.factories.tasks import make_task
from tests.factories.taxonomy import TAG, make_term
from tests.rich import expect_error
from writer_service.db.database import Database
from writer_service.db.models import Content, ContentAttribute, ContentClusterMap, ContentTaxonomyLink, Task
from writer_service.services.metadata_mapping import map_task_to_content

pytestmark = pytest.mark.asyncio(loop_scope="session")

DRAFT, PUBLISHED = content_pb2.CONTENT_STATUS_DRAFT, content_pb2.CONTENT_STATUS_PUBLISHED
INVALID = grpc.StatusCode.INVALID_ARGUMENT


def fields_of(error: object) -> list[str]:
    return [v.field for v in error.detail(error_details_pb2.BadRequest).field_violations]  # type: ignore[attr-defined]


async def test_content_starts_in_draft_with_native_sync_and_its_word_count_derived_from_the_html(
    channel: grpc.aio.Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    made = await make_content(channel, owner, content_html="<h2>Two words</h2><p>and <b>three</b> more</p>"
                              "<script>not counted</script>", word_count=999, secondary_keywords=[" a ", "a", "b"])
    assert (made.status, made.source, made.sync_status) == (
        DRAFT, content_pb2.CONTENT_SOURCE_IGNY8, common_pb2.SYNC_STATUS_NATIVE)
    assert made.word_count == 5
    assert list(made.secondary_keywords) == ["a", "b"]
    assert (made.account_id, made.site_id, made.sector_id) == (owner.account_id, owner.site_id, owner.sector_id)
    assert made.content_structure == common_pb2.CONTENT_STRUCTURE_ARTICLE and made.etag
    assert not made.HasField("publish_time") and not made.HasField("delete_time")


async def test_create_requires_a_title_and_a_content_type(channel: grpc.aio.Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    request = content_pb2.CreateContentRequest(content=content_pb2.Content())
    error = await expect_error(content_stub(channel).CreateContent(request, metadata=owner.metadata()), INVALID)
    assert fields_of(error) == ["content.title", "content.content_type"]


async def test_create_answers_with_cluster_sector_and_task_names(
    channel: grpc.aio.Channel, tenants: TenantFactory, db: Database
) -> None:
    owner = await tenants.account()
    task = await make_task(channel, owner, title="Write about roofs")
    made = await make_content(channel, owner, task_id=task.id)
    assert (made.task_id, made.task_title, made.cluster_id) == (task.id, "Write about roofs", task.cluster_id)
    assert made.cluster_name == task.cluster_name and made.sector_name == task.sector_name != ""


async def test_content_goes_to_the_requested_site_and_sector(channel: grpc.aio.Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    elsewhere = await tenants.sector(owner)
    made = await make_content(channel, owner, metadata=owner.metadata(sector=False), sector_id=elsewhere.sector_id)
    assert (made.site_id, made.sector_id) == (owner.site_id, elsewhere.sector_id)


async def test_a_cluster_of_another_sector_is_invalid_and_of_another_account_not_found(
    channel: grpc.aio.Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    other_sector = await tenants.sector(owner)
    cluster = await make_cluster(channel, other_sector)
    error = await expect_error(make_content(channel, owner, metadata=owner.metadata(sector=False),
                                            sector_id=owner.sector_id, cluster_id=cluster.id), INVALID)
    assert fields_of(error) == ["content.cluster_id"]
    # Narrowed to its own sector by the header, the caller does not even see that cluster.
    await expect_error(make_content(channel, owner, cluster_id=cluster.id), grpc.StatusCode.NOT_FOUND)
    stranger = await make_cluster(channel, await tenants.account())
    await expect_error(make_content(channel, owner, cluster_id=stranger.id), grpc.StatusCode.NOT_FOUND)


async def test_content_written_for_a_task_lives_where_the_task_lives(
    channel: grpc.aio.Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    other = await tenants.sector(owner)
    task = await make_task(channel, other)
    made = await make_content(channel, owner, metadata=owner.metadata(sector=False), task_id=task.id)
    assert (made.site_id, made.sector_id, made.cluster_id) == (other.site_id, other.sector_id, task.cluster_id)
    error = await expect_error(make_content(channel, owner, metadata=owner.metadata(sector=False),
                                            sector_id=owner.sector_id, task_id=task.id), INVALID)
    assert fields_of(error) == ["content.task_id"]


async def test_a_task_out_of_scope_is_not_found(channel: grpc.aio.Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    task = await make_task(channel, await tenants.account())
    await expect_error(make_content(channel, owner, task_id=task.id), grpc.StatusCode.NOT_FOUND)


async def count_rows(db: Database, model: type, **where: int) -> int:
    async with db.read() as session:
        stmt = select(func.count()).select_from(model).where(*(getattr(model, k) == v for k, v in where.items()))
        return int(await session.scalar(stmt) or 0)


async def test_content_for_a_task_receives_its_cluster_role_term_and_attributes_once(
    channel: grpc.aio.Channel, tenants: TenantFactory, db: Database
) -> None:
    owner = await tenants.account()
    term = await make_term(channel, owner)
    task = await make_task(channel, owner, taxonomy_term_id=term.id)
    await insert_task_cluster_map(db, owner, task_id=task.id, cluster_id=task.cluster_id, role="hub")
    await insert_task_attribute(db, owner, task_id=task.id, name="wattage", value="400W")
    await insert_task_attribute(db, owner, task_id=task.id, name="warranty", value="25 years")
    made = await make_content(channel, owner, task_id=task.id)
    assert [c.id for c in made.categories] == [term.id]
    async with db.read() as session:
        maps = (await session.execute(select(ContentClusterMap).where(ContentClusterMap.content_id == made.id)))
        assert [(m.cluster_id, m.role, m.source) for m in maps.scalars()] == [(task.cluster_id, "hub", "blueprint")]
        copied = (await session.execute(select(ContentAttribute.name, ContentAttribute.value)
                                        .where(ContentAttribute.content_id == made.id)
                                        .order_by(ContentAttribute.name))).all()
        assert [tuple(row) for row in copied] == [("warranty", "25 years"), ("wattage", "400W")]
    async with db.transaction() as session:  # mapping again (as generation will) adds nothing
        await map_task_to_content(session, task=await session.get_one(Task, task.id),
                                  content=await session.get_one(Content, made.id))
    assert await count_rows(db, ContentClusterMap, content_id=made.id) == 1
    assert await count_rows(db, ContentAttribute, content_id=made.id) == 2
    assert await count_rows(db, ContentTaxonomyLink, content_id=made.id) == 1


async def test_a_task_without_cluster_map_makes_content_supporting(
    channel: grpc.aio.Channel, tenants: TenantFactory, db: Database
) -> None:
    owner = await tenants.account()
    made = await make_content(channel, owner, task_id=(await make_task(channel, owner)).id)
    async with db.read() as session:
        role = await session.scalar(select(ContentClusterMap.role).where(ContentClusterMap.content_id == made.id))
    assert role == "supporting"


async def test_an_import_mirrors_the_wordpress_post(channel: grpc.aio.Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    published = Timestamp()
    published.FromDatetime(datetime(2025, 3, 1, 12, 0, tzinfo=UTC))
    made = await make_content(
        channel, owner, source=content_pb2.CONTENT_SOURCE_WORDPRESS, status=PUBLISHED, publish_time=published,
        external_id="42", external_url="https://blog.example/solar", external_type="post",
        external_metadata={"author": "ann", "comments": 3},
    )
    assert (made.status, made.sync_status, made.publish_time) == (PUBLISHED, common_pb2.SYNC_STATUS_IMPORTED,
                                                                   published)
    assert (made.external_id, made.external_url, made.external_type) == ("42", "https://blog.example/solar", "post")
    assert dict(made.external_metadata) == {"author": "ann", "comments": 3}


async def test_a_published_import_without_publish_time_is_stamped_now(
    channel: grpc.aio.Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    made = await make_content(channel, owner, source=content_pb2.CONTENT_SOURCE_WORDPRESS, status=PUBLISHED,
                              sync_status=common_pb2.SYNC_STATUS_SYNCED)
    assert made.HasField("publish_time") and made.sync_status == common_pb2.SYNC_STATUS_SYNCED


@pytest.mark.parametrize("field", ["status", "publish_time"])
async def test_content_made_here_cannot_start_published(
    channel: grpc.aio.Channel, tenants: TenantFactory, field: str
) -> None:
    owner = await tenants.account()
    fields = {"status": {"status": content_pb2.CONTENT_STATUS_REVIEW}, "publish_time": {"publish_time": Timestamp(
        seconds=1_700_000_000)}}[field]
    error = await expect_error(make_content(channel, owner, **fields), INVALID)
    assert fields_of(error) == [f"content.{field}"]


async def test_a_retried_create_with_the_same_request_id_makes_one_content(
    channel: grpc.aio.Channel, tenants: TenantFactory, db: Database
) -> None:
    owner = await tenants.account()
    request_id, title = str(uuid.uuid4()), f"once {uuid.uuid4()}"
    first = await make_content(channel, owner, request_id=request_id, title=title)
    again = await make_content(channel, owner, request_id=request_id, title=title)
    assert again == first
    async with db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Content).where(Content.title == title)) == 1
    await expect_error(make_content(channel, owner, request_id="not-a-uuid"), INVALID)


@pytest.mark.parametrize(("field", "value"), [
    ("title", "t" * 256), ("meta_title", "m" * 256), ("meta_description", "d" * 501),
    ("primary_keyword", "k" * 256), ("content_html", "<p>" + "x" * (2 * 1024 * 1024) + "</p>"),
    ("secondary_keywords", [f"k{i}" for i in range(51)]), ("external_id", "e" * 256),
    ("external_url", "https://x.example/" + "u" * 1990), ("external_type", "p" * 65),
])
async def test_inputs_over_their_bound_are_invalid(
    channel: grpc.aio.Channel, tenants: TenantFactory, field: str, value: Any
) -> None:
    owner = await tenants.account()
    error = await expect_error(make_content(channel, owner, **{field: value}), INVALID)
    assert fields_of(error) == [f"content.{field}"]


async def test_a_secondary_keyword_over_255_characters_is_invalid(
    channel: grpc.aio.Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    error = await expect_error(make_content(channel, owner, secondary_keywords=["ok", "k" * 256]), INVALID)
    assert fields_of(error) == ["content.secondary_keywords[1]"]


async def test_terms_given_on_create_come_back_as_categories_and_tags(
    channel: grpc.aio.Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    other_sector = await tenants.sector(owner)
    category = await make_term(channel, owner, name="Energy")
    tag = await make_term(channel, other_sector, name="roofs", taxonomy_type=TAG)
    made = await make_content(channel, owner, metadata=owner.metadata(sector=False), sector_id=owner.sector_id,
                              taxonomy_term_ids=[tag.id, category.id, tag.id])
    assert [(t.id, t.name, t.slug) for t in made.categories] == [(category.id, "Energy", category.slug)]
    assert [(t.id, t.taxonomy_type) for t in made.tags] == [(tag.id, TAG)]


async def test_a_term_of_another_site_is_not_found(channel: grpc.aio.Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    foreign = await make_term(channel, await tenants.site(owner))
    error = await expect_error(make_content(channel, owner, metadata=owner.metadata(site=False, sector=False),
                                            site_id=owner.site_id, taxonomy_term_ids=[foreign.id]),
                               grpc.StatusCode.NOT_FOUND)
    assert error.detail(error_details_pb2.ResourceInfo).resource_type == "ContentTaxonomy"


async def test_more_than_100_distinct_terms_is_invalid(channel: grpc.aio.Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    error = await expect_error(make_content(channel, owner, taxonomy_term_ids=range(1, 102)), INVALID)
    assert fields_of(error) == ["taxonomy_term_ids"]


async def test_image_flags_count_the_content_images_by_status(
    channel: grpc.aio.Channel, tenants: TenantFactory, db: Database
) -> None:
    owner = await tenants.account()
    made = await make_content(channel, owner)
    assert made.image_status == content_pb2.ImageStatusFlags()
    await insert_image(db, owner, content_id=made.id, image_type="featured", status="generated")
    for status in ("pending", "pending", "failed", "generated"):
        await insert_image(db, owner, content_id=made.id, image_type="in_article", status=status)
    got = await content_stub(channel).GetContent(content_pb2.GetContentRequest(id=made.id), metadata=owner.metadata())
    assert got.image_status == content_pb2.ImageStatusFlags(has_featured_image=True, images_pending=2,
                                                            images_generated=2, images_failed=1)


async def test_a_featured_image_still_pending_is_not_a_featured_image(
    channel: grpc.aio.Channel, tenants: TenantFactory, db: Database
) -> None:
    owner = await tenants.account()
    made = await make_content(channel, owner)
    await insert_image(db, owner, content_id=made.id, image_type="featured", status="pending")
    got = await content_stub(channel).GetContent(content_pb2.GetContentRequest(id=made.id), metadata=owner.metadata())
    assert not got.image_status.has_featured_image and got.image_status.images_pending == 1


async def get(channel: grpc.aio.Channel, tenant: Tenant, content_id: int) -> content_pb2.Content:
    return await content_stub(channel).GetContent(content_pb2.GetContentRequest(id=content_id),
                                                  metadata=tenant.metadata())


async def test_get_returns_the_content_and_other_accounts_see_nothing(
    channel: grpc.aio.Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    made = await make_content(channel, owner)
    assert await get(channel, owner, made.id) == made
    error = await expect_error(get(channel, await tenants.account(), made.id), grpc.StatusCode.NOT_FOUND)
    assert error.detail(error_details_pb2.ResourceInfo).resource_type == "Content"
    await expect_error(get(channel, await tenants.sector(owner), made.id), grpc.StatusCode.NOT_FOUND)


async def test_a_viewer_reads_but_does_not_create(channel: grpc.aio.Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    viewer = await tenants.user(owner, "viewer")
    made = await make_content(channel, owner)
    assert (await get(channel, viewer, made.id)).id == made.id
    await expect_error(make_content(channel, viewer), grpc.StatusCode.PERMISSION_DENIED)
