"""Automation stage 3 benchmark: ideas -> queued tasks, rows/s, beside a bare Core executemany.

    python -m bench.stage3 --quick    # 1,000 ideas per measurement, 3 rounds: about 20 s
    python -m bench.stage3            # 2,000 ideas per measurement, 5 rounds: about a minute

On a throwaway PostgreSQL database (next to WRITER_BENCH_POSTGRES_URL's, by default
postgres@127.0.0.1:5432; dropped at the end) it makes one account with one cluster and --history
ideas that already have their tasks (VACUUM ANALYZE then gives the planner statistics, as on tables
that have lived a while), then, for each measurement, fresh ideas (not timed) and times turning
them into tasks:

  rpc      AutomationService.RunTaskCreationStage against `writer-service serve` in a process of its
           own, each stream read to its end by a grpc client (runs of max_items 500, as many as the
           ideas need): what a caller pays, events and all;
  service  the same runs in this process through the service function the RPC relays
           (services.automation.runner.Automation.run), every event consumed, no gRPC;
  bare     one SQLAlchemy Core executemany of the same task rows (the columns and values stage 3
           writes) into the same table, in one transaction, on a sync psycopg engine.

and, to show what the stream alone costs, `stream`: the messages RunTaskCreationStage sends for
that many ideas (ItemStarted and ItemSucceeded per idea, a StageProgress per batch, a summary per run) from a
bare grpc.aio server in a process of its own, with no database behind it: the ceiling of any RPC
that streams those events.

The sides take turns, each round starting one later, so a noisy moment hits every side alike. It
prints rows/s of every measurement, the medians, and the ratios against the target (rpc / bare at
least 0.5).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any, TypeAlias, cast

import grpc
from sqlalchemy import Engine, Table, create_engine, func, insert, select

from bench.common import PROJECT_ROOT, bench_database, free_port
from bench.reads_servers import wait_ready, writer_server
from igny8.writer.v1 import automation_pb2 as pb
from igny8.writer.v1 import automation_pb2_grpc
from writer_service.api.server import build_runtime
from writer_service.config import Settings
from writer_service.db.database import Database
from writer_service.db.models import Cluster, ContentIdea, Task
from writer_service.services import accounts
from writer_service.services.automation import events
from writer_service.services.automation.ideas import BATCH_SIZE as IDEAS_PER_BATCH
from writer_service.services.automation.runner import Automation
from writer_service.services.automation.runs import MAX_ITEMS
from writer_service.tenancy.context import Principal, TenantContext

TARGET_RATIO = 0.5
IDEAS = cast(Table, ContentIdea.__table__)
TASKS = cast(Table, Task.__table__)
SIDES = ("rpc", "service", "bare", "stream")
Stub: TypeAlias = automation_pb2_grpc.AutomationServiceStub


def task_row(idea: Any, now: datetime) -> dict[str, Any]:
    """The queued task stage 3 makes of an idea row: every column it writes, with the same values."""
    return {
        "account_id": idea.account_id, "site_id": idea.site_id, "sector_id": idea.sector_id,
        "title": idea.title, "description": idea.description, "cluster_id": idea.cluster_id, "idea_id": idea.id,
        "taxonomy_term_id": idea.taxonomy_term_id, "content_type": idea.content_type,
        "content_structure": idea.content_structure, "keywords": idea.target_keywords,
        "word_count": idea.estimated_word_count, "status": "queued", "version": 1,
        "create_time": now, "update_time": now,
    }


def read_runs(stub: Stub, count: int, metadata: tuple[tuple[str, str], ...] = ()) -> None:
    """RunTaskCreationStage calls, each read to its end, until `count` ideas are done. The synchronous
    client: grpc.aio's reads cost about twice as much per message on this kind of machine."""
    done = 0
    while done < count:
        request = pb.RunTaskCreationStageRequest(max_items=min(MAX_ITEMS, count - done))
        made = sum(e.summary.items_done for e in stub.RunTaskCreationStage(request, metadata=metadata)
                   if e.WhichOneof("event") == "summary")
        if made == 0:
            raise SystemExit("a RunTaskCreationStage call made no task")
        done += made


