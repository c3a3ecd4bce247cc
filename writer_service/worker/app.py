"""The Celery app: workers run job items sent by any server replica.

Tasks take ids only, re-read their rows in their own transactions and are idempotent (see
services/content_generation.py); they are acknowledged late, so a worker that dies mid-item leaves
the message to be delivered again to another worker.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from celery import Celery, Task
from celery.signals import worker_process_shutdown

from writer_service.config import Settings
from writer_service.services.content_generation import RETRY

log = logging.getLogger("writer_service.worker")

RUN_JOB_ITEM = "writer.run_job_item"
QUEUE = "writer"


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
    runtime = _WorkerRuntime(settings)

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
    timeout apart (1-10 s), bounds the redelivery at the timeout plus that tick. (AMQP brokers
    redeliver as soon as the dead worker's connection drops and ignore these options.)
    """
    return {
        "visibility_timeout": visibility_timeout,
        "unacked_restore_interval": max(1, min(10, visibility_timeout // 5)),
        "unacked_restore_throttle": 1,
    }


class _WorkerRuntime:
    """One event loop, database and writer per worker process, made on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: Any = None

    def run(self, item_id: int) -> str:
        if self._loop is None:
            from writer_service.services.wiring import build_item_runner

            self._loop = asyncio.new_event_loop()
            self._runner = build_item_runner(self.settings)
            worker_process_shutdown.connect(lambda **_: self.close(), weak=False)
        return self._loop.run_until_complete(self._runner(item_id))

    def close(self) -> None:
        if self._loop is not None and self._runner is not None:
            self._loop.run_until_complete(self._runner.close())
            self._loop.close()
            self._loop = None


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
