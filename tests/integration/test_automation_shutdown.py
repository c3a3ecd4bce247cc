"""A server shutting down while automation runs are in flight: each run ends with its state written,
never left 'running'."""

from __future__ import annotations

import asyncio

import grpc
import pytest

from igny8.writer.v1 import automation_pb2 as pb
from tests.conftest import TenantFactory
from tests.fakes.image_providers import image_job_providers, in_process_runner
from tests.fakes.text_providers import ScriptedText
from tests.integration.test_automation import start
from tests.integration.test_automation_content import queued_tasks
from writer_service.api.server import create_server
from writer_service.config import Settings
from writer_service.db.database import Database
from writer_service.db.models import AutomationRun

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def run_state(db: Database, run_id: int) -> str:
    async with db.read() as session:
        run = await session.get(AutomationRun, run_id)
        assert run is not None
        return run.state


async def test_a_run_held_up_at_shutdown_is_cut_off_after_the_grace_period_and_recorded_cancelled(
    settings: Settings, db: Database, tenants: TenantFactory
) -> None:
    grace = 0.5
    writer, port = await create_server(settings.model_copy(update={"shutdown_grace_seconds": grace}))
    await writer.server.start()
    held = ScriptedText(inner=in_process_runner(writer).writer.text, gate=asyncio.Event())
    try:
        with image_job_providers(writer, text=held):
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                owner = await tenants.account(credits=500)
                await queued_tasks(channel, owner, 3)
                call = start(channel, owner, "RunContentGenerationStage")
                first = await call.read()
                assert isinstance(first, pb.AutomationEvent)
                await asyncio.wait_for(held.started.wait(), 10)
                assert await run_state(db, first.run_id) == "running"
                async with asyncio.timeout(10 * grace + 10):
                    await writer.stop(grace)
    finally:
        held.gate.set()  # type: ignore[union-attr]
    assert await run_state(db, first.run_id) == "cancelled"