class Bench:
    """The account the ideas belong to, and the ways of turning them into tasks."""

    def __init__(self, url: str, made: accounts.Bootstrap, cluster_id: int, automation: Automation,
                 rpc: Stub, stream: Stub) -> None:
        self.made = made
        self.cluster_id = cluster_id
        self.automation = automation
        self.rpc, self.stream = rpc, stream
        self.engine: Engine = create_engine(url, pool_size=2)
        self.tenant = TenantContext(
            principal=Principal(user_id=made.user_id, role="owner", account_id=made.account_id,
                                active_site_id=made.site_id),
            account_id=made.account_id, site_id=made.site_id, sector_id=made.sector_id)
        self.metadata = (("authorization", f"Bearer {made.api_key}"), ("x-site-id", str(made.site_id)),
                         ("x-sector-id", str(made.sector_id)))

    def seed_ideas(self, count: int, *, status: str) -> list[int]:
        """`count` ideas in the cluster (not timed); the bare side's are queued, so no run takes them."""
        now, tag = datetime.now(UTC), uuid.uuid4().hex[:8]
        rows = [{"account_id": self.made.account_id, "site_id": self.made.site_id,
                 "sector_id": self.made.sector_id, "cluster_id": self.cluster_id,
                 "title": f"Trail running shoes {tag} {n}", "description": "What a beginner should know first",
                 "target_keywords": "trail running shoes, grip, cushioning", "content_type": "post",
                 "content_structure": "article", "estimated_word_count": 1200, "status": status,
                 "taxonomy_term_id": None, "version": 1, "create_time": now, "update_time": now,
                 "delete_time": None} for n in range(count)]
        with self.engine.begin() as connection:
            return list(connection.scalars(insert(IDEAS).returning(IDEAS.c.id), rows))

    def seed_history(self, count: int) -> None:
        """`count` ideas that already have their tasks (not timed), then VACUUM ANALYZE: tables that
        have lived a while, whose statistics the planner knows, as autovacuum keeps them."""
        for start in range(0, count, 5000):
            ids = self.seed_ideas(min(5000, count - start), status="queued")
            with self.engine.begin() as connection:
                rows = [task_row(idea, datetime.now(UTC))
                        for idea in connection.execute(select(IDEAS).where(IDEAS.c.id.in_(ids)))]
                connection.execute(insert(TASKS).returning(TASKS.c.id), rows)  # RETURNING: multi-row INSERTs
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            for table in ("content_ideas", "tasks", "clusters"):
                connection.exec_driver_sql(f"VACUUM (ANALYZE) {table}")

    def tasks(self) -> int:
        """Tasks of the account so far."""
        with self.engine.connect() as connection:
            return int(connection.scalar(select(func.count()).select_from(TASKS)
                                         .where(TASKS.c.account_id == self.made.account_id)) or 0)

    async def bare(self, count: int) -> float:
        """Seconds of one Core executemany of the tasks of `count` fresh ideas, committed."""
        ids = self.seed_ideas(count, status="queued")
        with self.engine.connect() as connection:
            rows = [task_row(idea, datetime.now(UTC))
                    for idea in connection.execute(select(IDEAS).where(IDEAS.c.id.in_(ids)))]
        began = time.perf_counter()
        with self.engine.begin() as connection:
            connection.execute(insert(TASKS), rows)
        return time.perf_counter() - began

    async def service(self, count: int) -> float:
        """Seconds of stage 3 runs, in this process, until `count` fresh ideas are tasks."""
        self.seed_ideas(count, status="new")
        began, done = time.perf_counter(), 0
        while done < count:
            made = 0
            async for event in self.automation.run(self.tenant, stage=events.TASK_CREATION, max_items=MAX_ITEMS):
                if isinstance(event, events.StageSummary):
                    made = event.items_done
            if made == 0:
                raise SystemExit("a stage 3 run made no task")
            done += made
        return time.perf_counter() - began

    async def over_rpc(self, count: int) -> float:
        """Seconds of RunTaskCreationStage calls until `count` fresh ideas are tasks."""
        self.seed_ideas(count, status="new")
        began = time.perf_counter()
        read_runs(self.rpc, count, self.metadata)
        return time.perf_counter() - began

    async def stream_only(self, count: int) -> float:
        """Seconds of reading the messages of `count` ideas from the server that does no work."""
        began = time.perf_counter()
        read_runs(self.stream, count)
        return time.perf_counter() - began

    def makes_tasks(self, side: str) -> bool:
        """Whether a measurement of `side` writes tasks (checked after each)."""
        return side != "stream"


