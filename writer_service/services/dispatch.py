"""Running job items in this process: the embedded default when no broker is configured."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy import select

from writer_service.db.database import Database
from writer_service.db.models import Job, JobItem
from writer_service.services.content_generation import RETRY

log = logging.getLogger("writer_service.dispatch")

ItemRunner = Callable[[int], Awaitable[str]]
MAX_BACKOFF_SECONDS = 30.0


class InProcessDispatcher:
    """Runs items as background tasks of the server's event loop, a few at a time, retrying
    retryable failures with exponential backoff."""

    def __init__(self, db: Database, run_item: ItemRunner, *, concurrency: int = 2, backoff_seconds: float = 1.0):
        self.db = db
        self.run_item = run_item
        self.backoff_seconds = backoff_seconds
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Task[None]] = set()

    async def submit(self, job_id: int, item_ids: Sequence[int]) -> None:
        """Start the items in the background; returns at once."""
        for item_id in item_ids:
            task = asyncio.create_task(self._run(item_id), name=f"job-{job_id}-item-{item_id}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, item_id: int) -> None:
        delay = self.backoff_seconds
        while True:
            async with self._slots:
                try:
                    outcome = await self.run_item(item_id)
                except Exception:  # noqa: BLE001 - logged; the item stays open for recovery
                    log.exception("job item %s crashed", item_id)
                    return
            if outcome != RETRY:
                return
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF_SECONDS)

    async def recover(self) -> int:
        """Restart the items of jobs a previous run of this process left open; how many."""
        async with self.db.read() as session:
            rows = (await session.execute(
                select(JobItem.job_id, JobItem.id).join(Job, Job.id == JobItem.job_id)
                .where(JobItem.state.in_(("pending", "running")), Job.state.in_(("pending", "running")))
                .order_by(JobItem.job_id, JobItem.position)
            )).all()
        for job_id, item_id in rows:
            await self.submit(job_id, [item_id])
        return len(rows)

    async def drain(self) -> None:
        """Wait for every item started so far (tests and shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        """Stop: cancel what runs (its items stay open and are recovered at the next start)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
