"""ListTasks: filters, search, order_by, keyset pages and their tokens, page sizes, show_deleted."""

from __future__ import annotations

import grpc
import psycopg
import pytest
from google.protobuf import field_mask_pb2
from google.rpc import error_details_pb2
from grpc.aio import Channel

from igny8.writer.v1 import common_pb2, tasks_pb2
from tests.conftest import Tenant, TenantFactory
from tests.factories.planner import make_cluster, make_idea
from tests.factories.tasks import insert_tasks, insert_taxonomy_term, make_task, tasks_stub
from tests.rich import expect_error
from writer_service.db.database import Database
from writer_service.db.driver_reads import libpq_conninfo
from writer_service.services.tasks import TASK_LIST

pytestmark = pytest.mark.asyncio(loop_scope="session")



async def listed(channel: Channel, owner: Tenant, **request: object) -> tasks_pb2.ListTasksResponse:
    return await tasks_stub(channel).ListTasks(tasks_pb2.ListTasksRequest(**request),  # type: ignore[arg-type]
                                               metadata=owner.metadata())


async def ids(channel: Channel, owner: Tenant, **request: object) -> list[int]:
    return [t.id for t in (await listed(channel, owner, **request)).tasks]


async def walk(channel: Channel, owner: Tenant, **request: object) -> list[int]:
    """Every id of a List, page after page."""
    seen: list[int] = []
    token = ""
    while True:
        page = await listed(channel, owner, page_token=token, **request)
        seen.extend(t.id for t in page.tasks)
        token = page.next_page_token
        if not token:
            return seen


def violation_field(error: object) -> str:
    return error.detail(error_details_pb2.BadRequest).field_violations[0].field  # type: ignore[attr-defined]