class StreamOnly(automation_pb2_grpc.AutomationServiceServicer):
    """Sends what RunTaskCreationStage sends for `max_items` ideas, built as it goes, with no work behind it."""

    async def RunTaskCreationStage(  # noqa: N802
        self, request: pb.RunTaskCreationStageRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.AutomationEvent]:
        stage, total = pb.AUTOMATION_STAGE_TASK_CREATION, request.max_items
        for n in range(1, total + 1):
            yield pb.AutomationEvent(run_id=1, stage=stage, item_started=pb.ItemStarted(
                item_kind=pb.AUTOMATION_ITEM_KIND_IDEA, item_id=n, title=f"Trail running shoes 0a1b2c3d {n}"))
            yield pb.AutomationEvent(run_id=1, stage=stage, item_succeeded=pb.ItemSucceeded(
                item_kind=pb.AUTOMATION_ITEM_KIND_IDEA, item_id=n, result_kind=pb.AUTOMATION_ITEM_KIND_TASK,
                result_id=n))
            if n % IDEAS_PER_BATCH == 0 or n == total:
                yield pb.AutomationEvent(run_id=1, stage=stage,
                                         progress=pb.StageProgress(items_done=n, items_total=total))
        yield pb.AutomationEvent(run_id=1, stage=stage, summary=pb.StageSummary(
            items_done=total, state=pb.AUTOMATION_RUN_STATE_SUCCEEDED))


