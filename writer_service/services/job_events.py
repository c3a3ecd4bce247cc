"""Following jobs as they change: one poller per process reads new job events for every watcher.

Events are rows (services/jobs.py writes them in the transaction of each change), so a watcher on
any replica sees every change of a job, whichever process made it. However many streams are open,
the process runs one query per poll interval, and hands each job's events to its watchers in order:

- Event ids come from one sequence, but transactions commit in any order: a poll may see id 11
  while id 10 is not committed yet. The ids a poll passed over are holes, asked for again by every
  poll until they show up or HOLE_SECONDS have passed (a rolled back insert never shows up).
- A job's events commit in the order of their sequence (each change locks the job's row), so when
  one is visible every earlier one is too.
- Every RECONCILE_SECONDS one query compares each watched job's version with the last sequence
  handed out; a job still behind since the previous round has its missed events read and handed
  out (a hole that outlived HOLE_SECONDS, or a commit older than the poller's start).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from writer_service.db.database import Database
from writer_service.db.models import Job, JobEvent, JobItem
from writer_service.services import jobs
from writer_service.tenancy.context import TenantContext

log = logging.getLogger("writer_service.jobs")

POLL_LIMIT = 500
HOLE_SECONDS = 30.0
MAX_HOLES = 1000
RECONCILE_SECONDS = 2.0
SHARED_PER_JOB = 16  # the latest events of a job kept for its slower watchers
ENDING_EVENTS = ("job_succeeded", "job_failed", "job_cancelled")


class JobEventHub:
    """Fans job events out to subscribers, by job id, each job's events in order and once."""

    def __init__(self, db: Database, *, poll_seconds: float = 0.1, hole_seconds: float = HOLE_SECONDS,
                 reconcile_seconds: float = RECONCILE_SECONDS) -> None:
        self.db = db
        self.poll_seconds = poll_seconds
        self.hole_seconds = hole_seconds
        self.reconcile_seconds = reconcile_seconds
        self._subscribers: dict[int, set[asyncio.Queue[JobEvent]]] = {}
        self._handed: dict[int, int] = {}  # job id -> the last sequence handed to its watchers
        self._behind: dict[int, int] = {}  # job id -> its version when the last round found it behind
        self._holes: dict[int, float] = {}  # event id -> when a poll first passed over it
        self._shared: dict[int, dict[int, WatchedEvent]] = {}  # job id -> sequence -> the event as watched
        self._task: asyncio.Task[None] | None = None
        self._last_id = 0
        self._started = asyncio.Event()

    async def ensure_running(self) -> None:
        """Start the poller if it is not running (again, if it died), and wait until it has started."""
        if self._task is None or self._task.done():
            self._started.clear()
            self._task = asyncio.create_task(self._run(), name="job-event-hub")
        await self._started.wait()

    async def _run(self) -> None:
        self._last_id = await jobs.latest_event_id(self.db)
        self._holes.clear()
        self._started.set()
        loop = asyncio.get_running_loop()
        next_round = loop.time() + self.reconcile_seconds
        while self._subscribers:
            events: list[JobEvent] = []
            try:
                events = await jobs.events_after(self.db, after_id=self._last_id, also=list(self._holes),
                                                 limit=POLL_LIMIT)
                self._take(events, loop.time())
                if loop.time() >= next_round:
                    next_round = loop.time() + self.reconcile_seconds
                    await self._reconcile()
            except Exception:  # noqa: BLE001 - a failed poll is retried; watchers keep waiting
                log.exception("polling job events failed")
            if len(events) < POLL_LIMIT:
                await asyncio.sleep(self.poll_seconds)
        self._task = None

    def _take(self, events: Iterable[JobEvent], now: float) -> None:
        for event in events:
            if event.id > self._last_id:
                first = max(self._last_id + 1, event.id - MAX_HOLES)
                for passed in range(first, event.id):
                    self._holes.setdefault(passed, now)
                self._last_id = event.id
            else:
                self._holes.pop(event.id, None)
            self._hand_out(event)
        for passed, since in list(self._holes.items()):
            if now - since > self.hole_seconds:
                del self._holes[passed]
        while len(self._holes) > MAX_HOLES:
            del self._holes[min(self._holes)]

    def _hand_out(self, event: JobEvent) -> None:
        queues = self._subscribers.get(event.job_id)
        handed = self._handed.get(event.job_id)
        if not queues or (handed is not None and event.sequence <= handed):
            return
        self._handed[event.job_id] = event.sequence
        for queue in queues:
            queue.put_nowait(event)

    async def _reconcile(self) -> None:
        watched = [job_id for job_id in self._subscribers if job_id in self._handed]
        versions = await jobs.job_versions(self.db, job_ids=watched) if watched else {}
        behind = {job_id: v for job_id, v in versions.items() if v > self._handed.get(job_id, v)}
        for job_id in behind:
            earlier = self._behind.get(job_id)
            handed = self._handed.get(job_id)
            if earlier is None or handed is None or handed >= earlier:
                continue  # not behind for a whole round: the next polls will most likely bring it
            for event in await jobs.job_events_after(self.db, job_id=job_id, sequence=handed):
                self._holes.pop(event.id, None)
                self._hand_out(event)
        self._behind = behind

    def note_snapshot(self, job_id: int, version: int) -> None:
        """A watcher has read the job at `version`: the first watcher of a job starts its sequence there."""
        if job_id in self._subscribers:
            self._handed.setdefault(job_id, version)

    @contextlib.asynccontextmanager
    async def subscribe(self, job_id: int) -> AsyncIterator[asyncio.Queue[JobEvent]]:
        """A queue that receives every event of the job written after this call returns."""
        queue: asyncio.Queue[JobEvent] = asyncio.Queue()
        self._subscribers.setdefault(job_id, set()).add(queue)
        try:
            await self.ensure_running()
            yield queue
        finally:
            queues = self._subscribers.get(job_id, set())
            queues.discard(queue)
            if not queues:
                self._subscribers.pop(job_id, None)
                self._handed.pop(job_id, None)
                self._shared.pop(job_id, None)

    def shared(self, job_id: int, sequence: int) -> WatchedEvent | None:
        """The event as another watcher of the job already built it (the job and all its items after
        the change are the same for every watcher), if it is still kept."""
        return self._shared.get(job_id, {}).get(sequence)

    def share(self, job_id: int, event: WatchedEvent) -> None:
        """Keep a watched event for the other watchers of its job."""
        if job_id not in self._subscribers:
            return
        kept = self._shared.setdefault(job_id, {})
        kept[event.sequence] = event
        if len(kept) > SHARED_PER_JOB:
            del kept[min(kept)]

    async def close(self) -> None:
        """Stop polling."""
        self._subscribers.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


