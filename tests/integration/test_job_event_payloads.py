"""What job events carry: the job and the item exactly as the change left them in their tables."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from sqlalchemy import select

from tests.conftest import TenantFactory
from tests.factories.tasks import make_task
from tests.integration.test_generation import generate
from writer_service.db.database import Database
from writer_service.db.models import Job, JobEvent, JobItem
from writer_service.services.jobs import snapshot

pytestmark = pytest.mark.asyncio(loop_scope="session")


def part(event: JobEvent, name: str) -> Any:
    """The `job` or `item` of an event's payload (None when absent)."""
    return event.payload.get(name)


async def test_each_event_carries_the_rows_as_written_and_the_last_ones_match_the_tables(
    channel: grpc.aio.Channel, tenants: TenantFactory, db: Database
) -> None:
    owner = await tenants.account(credits=500)
    tasks = [await make_task(channel, owner, word_count=300) for _ in range(2)]
    job = await generate(channel, owner, [t.id for t in tasks], wait=True)
    async with db.read() as session:
        events = list(await session.scalars(select(JobEvent).where(JobEvent.job_id == job.id)
                                            .order_by(JobEvent.sequence)))
        final_job = snapshot(await session.get(Job, job.id), Job)
        final_items = {i.id: snapshot(i, JobItem) for i in await session.scalars(
            select(JobItem).where(JobItem.job_id == job.id))}

    assert [e.type for e in events][0] == "job_started"
    assert events[-1].type == "job_succeeded"
    assert [e.sequence for e in events] == [part(e, "job")["version"] for e in events]
    assert part(events[-1], "job") == final_job
    for event in events:
        item = part(event, "item")
        assert (item is None) == (event.type.startswith("job_"))
        if item is not None:
            assert item["id"] == event.job_item_id
            assert item["state"] == event.type.removeprefix("item_").replace("started", "running")
    last_of_each = {e.job_item_id: part(e, "item") for e in events if e.type == "item_succeeded"}
    assert last_of_each == final_items
    started = [part(e, "item") for e in events if e.type == "item_started"]
    assert {i["attempts"] for i in started} == {1}
    assert all(i["update_time"] <= final_items[i["id"]]["update_time"] for i in started)