async def test_list_tasks_is_newest_first_and_carries_names(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    cluster = await make_cluster(channel, owner, name="Named")
    made = [await make_task(channel, owner, cluster_id=cluster.id) for _ in range(3)]
    page = await listed(channel, owner)
    assert [t.id for t in page.tasks] == [t.id for t in reversed(made)]
    assert {t.cluster_name for t in page.tasks} == {"Named"} and all(t.sector_name for t in page.tasks)
    assert not page.next_page_token


async def test_list_tasks_filters_by_each_field_of_the_proto(
    channel: Channel, tenants: TenantFactory, db: Database
) -> None:
    owner = await tenants.account()
    idea = await make_idea(channel, owner)
    term = await insert_taxonomy_term(db, owner)
    plain = await make_task(channel, owner, cluster_id=idea.cluster_id)
    from_idea = await make_task(channel, owner, cluster_id=idea.cluster_id, idea_id=idea.id, taxonomy_term_id=term)
    page = await make_task(channel, owner, content_type=common_pb2.CONTENT_TYPE_PAGE,
                           content_structure=common_pb2.CONTENT_STRUCTURE_HOW_TO,
                           status=tasks_pb2.TASK_STATUS_COMPLETED)
    expectations = {
        'status = "completed"': {page.id},
        'status != "completed"': {plain.id, from_idea.id},
        f"cluster_id = {idea.cluster_id}": {plain.id, from_idea.id},
        f"idea_id = {idea.id}": {from_idea.id},
        "idea_id = 0": {plain.id, page.id},
        f"taxonomy_term_id = {term}": {from_idea.id},
        'content_type = "page"': {page.id},
        'content_structure = "how_to" AND content_type = "page"': {page.id},
        f'cluster_id = {idea.cluster_id} AND content_structure = "how_to"': set(),
    }
    for text, expected in expectations.items():
        assert set(await ids(channel, owner, filter=text)) == expected, text


async def test_list_tasks_filters_by_create_and_update_time_ranges(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    first = await make_task(channel, owner)
    second = await make_task(channel, owner, cluster_id=first.cluster_id)
    since = second.create_time.ToJsonString()
    assert await ids(channel, owner, filter=f'create_time >= "{since}"') == [second.id]
    assert await ids(channel, owner, filter=f'create_time < "{since}"') == [first.id]
    assert await ids(channel, owner, filter='create_time > "2999-01-01T00:00:00Z"') == []
    touched = await tasks_stub(channel).UpdateTask(
        tasks_pb2.UpdateTaskRequest(task=tasks_pb2.Task(id=first.id, title="touched"),
                                    update_mask=field_mask_pb2.FieldMask(paths=["title"])), metadata=owner.metadata())
    changed_since = second.update_time.ToJsonString()
    assert await ids(channel, owner, filter=f'update_time > "{changed_since}"') == [touched.id]
    between = f'create_time >= "{first.create_time.ToJsonString()}" AND create_time <= "{since}"'
    assert set(await ids(channel, owner, filter=between)) == {first.id, second.id}


async def test_list_tasks_searches_title_and_keywords_case_insensitively(
    channel: Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    by_title = await make_task(channel, owner, title="Best Trail Shoes 2026")
    by_keywords = await make_task(channel, owner, cluster_id=by_title.cluster_id, keywords="running, TRAIL")
    await make_task(channel, owner, cluster_id=by_title.cluster_id, title="Road bikes", description="trail")
    assert set(await ids(channel, owner, search="trail")) == {by_title.id, by_keywords.id}
    assert await ids(channel, owner, search="100%") == []
    assert await ids(channel, owner, search="shoes 2026") == [by_title.id]


async def test_list_tasks_orders_by_the_whitelisted_fields(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    b = await make_task(channel, owner, title="b", word_count=300)
    a = await make_task(channel, owner, cluster_id=b.cluster_id, title="a", word_count=100)
    c = await make_task(channel, owner, cluster_id=b.cluster_id, title="c", word_count=200,
                        status=tasks_pb2.TASK_STATUS_COMPLETED)
    assert await ids(channel, owner, order_by="title") == [a.id, b.id, c.id]
    assert await ids(channel, owner, order_by="word_count desc") == [b.id, c.id, a.id]
    assert await ids(channel, owner, order_by="status desc, title desc") == [b.id, a.id, c.id]
    assert await ids(channel, owner, order_by="create_time") == [b.id, a.id, c.id]
    assert await ids(channel, owner, order_by="update_time desc") == [c.id, a.id, b.id]


@pytest.mark.parametrize(("request_fields", "field"), [
    ({"order_by": "keywords"}, "order_by"),
    ({"order_by": "title sideways"}, "order_by"),
    ({"filter": 'keywords = "x"'}, "filter"),
    ({"filter": 'status = "archived"'}, "filter"),
    ({"filter": "cluster_id = \"12\""}, "filter"),
    ({"filter": 'status > "queued"'}, "filter"),
    ({"filter": 'create_time > "yesterday"'}, "filter"),
    ({"filter": "status = "}, "filter"),
    ({"page_token": "not-a-token"}, "page_token"),
    ({"page_size": -1}, "page_size"),
])
async def test_list_tasks_with_a_bad_query_is_invalid_argument(
    channel: Channel, tenants: TenantFactory, request_fields: dict[str, object], field: str
) -> None:
    owner = await tenants.account()
    error = await expect_error(listed(channel, owner, **request_fields), grpc.StatusCode.INVALID_ARGUMENT)
    assert violation_field(error) == field


@pytest.mark.parametrize("changed", [{"filter": 'status = "queued"'}, {"order_by": "title"}, {"search": "bulk"},
                                     {"show_deleted": True}])
async def test_a_page_token_reused_with_another_query_is_invalid_argument(
    channel: Channel, tenants: TenantFactory, db: Database, changed: dict[str, object]
) -> None:
    owner = await tenants.account()
    cluster = await make_cluster(channel, owner)
    await insert_tasks(db, owner, cluster_id=cluster.id, count=3)
    token = (await listed(channel, owner, page_size=2)).next_page_token
    assert token
    error = await expect_error(listed(channel, owner, page_size=2, page_token=token, **changed),
                               grpc.StatusCode.INVALID_ARGUMENT)
    assert violation_field(error) == "page_token"
    # The same query with a different page size may go on.
    assert len((await listed(channel, owner, page_size=5, page_token=token)).tasks) == 1


async def test_page_size_defaults_to_50_and_is_capped_at_500(
    channel: Channel, tenants: TenantFactory, db: Database
) -> None:
    owner = await tenants.account()
    cluster = await make_cluster(channel, owner)
    await insert_tasks(db, owner, cluster_id=cluster.id, count=60)
    page = await listed(channel, owner)
    assert len(page.tasks) == 50 and page.next_page_token
    rest = await listed(channel, owner, page_token=page.next_page_token)
    assert len(rest.tasks) == 10 and not rest.next_page_token
    await insert_tasks(db, owner, cluster_id=cluster.id, count=460)
    page = await listed(channel, owner, page_size=1000)
    assert len(page.tasks) == 500 and page.next_page_token
    rest = await listed(channel, owner, page_size=1000, page_token=page.next_page_token)
    assert len(rest.tasks) == 20 and not rest.next_page_token


@pytest.mark.parametrize("order_by", ["title", "title desc", "title, create_time desc"])
async def test_keyset_pages_walk_equal_titles_without_duplicates_or_gaps(
    channel: Channel, tenants: TenantFactory, db: Database, order_by: str
) -> None:
    owner = await tenants.account()
    cluster = await make_cluster(channel, owner)
    await insert_tasks(db, owner, cluster_id=cluster.id, count=11, title="same title")
    await insert_tasks(db, owner, cluster_id=cluster.id, count=2, title="another")
    everything = await ids(channel, owner, page_size=100, order_by=order_by)
    assert len(everything) == 13
    walked = await walk(channel, owner, page_size=3, order_by=order_by)
    assert walked == everything and len(set(walked)) == 13


async def test_list_tasks_shows_deleted_tasks_only_when_asked(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    kept = await make_task(channel, owner)
    gone = await make_task(channel, owner, cluster_id=kept.cluster_id)
    await tasks_stub(channel).DeleteTask(tasks_pb2.DeleteTaskRequest(id=gone.id), metadata=owner.metadata())
    assert await ids(channel, owner) == [kept.id]
    shown = await listed(channel, owner, show_deleted=True)
    assert [(t.id, t.HasField("delete_time")) for t in shown.tasks] == [(gone.id, True), (kept.id, False)]


async def test_list_tasks_narrows_to_a_site_and_never_shows_another_account(
    channel: Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    second = await tenants.site(owner)
    here = await make_task(channel, owner)
    there = await make_task(channel, second)
    await make_task(channel, await tenants.account())
    unnarrowed = owner.metadata(site=False, sector=False)
    everything = await tasks_stub(channel).ListTasks(tasks_pb2.ListTasksRequest(), metadata=unnarrowed)
    assert {t.id for t in everything.tasks} == {here.id, there.id}
    narrowed = await tasks_stub(channel).ListTasks(tasks_pb2.ListTasksRequest(site_id=second.site_id),
                                                   metadata=unnarrowed)
    assert [t.id for t in narrowed.tasks] == [there.id]
    by_header = await tasks_stub(channel).ListTasks(tasks_pb2.ListTasksRequest(), metadata=second.metadata())
    assert [t.id for t in by_header.tasks] == [there.id]


@pytest.mark.parametrize("order_by", [f"{field} {direction}".strip() for field in TASK_LIST.order_fields
                                      for direction in ("", "desc")])
async def test_every_order_of_a_sector_is_served_by_an_index_on_both_pages(
    channel: Channel, db: Database, tenants: TenantFactory, order_by: str
) -> None:
    if db.driver_reads is None:
        pytest.skip("the plans are PostgreSQL's")
    owner = await tenants.account()
    cluster = await make_cluster(channel, owner)
    await insert_tasks(db, owner, cluster_id=cluster.id, count=3)
    ran: list[tuple[str, dict[str, object]]] = []
    db.driver_reads.trace = lambda statement, parameters: ran.append((statement, parameters))
    try:
        first = await listed(channel, owner, order_by=order_by, page_size=2)
        await listed(channel, owner, order_by=order_by, page_size=2, page_token=first.next_page_token)
    finally:
        db.driver_reads.trace = None
    assert len(ran) == 2
    with psycopg.connect(libpq_conninfo(db.engine.url.render_as_string(hide_password=False))) as connection:
        connection.execute("SET enable_seqscan = off")  # what a large table would make of it
        for statement, parameters in ran:
            plan = "\n".join(row[0] for row in connection.execute(f"EXPLAIN {statement}", parameters))
            assert "Sort" not in plan, plan
            assert "tasks_account_site_sector" in plan, plan