@dataclass(eq=False)
class WatchedEvent:
    """One event of a watched job, with the job and all its items as they are after it.

    Every watcher of the job gets the same object (treat it as read-only); `shown` keeps what a
    caller makes of it (a message), so that is made once too."""

    sequence: int
    type: str
    job: dict[str, Any]
    items: list[dict[str, Any]]
    item: dict[str, Any] | None = None
    shown: dict[str, Any] = field(default_factory=dict)


def _revive(values: Any) -> dict[str, Any]:
    out = dict(values)
    for key in ("create_time", "update_time", "start_time", "end_time"):
        if isinstance(out.get(key), str):
            out[key] = datetime.fromisoformat(out[key])
    return out


def _columns(row: Any, model: type[Any]) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in model.__table__.columns}


async def watch(
    db: Database, hub: JobEventHub, tenant: TenantContext, *, job_id: int, gap_check_seconds: float = 10.0
) -> AsyncIterator[WatchedEvent]:
    """The job as it is now, then every change in order, until the event that ends it."""
    async with hub.subscribe(job_id) as queue:
        job = await jobs.get_job(db, tenant, job_id=job_id)
        hub.note_snapshot(job_id, job.version)
        items = {i.id: _columns(i, JobItem) for i in job.items}
        seen = job.version
        yield WatchedEvent(sequence=seen, type="snapshot", job=_columns(job, Job), items=list(items.values()))
        if job.state in jobs.TERMINAL_STATES:
            return
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), timeout=gap_check_seconds)
            except TimeoutError:
                await hub.ensure_running()  # a quiet job, or a poller that died: make sure it runs
                continue
            if event.sequence <= seen:
                continue
            # The hub hands out a job's events in order; a gap (which it should never leave) is read here.
            pending = [event] if event.sequence == seen + 1 else await jobs.job_events_after(
                db, job_id=job_id, sequence=seen)
            for each in pending:
                if each.sequence <= seen:
                    continue
                seen = each.sequence
                watched = hub.shared(job_id, seen)
                if watched is None:
                    item = _revive(each.payload["item"]) if each.payload.get("item") else None
                    if item is not None:
                        items[item["id"]] = item
                    watched = WatchedEvent(sequence=seen, type=each.type, job=_revive(each.payload["job"]),
                                           items=list(items.values()), item=item)
                    hub.share(job_id, watched)
                elif watched.item is not None:
                    items[watched.item["id"]] = watched.item
                yield watched
                if each.type in ENDING_EVENTS:
                    return
