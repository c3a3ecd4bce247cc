"""WatchJob benchmark: many concurrent streams on one server process, its memory and the event delay.

    python -m bench.watch_jobs [--streams N] [--jobs J] [--rate R] [--seconds S] [--quick]

On a throwaway PostgreSQL database it starts ONE writer server (no broker: nothing runs the jobs),
writes J jobs of 10 items straight through the service layer and opens N WatchJob streams spread
evenly over them (on N/100 channels). The bench then changes the jobs as a worker would (it claims
items: an `item_started` event per change, committed in PostgreSQL) at R changes per second for S
seconds, round-robin over the jobs, and times each event from the commit of its change to its
arrival on every stream that watches the job. It reports the server's resident memory idle and
with the streams open, and the delay percentiles, next to a baseline measured in the same run: the
same changes watched by ONE stream. Targets: under 300 MB and p99 under 500 ms with 1,000 streams.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import itertools
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from bench.common import (
    Caller,
    bootstrap_account,
    free_port,
    percentile,
    postgres_admin_url,
    print_table,
    profiling,
    rss_mb,
    running,
    server_argv,
    service_env,
    throwaway_database,
    verdict,
    wait_serving,
)
from igny8.writer.v1 import jobs_pb2, jobs_pb2_grpc
from writer_service.db.database import Database
from writer_service.services import jobs
from writer_service.tenancy.scoping import Placement

MEMORY_TARGET_MB = 300.0
P99_TARGET_MS = 500.0
ITEMS_PER_JOB = 10
STREAMS_PER_CHANNEL = 100
SNAPSHOT_TIMEOUT_SECONDS = 120.0


@dataclass
class Delays:
    """Commit time of every change, by (job id, sequence), and arrival time of every event seen."""

    committed: dict[tuple[int, int], float] = field(default_factory=dict)
    arrived: list[tuple[int, int, float]] = field(default_factory=list)

    def seen(self, job_id: int, sequence: int) -> None:
        """An event arrived now (matched with its commit at the end: the stream may be read before
        the task that committed the change has noted the time)."""
        self.arrived.append((job_id, sequence, time.monotonic()))

    @functools.cached_property
    def seconds(self) -> list[float]:
        """The delay of every event from the commit of its change (read once the run is over)."""
        return [max(0.0, at - self.committed[(job, seq)]) for job, seq, at in self.arrived
                if (job, seq) in self.committed]

    @property
    def missing(self) -> int:
        """Events of changes the bench did not make (none expected)."""
        return len(self.arrived) - len(self.seconds)

    def ms(self, p: float) -> float:
        """The p-th percentile of the delays, in milliseconds."""
        return percentile(self.seconds, p) * 1000


async def make_jobs(db: Database, caller: Caller, count: int) -> dict[int, list[int]]:
    """`count` pending jobs of ITEMS_PER_JOB items each, as AutoGenerateContent writes them: {job id: item ids}."""
    placement = Placement(caller.account_id, caller.site_id, caller.sector_id)
    made: dict[int, list[int]] = {}
    async with db.transaction() as session:
        for _ in range(count):
            job = await jobs.create_job(
                session, placement=placement, kind="content_generation", user_id=caller.user_id, request_id=None,
                wait=False, description="bench", items=[jobs.NewItem(credits_reserved=1)] * ITEMS_PER_JOB)
            made[job.id] = [item.id for item in job.items]
    return made


async def change(db: Database, item_id: int, delays: Delays) -> None:
    """Claim the item again (an `item_started` event; `job_started` before it the first time) and note
    when it committed."""
    async with db.transaction() as session:
        claimed = await jobs.claim_item(session, item_id=item_id)
    now = time.monotonic()
    assert claimed is not None
    job = claimed[1]
    delays.committed[(job.id, job.version)] = now
    delays.committed.setdefault((job.id, job.version - 1), now)


async def make_changes(db: Database, items: dict[int, list[int]], delays: Delays, *, rate: float,
                       seconds: float) -> int:
    """Change the jobs round-robin at `rate` changes per second for `seconds` (each change in a task
    of its own, so a slow commit does not hold back the next); how many changes."""
    cycle = itertools.cycle(list(items.values()))
    started = time.monotonic()
    changes: list[asyncio.Task[None]] = []
    while time.monotonic() - started < seconds:
        item_ids = next(cycle)
        item_id = item_ids[(len(changes) // len(items)) % len(item_ids)]
        changes.append(asyncio.create_task(change(db, item_id, delays)))
        await asyncio.sleep(max(0.0, started + len(changes) / rate - time.monotonic()))
    await asyncio.gather(*changes)
    return len(changes)


async def follow(stub: jobs_pb2_grpc.JobsServiceStub, caller: Caller, job_id: int, delays: Delays,
                 ready: asyncio.Event, waiting: list[int]) -> None:
    """Watch one job until cancelled, timing every event after the snapshot."""
    stream = stub.WatchJob(jobs_pb2.WatchJobRequest(job_id=job_id), metadata=caller.metadata())
    async for event in stream:
        if event.type == jobs_pb2.JOB_EVENT_TYPE_SNAPSHOT:
            waiting[0] -= 1
            if waiting[0] == 0:
                ready.set()
            continue
        delays.seen(job_id, event.sequence)


@dataclass
class Run:
    """One scenario: how many streams, the delays they saw and the server's memory meanwhile."""

    streams: int
    jobs: int
    changes: int = 0
    delays: Delays = field(default_factory=Delays)
    rss_open_mb: float = 0.0
    rss_peak_mb: float = 0.0
    open_seconds: float = 0.0
    cpu_share: float = 0.0  # server CPU time over wall time while the jobs change
    lags: list[float] = field(default_factory=list)  # how late this process's loop woke up (noise)