async def serve_stream_only(port: int) -> None:
    """The stream-only server on 127.0.0.1:`port`, until killed."""
    server = grpc.aio.server()
    automation_pb2_grpc.add_AutomationServiceServicer_to_server(StreamOnly(), server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await server.wait_for_termination()


@contextmanager
def stream_only_server() -> Iterator[str]:
    """The stream-only server in a process of its own; yields its address."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "bench.stage3", "--serve-stream-only", str(port)],
                               cwd=PROJECT_ROOT)
    try:
        asyncio.run(wait_ready(f"127.0.0.1:{port}", health=False))
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=15)


async def setup(url: str) -> tuple[accounts.Bootstrap, int]:
    """The bench's account and its one cluster."""
    db = Database.from_url(url, pool_size=1)
    try:
        made = await accounts.bootstrap(db, name=f"bench {uuid.uuid4().hex[:8]}", credits_amount=0)
        async with db.transaction() as session:
            cluster = Cluster(account_id=made.account_id, site_id=made.site_id, sector_id=made.sector_id,
                              name="trail running", keywords="trail running, shoes")
            session.add(cluster)
            await session.flush()
            return made, cluster.id
    finally:
        await db.close()


async def measure(bench: Bench, args: argparse.Namespace) -> dict[str, list[float]]:
    """Rows/s of every side in every round, the sides taking turns; a warm-up round first."""
    sides: dict[str, Callable[[int], Any]] = {"rpc": bench.over_rpc, "service": bench.service, "bare": bench.bare,
                                              "stream": bench.stream_only}
    bench.seed_history(args.history)
    for side in SIDES:
        await sides[side](min(args.rows, MAX_ITEMS))
    rates: dict[str, list[float]] = {side: [] for side in SIDES}
    print(f"{'round':>6}  " + "  ".join(f"{side + ' rows/s':>15}" for side in SIDES), flush=True)
    for n in range(args.rounds):
        for side in SIDES[n % len(SIDES):] + SIDES[:n % len(SIDES)]:
            before = bench.tasks()
            seconds = await sides[side](args.rows)
            if bench.makes_tasks(side) and bench.tasks() - before != args.rows:
                raise SystemExit(f"{side}: {bench.tasks() - before} tasks made, not {args.rows}")
            rates[side].append(args.rows / seconds)
        print(f"{n + 1:>6}  " + "  ".join(f"{rates[side][-1]:>15,.0f}" for side in SIDES), flush=True)
    return rates


def report(rates: dict[str, list[float]]) -> None:
    """Medians and the ratios against the bare executemany."""
    median = {side: statistics.median(values) for side, values in rates.items()}
    print(f"{'median':>6}  " + "  ".join(f"{median[side]:>15,.0f}" for side in SIDES))
    ratio = {side: median[side] / median["bare"] for side in SIDES}
    print(f"\nrpc / bare      {ratio['rpc']:.2f}  (target >= {TARGET_RATIO})  "
          f"{'PASS' if ratio['rpc'] >= TARGET_RATIO else 'MISS'}")
    print(f"service / bare  {ratio['service']:.2f}  (the same runs without gRPC)")
    print(f"stream / bare   {ratio['stream']:.2f}  (the stream alone, no database: the ceiling of rpc / bare)")


async def run(url: str, address: str, stream_address: str, args: argparse.Namespace,
              data_dir: Path) -> dict[str, list[float]]:
    """Measure against the two servers and through this process's own runtime, then close."""
    made, cluster_id = await setup(url)
    settings = Settings(database_url=url, data_dir=data_dir, broker_url="", log_level="WARNING")
    runtime = build_runtime(settings, Database.from_url(url, pool_size=settings.db_pool_size))
    try:
        with grpc.insecure_channel(address) as channel, grpc.insecure_channel(stream_address) as stream_channel:
            bench = Bench(url, made, cluster_id, runtime.automation, Stub(channel), Stub(stream_channel))
            try:
                return await measure(bench, args)
            finally:
                bench.engine.dispose()
    finally:
        await runtime.close()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m bench.stage3", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 ideas per measurement, 3 rounds")
    parser.add_argument("--rows", type=int, help="ideas per measurement (default 2,000; 1,000 with --quick)")
    parser.add_argument("--rounds", type=int, help="measurements of each side (default 5; 3 with --quick)")
    parser.add_argument("--history", type=int, default=20_000,
                        help="ideas (with their tasks) in the tables before the first measurement (default 20,000)")
    parser.add_argument("--serve-stream-only", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.rows = args.rows or (1000 if args.quick else 2000)
    args.rounds = max(1, args.rounds or (3 if args.quick else 5))
    return args


def main(argv: list[str] | None = None) -> int:
    """Make the database, start the servers, measure, print, stop them and drop the database."""
    args = parse_args(argv)
    if args.serve_stream_only:
        asyncio.run(serve_stream_only(args.serve_stream_only))
        return 0
    print(f"stage 3 benchmark: {args.rows:,} ideas -> tasks per measurement, {args.rounds} interleaved rounds "
          f"after a warm-up, PostgreSQL with {args.history:,} ideas and tasks already, runs of at most "
          f"{MAX_ITEMS} ideas", flush=True)
    with (bench_database() as url, writer_server(url) as address, stream_only_server() as stream_address,
          TemporaryDirectory(prefix="writer-bench-") as data):
        rates = asyncio.run(run(url, address, stream_address, args, Path(data)))
    report(rates)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
