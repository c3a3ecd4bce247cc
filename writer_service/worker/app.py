"""The Celery app: workers run job items sent by any server replica.

Tasks take ids only, re-read their rows in their own transactions and are idempotent (see
services/content_generation.py); they are acknowledged late, so a worker that dies mid-item leaves
the message to be delivered again to another worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, Protocol

from celery import Celery, Task
from celery.signals import worker_process_shutdown, worker_shutdown

from writer_service.config import Settings
from writer_service.services.content_generation import RETRY

log = logging.getLogger("writer_service.worker")

RUN_JOB_ITEM = "writer.run_job_item"
QUEUE = "writer"


class ItemRunner(Protocol):
    """Runs one job item by id (services/wiring.py's ItemRunner)."""

    def __call__(self, item_id: int) -> Coroutine[Any, Any, str]: ...

    async def close(self) -> None:
        """Release what the runner holds."""


def create_celery(settings: Settings) -> Celery:
    """A Celery app on the configured broker (redis:// or amqp://), with the writer's tasks."""
    app = Celery("writer_service", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=QUEUE,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        broker_transport_options=redis_redelivery_options(settings.worker_visibility_timeout_seconds),
        worker_hijack_root_logger=False,
    )
    runtime = WorkerRuntime(settings)

    @app.task(name=RUN_JOB_ITEM, bind=True, max_retries=settings.job_item_max_attempts + 2)
    def run_job_item(self: Task, item_id: int) -> str:
        outcome = runtime.run(item_id)
        if outcome == RETRY:
            raise self.retry(countdown=min(60, 2 ** (self.request.retries or 0)))
        return outcome

    return app


def redis_redelivery_options(visibility_timeout: int) -> dict[str, int]:
    """Redis transport options that redeliver the messages of a dead worker soon after `visibility_timeout`.

    Redis hands an unacknowledged message back to the queue once it is older than the visibility
    timeout, but only when a worker sweeps for such messages; kombu's own sweep runs every 10th
    tick of 10 s, i.e. every ~100 s, whatever the timeout. Sweeping every tick, a fifth of the
    timeout apart (1-10 s), bounds the redelivery at the timeout plus that tick. A worker killed
    while it sweeps leaves the sweep's lock behind: it expires after the visibility timeout rather
    than kombu's 5 minutes. (AMQP brokers redeliver as soon as the dead worker's connection drops
    and ignore these options.)
    """
    return {
        "visibility_timeout": visibility_timeout,
        "unacked_restore_interval": max(1, min(10, visibility_timeout // 5)),
        "unacked_restore_throttle": 1,
        "unacked_mutex_expire": visibility_timeout,
    }


class WorkerRuntime:
    """The event loop, database and writer of a worker process, made on first use.

    The loop runs in a thread of its own and pool threads hand their items to it, so every pool
    works: solo and prefork run one item at a time per process; `--pool threads` runs as many
    items at once as it has threads, all on one loop and one database pool.
    """

    def __init__(self, settings: Settings, make_runner: Callable[[Settings], ItemRunner] | None = None) -> None:
        self.settings = settings
        self.make_runner = make_runner
        self._lock = threading.Lock()
        self._pid = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: ItemRunner | None = None

    def run(self, item_id: int) -> str:
        """Run one job item on the loop and wait for its outcome."""
        loop, runner = self._started()
        return asyncio.run_coroutine_threadsafe(runner(item_id), loop).result()

    def _started(self) -> tuple[asyncio.AbstractEventLoop, ItemRunner]:
        with self._lock:
            # A prefork child inherits the parent's object but not its thread: start afresh there.
            if self._loop is None or self._runner is None or self._pid != os.getpid():
                self._runner = self._new_runner()
                self._loop = asyncio.new_event_loop()
                self._thread = threading.Thread(target=self._loop.run_forever, name="writer-items", daemon=True)
                self._thread.start()
                self._pid = os.getpid()
                worker_process_shutdown.connect(self._on_shutdown, weak=False)
                worker_shutdown.connect(self._on_shutdown, weak=False)
            return self._loop, self._runner

    def _new_runner(self) -> ItemRunner:
        if self.make_runner is not None:
            return self.make_runner(self.settings)
        from writer_service.services.wiring import build_item_runner

        return build_item_runner(self.settings)

    def _on_shutdown(self, **_: Any) -> None:
        self.close()

    def close(self) -> None:
        """Close the database and stop the loop (idempotent)."""
        with self._lock:
            loop, thread, runner = self._loop, self._thread, self._runner
            self._loop = self._thread = self._runner = None
        if loop is None or thread is None or runner is None or self._pid != os.getpid():
            return
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(runner.close(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


class CeleryDispatcher:
    """Sends each item of a committed job to the workers."""

    def __init__(self, app: Celery) -> None:
        self.app = app

    async def submit(self, job_id: int, item_ids: Sequence[int]) -> None:
        """Publish one message per item (in a thread: publishing blocks)."""
        def publish() -> None:
            for item_id in item_ids:
                self.app.send_task(RUN_JOB_ITEM, args=[item_id], queue=QUEUE)

        await asyncio.to_thread(publish)
        log.info("job %s: %d items sent to the workers", job_id, len(item_ids))
