"""The Celery app: what happens to the messages of a worker that died, and how its pool runs items."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest

from writer_service.config import Settings
from writer_service.worker.app import WorkerRuntime, create_celery


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
    # The sweep's lock, left behind by a worker killed mid-sweep, must not outlast the timeout.
    assert options["unacked_mutex_expire"] <= visibility_timeout


def test_the_app_acknowledges_late_and_requeues_the_work_of_a_lost_worker() -> None:
    conf = create_celery(Settings(broker_url="redis://127.0.0.1:6379/0")).conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1


class CountingRunner:
    """An item runner that records how many items run at once and on which loop."""

    def __init__(self) -> None:
        self.running = 0
        self.most_at_once = 0
        self.loops: set[int] = set()
        self.closed = False

    async def __call__(self, item_id: int) -> str:
        self.loops.add(id(asyncio.get_running_loop()))
        self.running += 1
        self.most_at_once = max(self.most_at_once, self.running)
        await asyncio.sleep(0.1)
        self.running -= 1
        return f"done {item_id}"

    async def close(self) -> None:
        self.closed = True


def test_pool_threads_run_their_items_at_once_on_one_loop_of_the_worker_process() -> None:
    runner = CountingRunner()
    runtime = WorkerRuntime(Settings(broker_url="redis://127.0.0.1:6379/0"), make_runner=lambda _settings: runner)
    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(runtime.run, [1, 2, 3, 4]))
    runtime.close()
    assert outcomes == ["done 1", "done 2", "done 3", "done 4"]
    assert runner.most_at_once == 4
    assert len(runner.loops) == 1
    assert runner.closed


def test_a_single_pool_thread_runs_items_one_after_another_and_an_error_reaches_the_task() -> None:
    class Failing(CountingRunner):
        async def __call__(self, item_id: int) -> str:
            if item_id == 13:
                raise RuntimeError("the database went away")
            return await super().__call__(item_id)

    runner = Failing()
    runtime = WorkerRuntime(Settings(broker_url="redis://127.0.0.1:6379/0"), make_runner=lambda _settings: runner)
    assert [runtime.run(1), runtime.run(2)] == ["done 1", "done 2"]
    with pytest.raises(RuntimeError, match="went away"):
        runtime.run(13)
    assert runtime.run(3) == "done 3"
    runtime.close()
    runtime.close()
    assert runner.most_at_once == 1 and runner.closed
