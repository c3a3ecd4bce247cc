"""ListContents: filters, search, order, pages, deleted rows, and derived fields read per page."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from sqlalchemy import event

from igny8.writer.v1 import common_pb2, content_pb2
from tests.conftest import Tenant, TenantFactory
from tests.factories.content import content_stub, insert_image, make_content, to_review
from tests.factories.planner import make_cluster
from tests.factories.tasks import make_task
from tests.factories.taxonomy import make_term
from tests.rich import expect_error
from writer_service.db.database import Database

pytestmark = pytest.mark.asyncio(loop_scope="session")

WORDPRESS = content_pb2.CONTENT_SOURCE_WORDPRESS


async def titles(channel: grpc.aio.Channel, tenant: Tenant, **params: Any) -> list[str]:
    response = await content_stub(channel).ListContents(content_pb2.ListContentsRequest(**params),
                                                        metadata=tenant.metadata())
    return [c.title for c in response.contents]


async def test_newest_first_by_default_and_other_tenants_never_appear(
    channel: grpc.aio.Channel, tenants: TenantFactory
) -> None:
    owner, stranger = await tenants.account(), await tenants.account()
    for title in ("a", "b", "c"):
        await make_content(channel, owner, title=title)
    await make_content(channel, stranger, title="theirs")
    await make_content(channel, await tenants.sector(owner), title="other sector")
    assert await titles(channel, owner) == ["c", "b", "a"]


async def test_filters_on_status_source_sync_status_type_and_structure(
    channel: grpc.aio.Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    draft = await make_content(channel, owner, title="draft")
    await to_review(channel, owner, draft)
    await make_content(channel, owner, title="native page", content_type=common_pb2.CONTENT_TYPE_PAGE,
                       content_structure=common_pb2.CONTENT_STRUCTURE_GUIDE)
    await make_content(channel, owner, title="import", source=WORDPRESS, external_id="wp-9",
                       status=content_pb2.CONTENT_STATUS_PUBLISHED)
    assert await titles(channel, owner, filter='status = "review"') == ["draft"]
    assert await titles(channel, owner, filter='source = "wordpress"') == ["import"]
    assert await titles(channel, owner, filter='sync_status = "imported"') == ["import"]
    assert await titles(channel, owner, filter='content_type = "page" AND content_structure = "guide"') == [
        "native page"]
    assert await titles(channel, owner, filter='status != "draft" AND external_id = "wp-9"') == ["import"]


async def test_filters_on_cluster_task_and_none(channel: grpc.aio.Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    cluster = await make_cluster(channel, owner)
    task = await make_task(channel, owner)
    await make_content(channel, owner, title="clustered", cluster_id=cluster.id)
    await make_content(channel, owner, title="tasked", task_id=task.id)
    await make_content(channel, owner, title="bare")
    assert await titles(channel, owner, filter=f"cluster_id = {cluster.id}") == ["clustered"]
    assert await titles(channel, owner, filter=f"task_id = {task.id}") == ["tasked"]
    assert await titles(channel, owner, filter="cluster_id = 0") == ["bare"]
    assert await titles(channel, owner, filter="task_id != 0") == ["tasked"]


async def test_filter_on_taxonomy_term(channel: grpc.aio.Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    first, second = await make_term(channel, owner), await make_term(channel, owner)
    await make_content(channel, owner, title="both", taxonomy_term_ids=[first.id, second.id])
    await make_content(channel, owner, title="first", taxonomy_term_ids=[first.id])
    await make_content(channel, owner, title="none")
    assert await titles(channel, owner, filter=f"taxonomy_term_id = {first.id}") == ["first", "both"]
    assert await titles(channel, owner, filter=f"taxonomy_term_id = {first.id} AND taxonomy_term_id = {second.id}") \
        == ["both"]
    assert await titles(channel, owner, filter=f"taxonomy_term_id != {second.id}") == ["none", "first"]
    assert await titles(channel, owner, filter="taxonomy_term_id = 0") == ["none"]
    assert await titles(channel, owner, filter="taxonomy_term_id != 0") == ["first", "both"]


async def test_filters_on_time_ranges(channel: grpc.aio.Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    old = await make_content(channel, owner, title="old")
    await make_content(channel, owner, title="new")
    await make_content(channel, owner, title="imported", source=WORDPRESS, status=content_pb2.CONTENT_STATUS_PUBLISHED,
                       publish_time={"seconds": 1_600_000_000})
    since = old.create_time.ToJsonString()
    assert await titles(channel, owner, filter=f'create_time > "{since}"') == ["imported", "new"]
    assert await titles(channel, owner, filter=f'create_time <= "{since}"') == ["old"]
    assert await titles(channel, owner, filter='publish_time < "2021-01-01T00:00:00Z"') == ["imported"]
    assert await titles(channel, owner, filter=f'update_time >= "{since}" AND status = "draft"') == ["new", "old"]


async def test_search_matches_title_and_keywords(channel: grpc.aio.Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    await make_content(channel, owner, title="Roof Guide")
    await make_content(channel, owner, title="by primary", primary_keyword="ROOF tiles")
    await make_content(channel, owner, title="by secondary", secondary_keywords=["slate", "flat roofs"])
    await make_content(channel, owner, title="unrelated")
    assert await titles(channel, owner, search="roof") == ["by secondary", "by primary", "Roof Guide"]
    assert await titles(channel, owner, search="50%_") == []


async def test_order_by_whitelisted_fields(channel: grpc.aio.Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    await make_content(channel, owner, title="b", content_html="<p>one two three</p>")
    await make_content(channel, owner, title="a", content_html="<p>one</p>")
    await make_content(channel, owner, title="c", content_html="<p>one two</p>")
    assert await titles(channel, owner, order_by="title") == ["a", "b", "c"]
    assert await titles(channel, owner, order_by="word_count desc") == ["b", "c", "a"]
    error = await expect_error(titles(channel, owner, order_by="meta_title"), grpc.StatusCode.INVALID_ARGUMENT)
    assert error.detail(error_details_pb2.BadRequest).field_violations[0].field == "order_by"


@pytest.mark.parametrize("bad", ['meta_title = "x"', 'status = "archived"', "taxonomy_term_id > 3", "status ="])
async def test_a_bad_filter_is_invalid(channel: grpc.aio.Channel, tenants: TenantFactory, bad: str) -> None:
    owner = await tenants.account()
    error = await expect_error(titles(channel, owner, filter=bad), grpc.StatusCode.INVALID_ARGUMENT)
    assert error.detail(error_details_pb2.BadRequest).field_violations[0].field == "filter"


async def test_pages_follow_each_other_and_a_token_is_bound_to_its_query(
    channel: grpc.aio.Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    for i in range(5):
        await make_content(channel, owner, title=f"t{i}")
    stub, seen, token = content_stub(channel), [], ""
    while True:
        page = await stub.ListContents(content_pb2.ListContentsRequest(page_size=2, page_token=token,
                                                                       order_by="title"), metadata=owner.metadata())
        seen += [c.title for c in page.contents]
        token = page.next_page_token
        if not token:
            break
        reused = content_pb2.ListContentsRequest(page_size=2, page_token=token, order_by="title", search="t")
        await expect_error(stub.ListContents(reused, metadata=owner.metadata()), grpc.StatusCode.INVALID_ARGUMENT)
    assert seen == ["t0", "t1", "t2", "t3", "t4"]


async def test_ordering_by_publish_time_pages_through_unpublished_content_too(
    channel: grpc.aio.Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    for i in range(2):
        await make_content(channel, owner, title=f"draft{i}")
        await make_content(channel, owner, title=f"pub{i}", source=WORDPRESS,
                           status=content_pb2.CONTENT_STATUS_PUBLISHED, publish_time={"seconds": 1_600_000_000 + i})
    for order in ("publish_time", "publish_time desc"):
        got, token = [], ""
        while True:
            page = await content_stub(channel).ListContents(
                content_pb2.ListContentsRequest(page_size=1, page_token=token, order_by=order),
                metadata=owner.metadata())
            got += [c.title for c in page.contents]
            if not (token := page.next_page_token):
                break
        assert sorted(got) == ["draft0", "draft1", "pub0", "pub1"]


async def test_deleted_content_is_listed_only_with_show_deleted(
    channel: grpc.aio.Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    gone = await make_content(channel, owner, title="gone")
    await make_content(channel, owner, title="kept")
    await content_stub(channel).DeleteContent(content_pb2.DeleteContentRequest(id=gone.id), metadata=owner.metadata())
    assert await titles(channel, owner) == ["kept"]
    assert await titles(channel, owner, show_deleted=True) == ["kept", "gone"]


async def test_site_and_sector_narrow_the_list(channel: grpc.aio.Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    other = await tenants.sector(owner)
    await make_content(channel, owner, title="here")
    await make_content(channel, other, title="there")
    md = owner.metadata(site=False, sector=False)
    response = await content_stub(channel).ListContents(content_pb2.ListContentsRequest(sector_id=other.sector_id),
                                                        metadata=md)
    assert [c.title for c in response.contents] == ["there"]
    response = await content_stub(channel).ListContents(content_pb2.ListContentsRequest(), metadata=md)
    assert [c.title for c in response.contents] == ["there", "here"]


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)


async def test_a_page_reads_its_derived_fields_in_a_fixed_number_of_queries(
    channel: grpc.aio.Channel, tenants: TenantFactory, db: Database
) -> None:
    owner = await tenants.account()
    term = await make_term(channel, owner)
    for _ in range(6):
        task = await make_task(channel, owner)
        made = await make_content(channel, owner, task_id=task.id, taxonomy_term_ids=[term.id])
        await insert_image(db, owner, content_id=made.id, status="generated")
    counts = []
    for size in (2, 6):
        with statements(db) as seen:
            response = await content_stub(channel).ListContents(content_pb2.ListContentsRequest(page_size=size),
                                                                metadata=owner.metadata())
        assert len(response.contents) == size
        assert all(c.cluster_name and c.task_title and c.categories and c.image_status.has_featured_image
                   for c in response.contents)
        counts.append(len([s for s in seen if s.lstrip().upper().startswith("SELECT")]))
    assert counts[0] == counts[1]