async def scenario(address: str, db: Database, caller: Caller, items: dict[int, list[int]], *, streams: int,
                   rate: float, seconds: float, server_pid: int) -> Run:
    """Open `streams` streams over the jobs, change the jobs for a while, close the streams."""
    run = Run(streams=streams, jobs=len(items))
    job_ids = list(items)
    channels = [grpc.aio.insecure_channel(address) for _ in range(max(1, -(-streams // STREAMS_PER_CHANNEL)))]
    ready, waiting = asyncio.Event(), [streams]
    started = time.monotonic()
    followers = [asyncio.create_task(follow(jobs_pb2_grpc.JobsServiceStub(channels[n % len(channels)]), caller,
                                            job_ids[n % len(job_ids)], run.delays, ready, waiting))
                 for n in range(streams)]
    try:
        await _all_open(ready, followers)
        run.open_seconds = time.monotonic() - started
        run.rss_open_mb = rss_mb(server_pid)
        samplers = [asyncio.create_task(_peak_rss(server_pid, run)), asyncio.create_task(_loop_lag(run))]
        cpu, wall = cpu_seconds(server_pid), time.monotonic()
        run.changes = await make_changes(db, items, run.delays, rate=rate, seconds=seconds)
        run.cpu_share = (cpu_seconds(server_pid) - cpu) / (time.monotonic() - wall)
        await asyncio.sleep(1.0)  # the last events in flight
        for sampler in samplers:
            sampler.cancel()
    finally:
        for task in followers:
            task.cancel()
        await asyncio.gather(*followers, return_exceptions=True)
        for channel in channels:
            await channel.close()
    return run


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux: /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _all_open(ready: asyncio.Event, followers: list[asyncio.Task[None]]) -> None:
    waiter = asyncio.create_task(ready.wait())
    done, _ = await asyncio.wait([waiter, *followers], timeout=SNAPSHOT_TIMEOUT_SECONDS,
                                 return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    if waiter not in done:
        failed = [t for t in done if t.exception() is not None]
        raise RuntimeError(f"the streams did not all open: {failed[0].exception() if failed else 'timeout'}")


async def _loop_lag(run: Run, tick: float = 0.01) -> None:
    # The bench's own loop reads the streams: when it wakes up late, every delay it notes is late too.
    while True:
        before = time.monotonic()
        await asyncio.sleep(tick)
        run.lags.append(time.monotonic() - before - tick)


async def _peak_rss(pid: int, run: Run) -> None:
    while True:
        run.rss_peak_mb = max(run.rss_peak_mb, rss_mb(pid))
        await asyncio.sleep(0.2)


async def measure(address: str, database_url: str, caller: Caller, args: argparse.Namespace,
                  server_pid: int) -> tuple[float, Run, Run]:
    """Idle memory, then the baseline (one stream on one job), then the many streams."""
    db = Database.from_url(database_url, pool_size=4)
    try:
        items = await make_jobs(db, caller, args.jobs + 1)
        baseline_job, *many_jobs = items
        idle = rss_mb(server_pid)
        baseline = await scenario(address, db, caller, {baseline_job: items[baseline_job]}, streams=1,
                                  rate=args.rate, seconds=args.seconds, server_pid=server_pid)
        many = await scenario(address, db, caller, {j: items[j] for j in many_jobs}, streams=args.streams,
                              rate=args.rate, seconds=args.seconds, server_pid=server_pid)
    finally:
        await db.close()
    return idle, baseline, many


def report(idle: float, baseline: Run, many: Run, args: argparse.Namespace) -> None:
    """Both scenarios side by side, with the verdicts."""
    def row(run: Run) -> str:
        d = run.delays
        unmatched = f", {d.missing} unmatched" if d.missing else ""
        return (f"{run.streams:>5} streams on {run.jobs:>4} jobs: {run.changes} changes, {len(d.seconds)} events, "
                f"p50 {d.ms(50):6.1f} ms, p99 {d.ms(99):6.1f} ms, max {d.ms(100):6.1f} ms{unmatched}; "
                f"server CPU {run.cpu_share:.0%}; bench loop lag p99 {percentile(run.lags, 99) * 1000:.0f} ms")

    per_stream_kb = (many.rss_peak_mb - idle) * 1024 / max(1, many.streams)
    print_table(f"WatchJob (one server process, PostgreSQL, {args.rate:g} changes/s for {args.seconds:g} s, "
                f"event poll {args.poll_seconds:g} s)", [
        ("baseline: change -> event", row(baseline)),
        ("many: change -> event", row(many)),
        ("p99 ratio many / baseline", f"{many.delays.ms(99) / max(baseline.delays.ms(99), 1e-9):.2f}"),
        ("server RSS idle", f"{idle:.1f} MB"),
        (f"server RSS, {many.streams} streams open",
         f"{many.rss_open_mb:.1f} MB (all open in {many.open_seconds:.1f} s)"),
        ("server RSS peak while changing", f"{many.rss_peak_mb:.1f} MB ({per_stream_kb:.0f} KB per stream over idle)"),
        (f"memory (target < {MEMORY_TARGET_MB:.0f} MB)", verdict(many.rss_peak_mb < MEMORY_TARGET_MB)),
        (f"p99 delay (target < {P99_TARGET_MS:.0f} ms)", verdict(many.delays.ms(99) < P99_TARGET_MS)),
    ])


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run both scenarios, print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.watch_jobs", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--streams", type=int, help="concurrent WatchJob streams (default 1000; 200 with --quick)")
    parser.add_argument("--jobs", type=int, help="jobs the streams watch (default streams/10)")
    parser.add_argument("--rate", type=float, default=50.0, help="job changes per second (default 50)")
    parser.add_argument("--seconds", type=float, help="how long the jobs change (default 20; 5 with --quick)")
    parser.add_argument("--poll-seconds", type=float, default=0.1,
                        help="the server's WRITER_JOB_EVENT_POLL_SECONDS (default 0.1, the service default)")
    parser.add_argument("--quick", action="store_true", help="a short run")
    parser.add_argument("--profile", type=Path, help="record the server with py-spy into this file "
                        "(.svg flame graph, .json speedscope, else collapsed stacks)")
    args = parser.parse_args(argv)
    args.streams = args.streams or (200 if args.quick else 1000)
    args.jobs = args.jobs or max(1, args.streams // 10)
    args.seconds = args.seconds or (5.0 if args.quick else 20.0)
    if min(args.streams, args.jobs, args.rate, args.seconds, args.poll_seconds) <= 0:
        parser.error("every number must be positive")
    logs = Path(tempfile.mkdtemp(prefix="writer-bench-"))
    with throwaway_database(postgres_admin_url()) as database_url:
        caller = asyncio.run(bootstrap_account(database_url, credits_amount=10 * ITEMS_PER_JOB * (args.jobs + 1)))
        address = f"127.0.0.1:{free_port()}"
        env = service_env(WRITER_DATABASE_URL=database_url, WRITER_LISTEN_ADDRESS=address,
                          WRITER_DATA_DIR=str(logs / "var"), WRITER_LOG_LEVEL="WARNING",
                          WRITER_SHUTDOWN_GRACE_SECONDS="1", WRITER_JOB_EVENT_POLL_SECONDS=str(args.poll_seconds))
        with running(server_argv(), env=env, log_path=logs / "server.log") as server:
            wait_serving(address, server)
            with profiling(server.pid, args.profile, log_path=logs / "py-spy.log"):
                idle, baseline, many = asyncio.run(measure(address, database_url, caller, args, server.pid))
    print(f"(server log in {logs})", file=sys.stderr)
    report(idle, baseline, many, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
