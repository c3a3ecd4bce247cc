"""The job event hub: one poller for every watcher, each job's events handed out in order, none lost
when transactions commit out of the order of their event ids."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event

from tests.conftest import Tenant, TenantFactory
from writer_service.db.database import Database
from writer_service.db.models import Job
from writer_service.services import jobs
from writer_service.services.job_events import JobEventHub, WatchedEvent, watch
from writer_service.tenancy.context import Principal, TenantContext
from writer_service.tenancy.scoping import Placement

pytestmark = pytest.mark.asyncio(loop_scope="session")

WAIT = 10.0  # far below the watchers' own 60 s check: whatever arrives, the hub brought


def context_of(tenant: Tenant) -> TenantContext:
    """The tenant context of the tenant's user."""
    return TenantContext(principal=Principal(tenant.user_id, tenant.role, tenant.account_id),
                         account_id=tenant.account_id, site_id=tenant.site_id, sector_id=tenant.sector_id)


async def new_job(db: Database, tenant: Tenant, items: int = 2) -> Job:
    """A pending job of `items` items, nothing running it."""
    async with db.transaction() as session:
        return await jobs.create_job(
            session, placement=Placement(tenant.account_id, tenant.site_id, tenant.sector_id),
            kind="content_generation", user_id=tenant.user_id, request_id=None, wait=False, description="hub test",
            items=[jobs.NewItem(credits_reserved=1)] * items)


async def claim(db: Database, item_id: int) -> None:
    """Claim an item in a transaction of its own (one or two events)."""
    async with db.transaction() as session:
        await jobs.claim_item(session, item_id=item_id)


async def following(db: Database, hub: JobEventHub, tenant: Tenant, job_id: int) -> AsyncIterator[WatchedEvent]:
    """A watcher of the job, its snapshot already read."""
    stream = watch(db, hub, context_of(tenant), job_id=job_id, gap_check_seconds=60.0)
    snapshot = await anext(stream)
    assert snapshot.type == "snapshot"
    return stream


async def take(stream: AsyncIterator[WatchedEvent], count: int) -> list[str]:
    """The types of the next `count` events."""
    return [(await asyncio.wait_for(anext(stream), WAIT)).type for _ in range(count)]


@contextmanager
def statements(db: Database) -> Iterator[list[str]]:
    """Every SQL statement the database runs meanwhile."""
    seen: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", note)


def needs_concurrent_writers(db: Database) -> None:
    """Two transactions writing at once (SQLite takes one writer at a time)."""
    if db.dialect != "postgresql":
        pytest.skip("SQLite commits its writers one at a time, in the order of their ids")


async def committed_out_of_order(db: Database, hub: JobEventHub, tenant: Tenant, *, hold: float = 0.0) -> list[str]:
    """Claim an item of one job in a transaction that commits only after an item of another job was
    claimed, committed and handed out (so the poll passed over the first job's lower event ids), and
    `hold` seconds more; the types of the first job's next two events, as its watcher sees them."""
    mine, other = await new_job(db, tenant), await new_job(db, tenant)
    try:
        stream = await following(db, hub, tenant, mine.id)
        other_stream = await following(db, hub, tenant, other.id)
        async with db.transaction() as late:
            await jobs.claim_item(late, item_id=mine.items[0].id)  # lower event ids, committed last
            await claim(db, other.items[0].id)
            assert await take(other_stream, 2) == ["job_started", "item_started"]  # polled past mine
            await asyncio.sleep(hold)
        return await take(stream, 2)
    finally:
        await hub.close()


async def test_an_event_committed_after_a_newer_one_was_polled_still_reaches_its_watchers(
    db: Database, tenants: TenantFactory
) -> None:
    needs_concurrent_writers(db)
    hub = JobEventHub(db, poll_seconds=0.02)
    assert await committed_out_of_order(db, hub, await tenants.account()) == ["job_started", "item_started"]


async def test_an_event_the_poller_gave_up_on_is_found_by_the_next_reconcile_round(
    db: Database, tenants: TenantFactory
) -> None:
    needs_concurrent_writers(db)
    hub = JobEventHub(db, poll_seconds=0.02, hole_seconds=0.0, reconcile_seconds=0.1)
    events = await committed_out_of_order(db, hub, await tenants.account(), hold=0.2)  # the holes expire meanwhile
    assert events == ["job_started", "item_started"]


async def test_many_quiet_watchers_cost_no_queries_and_each_gets_every_change_once_in_order(
    db: Database, tenants: TenantFactory
) -> None:
    tenant = await tenants.account()
    hub = JobEventHub(db, poll_seconds=0.02)
    job = await new_job(db, tenant, items=3)
    try:
        watchers = [watch(db, hub, context_of(tenant), job_id=job.id, gap_check_seconds=0.05) for _ in range(20)]
        for stream in watchers:
            await anext(stream)
        with statements(db) as seen:
            waiting = [asyncio.ensure_future(anext(stream)) for stream in watchers]
            await asyncio.sleep(0.5)  # ten quiet spells for every watcher
        assert not [s for s in seen if "WHERE job_events.job_id" in s]  # no watcher read the events itself
        for item in job.items:
            await claim(db, item.id)
        firsts = [await asyncio.wait_for(w, WAIT) for w in waiting]
        rests = [[(await asyncio.wait_for(anext(stream), WAIT)).sequence for _ in range(3)] for stream in watchers]
    finally:
        await hub.close()
    assert {(e.type, e.sequence) for e in firsts} == {("job_started", job.version + 1)}
    assert all(rest == list(range(job.version + 2, job.version + 5)) for rest in rests)


async def test_watchers_of_a_job_share_each_event_with_the_job_and_every_item_after_the_change(
    db: Database, tenants: TenantFactory
) -> None:
    tenant = await tenants.account()
    hub = JobEventHub(db, poll_seconds=0.02)
    job = await new_job(db, tenant, items=2)
    try:
        first = await following(db, hub, tenant, job.id)
        second = await following(db, hub, tenant, job.id)
        await claim(db, job.items[1].id)
        seen_first = [await asyncio.wait_for(anext(first), WAIT) for _ in range(2)]
        seen_second = [await asyncio.wait_for(anext(second), WAIT) for _ in range(2)]
    finally:
        await hub.close()
    assert all(a is b for a, b in zip(seen_first, seen_second, strict=True))  # built once, shown once
    started = seen_first[1]
    assert started.type == "item_started" and started.item is not None and started.item["id"] == job.items[1].id
    assert {i["id"]: i["state"] for i in started.items} == {job.items[0].id: "pending", job.items[1].id: "running"}
    assert started.job["state"] == "running" and started.job["version"] == started.sequence
