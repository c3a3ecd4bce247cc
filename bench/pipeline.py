"""Generation pipeline benchmark: template generations through Celery + Redis with one worker.

    python -m bench.pipeline [--items N] [--noop M] [--rounds R] [--pool solo|threads|prefork]
                             [--concurrency C] [--quick] [--profile FILE]

On a throwaway PostgreSQL database and a Redis database of its own (flushed at the end) it starts
the writer server, ONE `writer-service worker` and a bare Celery worker of a no-op task, as
processes, on the same broker and with the same pool. Each round measures both sides in turn:

- the baseline: M no-op tasks sent at once, each a round trip (the caller gets its result back),
  from the first send to the last result, as tasks/s;
- the pipeline: N new tasks (articles of 1,000 words) asked for with AutoGenerateContent in calls
  of 10 and watched with WatchJob, from the first call to the end of the last job (the job's
  end_time, written by the worker), as items/s.

It prints the medians of the rounds and the ratio pipeline / no-op against the target of 0.5.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path

import grpc
import redis
from celery import Celery

from bench.common import (
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
    """What the rounds measured: seconds per round of each side."""

    items: int
    noop_tasks: int
    pipeline_seconds: list[float] = field(default_factory=list)
    noop_seconds: list[float] = field(default_factory=list)

    def items_per_second(self) -> list[float]:
        """Template generations per second of each round, first call to last job end."""
        return [self.items / s for s in self.pipeline_seconds]

    def noop_per_second(self) -> list[float]:
        """No-op round trips per second of each round."""
        return [self.noop_tasks / s for s in self.noop_seconds]

    def ratios(self) -> list[float]:
        """The pipeline's rate over the no-op rate, round by round (the two sides take turns)."""
        return [p / n for p, n in zip(self.items_per_second(), self.noop_per_second(), strict=True)]


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


async def measure_pipeline(address: str, caller: Caller, items: int, *, warm_up: bool) -> float:
    """Seconds from the first AutoGenerateContent call to the end of the last job."""
    async with grpc.aio.insecure_channel(address) as channel:
        task_ids = await make_tasks(channel, caller, items + 2)
        if warm_up:  # the worker opens its event loop, database pool and model on its first items
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
    """Start everything, measure both sides taking turns, stop and clean up."""
    broker = f"redis://127.0.0.1:6379/{args.redis_db}"
    logs = Path(tempfile.mkdtemp(prefix="writer-bench-"))
    client = redis.Redis.from_url(broker)
    if client.dbsize():
        raise SystemExit(f"redis database {args.redis_db} is not empty; pick another with --redis-db")
    figures = Figures(items=args.items, noop_tasks=args.noop)
    try:
        with throwaway_database(postgres_admin_url()) as database_url:
            credits_needed = 10 * (args.items + 2) * args.rounds * WORD_COUNT
            caller = asyncio.run(bootstrap_account(database_url, credits_amount=credits_needed))
            address = f"127.0.0.1:{free_port()}"
            env = service_env(WRITER_DATABASE_URL=database_url, WRITER_BROKER_URL=broker,
                              WRITER_LISTEN_ADDRESS=address, WRITER_DATA_DIR=str(logs / "var"),
                              WRITER_LOG_LEVEL="WARNING", WRITER_SHUTDOWN_GRACE_SECONDS="2")
            env[BROKER_ENV] = broker
            noop = make_noop_app(broker)
            with running(noop_worker_argv(args.pool, args.concurrency), env=env, log_path=logs / "noop-worker.log"), \
                    running(server_argv(), env=env, log_path=logs / "server.log") as server, \
                    running(worker_argv(args.pool, args.concurrency), env=env, log_path=logs / "worker.log") as worker:
                wait_serving(address, server)
                with profiling(worker.pid, args.profile, log_path=logs / "py-spy.log"):
                    for n in range(args.rounds):
                        figures.noop_seconds.append(measure_noop(noop, args.noop))
                        figures.pipeline_seconds.append(
                            asyncio.run(measure_pipeline(address, caller, args.items, warm_up=n == 0)))
                        print(f"round {n + 1}: {figures.items_per_second()[-1]:.1f} items/s, "
                              f"{figures.noop_per_second()[-1]:.1f} no-op/s", file=sys.stderr)
    finally:
        client.flushdb()
        client.close()
    print(f"(process logs in {logs})", file=sys.stderr)
    return figures


def report(figures: Figures, args: argparse.Namespace) -> None:
    """Medians of the rounds as a table, with the verdict."""
    def spread(values: list[float]) -> str:
        return f"{statistics.median(values):.1f} (rounds: {', '.join(f'{v:.1f}' for v in values)})"

    ratio = statistics.median(figures.ratios())
    print_table(f"Generation pipeline (Celery + Redis, one worker: --pool={args.pool} "
                f"--concurrency={args.concurrency}, PostgreSQL)", [
        ("template generations per round", f"{figures.items} ({WORD_COUNT} words each, calls of {BATCH})"),
        ("pipeline items/s", spread(figures.items_per_second())),
        ("bare Celery no-op round trips per round", f"{figures.noop_tasks}"),
        ("no-op tasks/s", spread(figures.noop_per_second())),
        ("ratio, median of rounds", f"{ratio:.2f} (rounds: {', '.join(f'{r:.2f}' for r in figures.ratios())})"),
        (f"target >= {TARGET_RATIO}", verdict(ratio >= TARGET_RATIO)),
    ])


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run the benchmark, print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.pipeline", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, help="template generations per round (default 100; 30 with --quick)")
    parser.add_argument("--noop", type=int, help="no-op Celery tasks per round (default 1000; 300 with --quick)")
    parser.add_argument("--rounds", type=int, help="rounds, the two sides taking turns (default 5; 2 with --quick)")
    parser.add_argument("--pool", choices=["solo", "threads", "prefork"], default="solo",
                        help="the worker pool of both workers (default solo)")
    parser.add_argument("--concurrency", type=int, default=1, help="pool size of both workers (default 1)")
    parser.add_argument("--quick", action="store_true", help="a short run")
    parser.add_argument("--redis-db", type=int, default=DEFAULT_REDIS_DB, help="Redis database number (flushed)")
    parser.add_argument("--profile", type=Path, help="record the writer worker with py-spy into this file "
                        "(.svg flame graph, .json speedscope, else collapsed stacks)")
    args = parser.parse_args(argv)
    args.items = args.items or (30 if args.quick else 100)
    args.noop = args.noop or (300 if args.quick else 1000)
    args.rounds = args.rounds or (2 if args.quick else 5)
    if min(args.items, args.noop, args.rounds, args.concurrency) < 1:
        parser.error("--items, --noop, --rounds and --concurrency must be positive")
    report(run(args), args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
