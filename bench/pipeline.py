"""Generation pipeline benchmark: template generations through Celery + Redis with one worker.

    python -m bench.pipeline [--items N] [--noop M] [--pool solo|threads|prefork] [--concurrency C]
                             [--quick] [--profile FILE]

On a throwaway PostgreSQL database and a Redis database of its own (flushed at the end) it starts
the writer server and ONE `writer-service worker` as processes, creates N tasks, asks for their
content with AutoGenerateContent in calls of 10 and measures items/s from the first call to the end
of the last job (the job's end_time, written by the worker). In the same run, with the same broker
and the same pool, it measures the baseline: bare Celery no-op tasks sent at once, each a round
trip (the caller gets its result back), as tasks/s. It prints the ratio against the target of 0.5.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path

import grpc
import redis
from celery import Celery

from bench._common_pipeline import (
    Caller,
    bootstrap_account,
    bounded,
    free_port,
    postgres_admin_url,
    print_table,
    profiling,
    running,
    server_argv,
    service_env,
    throwaway_database,
    verdict,
    wait_serving,
)
from igny8.writer.v1 import (
    common_pb2,
    jobs_pb2,
    jobs_pb2_grpc,
    planner_pb2,
    planner_pb2_grpc,
    tasks_pb2,
    tasks_pb2_grpc,
)

TARGET_RATIO = 0.5
BATCH = 10
WORD_COUNT = 1000
BROKER_ENV = "WRITER_BENCH_BROKER_URL"
DEFAULT_REDIS_DB = 14
NOOP_QUEUE = "bench_noop"
NOOP_TASK = "bench.noop"
RUN_SECONDS_LIMIT = 900.0


def make_noop_app(broker_url: str) -> Celery:
    """A Celery app with one no-op task, configured as the writer's app is (late acks, prefetch 1,
    JSON), plus a Redis result backend: the caller learns that each task ran."""
    app = Celery("bench_noop", broker=broker_url, backend=broker_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_default_queue=NOOP_QUEUE,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        result_expires=600,
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
    )

    @app.task(name=NOOP_TASK)
    def noop() -> None:
        return None

    return app


# The no-op worker process loads this module (celery -A bench.pipeline:noop_app) and finds its
# broker in the environment.
noop_app = make_noop_app(os.environ.get(BROKER_ENV, f"redis://127.0.0.1:6379/{DEFAULT_REDIS_DB}"))


@dataclass
class Figures:
    """What one run measured."""

    items: int
    pipeline_seconds: float
    noop_tasks: int
    noop_seconds: float

    @property
    def items_per_second(self) -> float:
        """Template generations per second, first call to last job end."""
        return self.items / self.pipeline_seconds

    @property
    def noop_per_second(self) -> float:
        """No-op round trips per second."""
        return self.noop_tasks / self.noop_seconds

    @property
    def ratio(self) -> float:
        """The pipeline's rate as a fraction of the no-op rate."""
        return self.items_per_second / self.noop_per_second


def measure_noop(app: Celery, count: int) -> float:
    """Seconds from sending the first of `count` no-op tasks to having every result (after a warm-up)."""
    for result in [app.send_task(NOOP_TASK, queue=NOOP_QUEUE) for _ in range(20)]:
        result.get(timeout=60)
    started = time.monotonic()
    results = [app.send_task(NOOP_TASK, queue=NOOP_QUEUE) for _ in range(count)]
    for result in results:
        result.get(timeout=max(1.0, started + RUN_SECONDS_LIMIT - time.monotonic()))
    return time.monotonic() - started


async def make_tasks(channel: grpc.aio.Channel, caller: Caller, count: int) -> list[int]:
    """`count` queued tasks (post articles of WORD_COUNT words) in one new cluster."""
    planner = planner_pb2_grpc.PlannerServiceStub(channel)
    tasks = tasks_pb2_grpc.TasksServiceStub(channel)
    cluster = await planner.CreateCluster(planner_pb2.CreateClusterRequest(
        cluster=planner_pb2.Cluster(name="trail running shoes")), metadata=caller.metadata())
    ids = []
    for n in range(count):
        task = await tasks.CreateTask(tasks_pb2.CreateTaskRequest(task=tasks_pb2.Task(
            title=f"Best trail running shoes for rocky ground, part {n}", cluster_id=cluster.id,
            keywords="trail running shoes, rocky trails, grip", word_count=WORD_COUNT,
            content_type=common_pb2.CONTENT_TYPE_POST, content_structure=common_pb2.CONTENT_STRUCTURE_ARTICLE,
        )), metadata=caller.metadata())
        ids.append(task.id)
    return ids


async def _last_event(jobs: jobs_pb2_grpc.JobsServiceStub, caller: Caller, job_id: int) -> jobs_pb2.Job:
    last: jobs_pb2.Job | None = None
    async for event in jobs.WatchJob(jobs_pb2.WatchJobRequest(job_id=job_id), metadata=caller.metadata()):
        last = event.job
    assert last is not None
    return last


async def generate_all(
    channel: grpc.aio.Channel, caller: Caller, task_ids: list[int]
) -> tuple[float, list[jobs_pb2.Job]]:
    """Ask for every task in calls of BATCH and watch each job to its end: (wall time of the first
    call, ended jobs)."""
    tasks = tasks_pb2_grpc.TasksServiceStub(channel)
    jobs = jobs_pb2_grpc.JobsServiceStub(channel)
    watchers = []
    started = time.time()
    for first in range(0, len(task_ids), BATCH):
        answer = await tasks.AutoGenerateContent(tasks_pb2.AutoGenerateContentRequest(
            task_ids=task_ids[first:first + BATCH]), metadata=caller.metadata())
        watchers.append(asyncio.create_task(_last_event(jobs, caller, answer.job.id)))
    ended = await bounded(asyncio.gather(*watchers), RUN_SECONDS_LIMIT, "the generation jobs")
    return started, list(ended)  # type: ignore[call-overload]


