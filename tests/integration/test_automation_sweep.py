"""Runs whose process is gone: a server beats for the runs it drives, and sweeps to failed the running
runs nobody has beaten for a while (their server was killed), at its start and then periodically."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.conftest import Tenant, TenantFactory
from writer_service.api.server import WriterServer
from writer_service.db.base import utcnow
from writer_service.db.database import Database
from writer_service.db.models import AutomationRun
from writer_service.services.automation import runs
from writer_service.services.automation.runner import Automation

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def insert_run(db: Database, owner: Tenant, *, beaten_ago: float | None, started_ago: float = 0.0,
                     state: str = "running") -> int:
    """A run row as a server wrote it, its heartbeat `beaten_ago` seconds old (None: never beaten)."""
    now = utcnow()
    async with db.transaction() as session:
        run = AutomationRun(account_id=owner.account_id, site_id=owner.site_id, sector_id=owner.sector_id, stage=0,
                            state=state, start_time=now - timedelta(seconds=started_ago),
                            heartbeat_time=None if beaten_ago is None else now - timedelta(seconds=beaten_ago))
        session.add(run)
        await session.flush()
        return run.id


async def state_of(db: Database, run_id: int) -> tuple[str, bool]:
    """The run's state and whether it has an end time."""
    async with db.read() as session:
        run = (await session.execute(select(AutomationRun).where(AutomationRun.id == run_id))).scalar_one()
        return run.state, run.end_time is not None


async def test_running_runs_whose_heartbeat_stopped_end_failed_and_no_other(db: Database,
                                                                            tenants: TenantFactory) -> None:
    owner = await tenants.account()
    stale = await insert_run(db, owner, beaten_ago=600)
    fresh = await insert_run(db, owner, beaten_ago=5, started_ago=600)
    never_beaten = await insert_run(db, owner, beaten_ago=None, started_ago=600)  # from before heartbeats
    ended = await insert_run(db, owner, beaten_ago=600, state="succeeded")
    swept = await runs.sweep_stale(db, stale_after=120)
    assert {stale, never_beaten} <= set(swept)
    assert not {fresh, ended} & set(swept)
    assert await state_of(db, stale) == ("failed", True)
    assert await state_of(db, never_beaten) == ("failed", True)
    assert await state_of(db, fresh) == ("running", False)
    assert await state_of(db, ended) == ("succeeded", False)


async def test_a_beat_keeps_a_run_alive_and_does_not_revive_an_ended_one(db: Database,
                                                                         tenants: TenantFactory) -> None:
    owner = await tenants.account()
    mine = await insert_run(db, owner, beaten_ago=600)
    cancelled = await insert_run(db, owner, beaten_ago=600, state="cancelled")
    await runs.beat(db, [mine, cancelled])
    assert mine not in await runs.sweep_stale(db, stale_after=120)
    assert await state_of(db, mine) == ("running", False)
    assert await state_of(db, cancelled) == ("cancelled", False)


async def test_a_keeping_server_sweeps_at_once_and_stops_with_close(
    writer: WriterServer, db: Database, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    left_by_a_killed_server = await insert_run(db, owner, beaten_ago=600)
    automation = Automation(writer.runtime.generation)
    automation.keep_runs(every=0.05, stale_after=60)
    try:
        for _ in range(100):
            if (await state_of(db, left_by_a_killed_server))[0] != "running":
                break
            await asyncio.sleep(0.05)
        assert await state_of(db, left_by_a_killed_server) == ("failed", True)
    finally:
        await automation.close(grace=1.0)
    assert automation._keeper is None  # noqa: SLF001 - closed means no keeper left running
