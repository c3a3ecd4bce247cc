"""Following jobs as they change: one poller per process reads new job events for every watcher.

Events are rows (services/jobs.py writes them in the transaction of each change), so a watcher on
any replica sees every change of a job, whichever process made it. However many streams are open,
the process runs one query per poll interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from writer_service.db.database import Database
from writer_service.db.models import Job, JobEvent, JobItem
from writer_service.services import jobs
from writer_service.tenancy.context import TenantContext

log = logging.getLogger("writer_service.jobs")


class JobEventHub:
    """Fans job events out to subscribers, by job id."""

    def __init__(self, db: Database, *, poll_seconds: float = 0.1) -> None:
        self.db = db
        self.poll_seconds = poll_seconds
        self._subscribers: dict[int, set[asyncio.Queue[JobEvent]]] = defaultdict(set)
        self._task: asyncio.Task[None] | None = None
        self._last_id = 0
        self._started = asyncio.Event()

    async def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._started.clear()
            self._task = asyncio.create_task(self._run(), name="job-event-hub")
        await self._started.wait()

    async def _run(self) -> None:
        self._last_id = await jobs.latest_event_id(self.db)
        self._started.set()
        while self._subscribers:
            try:
                events = await jobs.events_after(self.db, after_id=self._last_id)
            except Exception:  # noqa: BLE001 - a failed poll is retried; watchers keep waiting
                log.exception("polling job events failed")
                events = []
            for event in events:
                self._last_id = event.id
                for queue in self._subscribers.get(event.job_id, ()):
                    queue.put_nowait(event)
            if len(events) < 500:
                await asyncio.sleep(self.poll_seconds)
        self._task = None

    @contextlib.asynccontextmanager
    async def subscribe(self, job_id: int):  # type: ignore[no-untyped-def]
        """A queue that receives every event of the job written after this call returns."""
        queue: asyncio.Queue[JobEvent] = asyncio.Queue()
        self._subscribers[job_id].add(queue)
        try:
            await self._ensure_running()
            yield queue
        finally:
            self._subscribers[job_id].discard(queue)
            if not self._subscribers[job_id]:
                del self._subscribers[job_id]

    async def close(self) -> None:
        """Stop polling."""
        self._subscribers.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


@dataclass
class WatchedEvent:
    """One event of a watched job, with the job and all its items as they are after it."""

    sequence: int
    type: str
    job: dict[str, Any]
    items: list[dict[str, Any]]
    item: dict[str, Any] | None = None


def _revive(values: dict[str, Any]) -> dict[str, Any]:
    out = dict(values)
    for key in ("create_time", "update_time", "start_time", "end_time"):
        if isinstance(out.get(key), str):
            out[key] = datetime.fromisoformat(out[key])
    return out


def _columns(row: Any, model: type[Any]) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in model.__table__.columns}


async def watch(
    db: Database, hub: JobEventHub, tenant: TenantContext, *, job_id: int, gap_check_seconds: float = 2.0
) -> AsyncIterator[WatchedEvent]:
    """The job as it is now, then every change in order, until the event that ends it."""
    async with hub.subscribe(job_id) as queue:
        job = await jobs.get_job(db, tenant, job_id=job_id)
        state = _columns(job, Job)
        items = {i.id: _columns(i, JobItem) for i in job.items}
        seen = job.version
        yield WatchedEvent(sequence=seen, type="snapshot", job=state, items=list(items.values()))
        if job.state in jobs.TERMINAL_STATES:
            return
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), timeout=gap_check_seconds)
                pending = [event] if event.sequence == seen + 1 else None
            except TimeoutError:
                pending = None
            if pending is None:
                # A gap, or a quiet spell: read what the poller may have passed over.
                pending = await jobs.job_events_after(db, job_id=job_id, sequence=seen)
            for event in pending:
                if event.sequence <= seen:
                    continue
                seen = event.sequence
                state = _revive(event.payload["job"])
                item = _revive(event.payload["item"]) if event.payload.get("item") else None
                if item is not None:
                    items[item["id"]] = item
                yield WatchedEvent(sequence=seen, type=event.type, job=state, items=list(items.values()),
                                   item=item)
                if event.type in ("job_succeeded", "job_failed", "job_cancelled"):
                    return