async def measure_pipeline(address: str, caller: Caller, items: int) -> float:
    """Seconds from the first AutoGenerateContent call to the end of the last job (after a warm-up job)."""
    async with grpc.aio.insecure_channel(address) as channel:
        task_ids = await make_tasks(channel, caller, items + 2)
        # Warm-up: the worker opens its event loop, database pool and model on its first items.
        await generate_all(channel, caller, task_ids[:2])
        started, ended = await generate_all(channel, caller, task_ids[2:])
    failed = [j.id for j in ended if j.state != jobs_pb2.JOB_STATE_SUCCEEDED]
    if failed:
        raise RuntimeError(f"jobs {failed} did not succeed")
    return max(j.end_time.ToDatetime(tzinfo=UTC).timestamp() for j in ended) - started


def worker_argv(pool: str, concurrency: int) -> list[str]:
    """`writer-service worker` with this pool."""
    return [sys.executable, "-m", "writer_service.cli", "worker", f"--pool={pool}", f"--concurrency={concurrency}"]


def noop_worker_argv(pool: str, concurrency: int) -> list[str]:
    """A bare Celery worker for the no-op app, with the options `writer-service worker` passes."""
    return [sys.executable, "-m", "celery", "-A", "bench.pipeline:noop_app", "worker", f"--pool={pool}",
            f"--concurrency={concurrency}", "--loglevel=WARNING", "-Q", NOOP_QUEUE, "--without-gossip",
            "--without-mingle"]


def run(args: argparse.Namespace) -> Figures:
    """Start everything, measure both rates, stop and clean up."""
    broker = f"redis://127.0.0.1:6379/{args.redis_db}"
    logs = Path(tempfile.mkdtemp(prefix="writer-bench-"))
    client = redis.Redis.from_url(broker)
    if client.dbsize():
        raise SystemExit(f"redis database {args.redis_db} is not empty; pick another with --redis-db")
    try:
        with throwaway_database(postgres_admin_url()) as database_url:
            caller = asyncio.run(bootstrap_account(database_url, credits_amount=10 * args.items * WORD_COUNT))
            address = f"127.0.0.1:{free_port()}"
            env = service_env(WRITER_DATABASE_URL=database_url, WRITER_BROKER_URL=broker,
                              WRITER_LISTEN_ADDRESS=address, WRITER_DATA_DIR=str(logs / "var"),
                              WRITER_LOG_LEVEL="WARNING", WRITER_SHUTDOWN_GRACE_SECONDS="2")
            env[BROKER_ENV] = broker
            with running(noop_worker_argv(args.pool, args.concurrency), env=env, log_path=logs / "noop-worker.log"):
                noop_seconds = measure_noop(make_noop_app(broker), args.noop)
            with running(server_argv(), env=env, log_path=logs / "server.log") as server, \
                    running(worker_argv(args.pool, args.concurrency), env=env, log_path=logs / "worker.log") as worker:
                wait_serving(address, server)
                with profiling(worker.pid, args.profile, log_path=logs / "py-spy.log"):
                    pipeline_seconds = asyncio.run(measure_pipeline(address, caller, args.items))
    finally:
        client.flushdb()
        client.close()
    print(f"(process logs in {logs})", file=sys.stderr)
    return Figures(items=args.items, pipeline_seconds=pipeline_seconds, noop_tasks=args.noop,
                   noop_seconds=noop_seconds)


def report(figures: Figures, args: argparse.Namespace) -> None:
    """The figures as a table, with the verdict."""
    print_table(f"Generation pipeline (Celery + Redis, one worker: --pool={args.pool} "
                f"--concurrency={args.concurrency}, PostgreSQL)", [
        ("template generations", f"{figures.items} ({WORD_COUNT} words each, calls of {BATCH})"),
        ("first call -> last job end", f"{figures.pipeline_seconds:.2f} s"),
        ("pipeline", f"{figures.items_per_second:.1f} items/s"),
        ("bare Celery no-op round trips", f"{figures.noop_tasks} in {figures.noop_seconds:.2f} s"),
        ("no-op", f"{figures.noop_per_second:.1f} tasks/s"),
        ("ratio (target >= 0.5)", f"{figures.ratio:.2f}  {verdict(figures.ratio >= TARGET_RATIO)}"),
    ])


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run the benchmark, print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.pipeline", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, help="template generations (default 200; 30 with --quick)")
    parser.add_argument("--noop", type=int, help="no-op Celery tasks (default 1000; 200 with --quick)")
    parser.add_argument("--pool", choices=["solo", "threads", "prefork"], default="solo",
                        help="the worker pool of both workers (default solo)")
    parser.add_argument("--concurrency", type=int, default=1, help="pool size of both workers (default 1)")
    parser.add_argument("--quick", action="store_true", help="a short run")
    parser.add_argument("--redis-db", type=int, default=DEFAULT_REDIS_DB, help="Redis database number (flushed)")
    parser.add_argument("--profile", type=Path, help="record the writer worker with py-spy into this file "
                        "(.svg flame graph, .json speedscope, else collapsed stacks)")
    args = parser.parse_args(argv)
    args.items = args.items or (30 if args.quick else 200)
    args.noop = args.noop or (200 if args.quick else 1000)
    if args.items < 1 or args.noop < 1 or args.concurrency < 1:
        parser.error("--items, --noop and --concurrency must be positive")
    report(run(args), args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
