"""The Celery app's settings that decide what happens to the messages of a worker that died."""

from __future__ import annotations

import pytest

from writer_service.config import Settings
from writer_service.worker.app import create_celery


def transport_options(visibility_timeout: int) -> dict[str, int]:
    """The broker transport options of the app built for this visibility timeout."""
    settings = Settings(broker_url="redis://127.0.0.1:6379/0", worker_visibility_timeout_seconds=visibility_timeout)
    return dict(create_celery(settings).conf.broker_transport_options)


@pytest.mark.parametrize("visibility_timeout", [5, 30, 300, 3600])
def test_redis_sweeps_for_unacknowledged_messages_on_every_tick_well_within_the_visibility_timeout(
    visibility_timeout: int,
) -> None:
    options = transport_options(visibility_timeout)
    assert options["visibility_timeout"] == visibility_timeout
    # kombu scans only every `throttle`-th tick; anything but 1 stretches the sweep period tenfold.
    assert options["unacked_restore_throttle"] == 1
    sweep = options["unacked_restore_interval"] * options["unacked_restore_throttle"]
    assert 1 <= sweep <= max(1, visibility_timeout / 5)
    assert sweep <= 10


def test_the_app_acknowledges_late_and_requeues_the_work_of_a_lost_worker() -> None:
    conf = create_celery(Settings(broker_url="redis://127.0.0.1:6379/0")).conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
