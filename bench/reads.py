"""Reads benchmark: GetTask, ListTasks (first page and a deep page) and CreateTask through the writer
service on PostgreSQL, beside the same reads done by raw psycopg from a bare grpc.aio handler.

    python -m bench.reads --quick     # 20,000 tasks, 3 s per scenario: about a minute
    python -m bench.reads             # 1,000,000 tasks, 12 s per scenario: about four minutes

It creates a database writer_bench_<hex> (next to WRITER_BENCH_POSTGRES_URL's, by default
postgres@127.0.0.1:5432), seeds it, starts both servers as processes and checks that they answer
the measured calls with the same messages. It measures each scenario with a closed loop of
--concurrency calls in flight; the scenarios compared with each other take turns, in --rounds runs
each, so that a noisy moment on the machine hits every side alike. It prints req/s, p50 and p99,
and the ratios against their targets (the median of the rounds' ratios), then stops the servers
and drops the database.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
from collections.abc import Awaitable
from dataclasses import dataclass

import grpc

from bench import closed_loop
from bench.closed_loop import Result
from bench.common import bench_database
from bench.reads_plans import page_plans
from bench.reads_servers import raw_server, writer_server
from bench.tasks_seed import Seeded, deep_page_token, seed
from igny8.writer.v1 import common_pb2, tasks_pb2, tasks_pb2_grpc

PAGE_SIZE = 50
RAW_POOL_SIZE = 10  # the service's default WRITER_DB_POOL_SIZE


@dataclass(frozen=True)
class Target:
    """A ratio of two scenarios' req/s and the least it may be."""

    label: str
    numerator: str
    denominator: str
    at_least: float


TARGETS = [
    Target("GetTask: service / raw", "service GetTask", "raw GetTask", 0.8),
    Target("ListTasks first page: service / raw", "service ListTasks first page", "raw ListTasks first page", 0.7),
    Target("ListTasks deep page: service / raw", "service ListTasks deep page", "raw ListTasks deep page", 0.7),
    # "The deep page within 1.3x of the first": deep req/s at least first req/s / 1.3.
    Target("service ListTasks deep / first page", "service ListTasks deep page", "service ListTasks first page",
           1 / 1.3),
    Target("raw ListTasks deep / first page", "raw ListTasks deep page", "raw ListTasks first page", 1 / 1.3),
]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m bench.reads", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 tasks, 3 s per scenario in 3 rounds")
    parser.add_argument("--tasks", type=int, help="tasks to seed (default 1,000,000; 20,000 with --quick)")
    parser.add_argument("--duration", type=float, help="measured seconds per scenario (default 12; 3 with --quick)")
    parser.add_argument("--rounds", type=int, help="runs the duration is split into (default 6; 3 with --quick)")
    parser.add_argument("--warmup", type=float, help="uncounted seconds before each run (default 0.5)")
    parser.add_argument("--concurrency", type=int, default=16, help="calls in flight (default 16)")
    args = parser.parse_args(argv)
    args.tasks = args.tasks or (20_000 if args.quick else 1_000_000)
    args.duration = args.duration or (3.0 if args.quick else 12.0)
    args.rounds = max(1, args.rounds or (3 if args.quick else 6))
    args.warmup = args.warmup if args.warmup is not None else 0.5
    return args


def _same_tasks(a: list[tasks_pb2.Task], b: list[tasks_pb2.Task], what: str) -> None:
    # Both servers must answer the same messages, or the comparison means nothing.
    if a != b:
        raise SystemExit(f"the service and the raw baseline answer {what} differently")


async def check_answers(service: tasks_pb2_grpc.TasksServiceStub, raw: tasks_pb2_grpc.TasksServiceStub,
                        seeded: Seeded, deep_token: str) -> None:
    """Stop when the two servers' answers to the measured calls differ."""
    md = seeded.metadata()
    get = tasks_pb2.GetTaskRequest(id=seeded.last_task_id)
    _same_tasks([await service.GetTask(get, metadata=md)], [await raw.GetTask(get, metadata=md)], "GetTask")
    for token in ("", deep_token):
        request = tasks_pb2.ListTasksRequest(page_size=PAGE_SIZE, page_token=token)
        a, b = await service.ListTasks(request, metadata=md), await raw.ListTasks(request, metadata=md)
        _same_tasks(list(a.tasks), list(b.tasks), "ListTasks")
        if a.next_page_token != b.next_page_token:
            raise SystemExit("the service and the raw baseline answer different page tokens")
        if len(a.tasks) != PAGE_SIZE or not a.next_page_token:
            raise SystemExit(f"ListTasks answered {len(a.tasks)} tasks, not a full page")


async def interleaved(args: argparse.Namespace, scenarios: list[tuple[str, closed_loop.Call]]) -> list[Result]:
    """Run scenarios that are compared with each other in turn, `args.rounds` times, starting each round
    one scenario later, and merge each scenario's runs: a noisy moment hits every side alike."""
    runs: dict[str, list[Result]] = {name: [] for name, _ in scenarios}
    for i in range(args.rounds):
        shift = i % len(scenarios)
        for name, call in scenarios[shift:] + scenarios[:shift]:
            runs[name].append(await closed_loop.run(name, call, concurrency=args.concurrency, warmup=args.warmup,
                                                    duration=args.duration / args.rounds))
    merged = [closed_loop.merge(name, runs[name]) for name, _ in scenarios]
    print(closed_loop.table(merged).split("\n", 1)[1], flush=True)
    return merged


async def measure(args: argparse.Namespace, seeded: Seeded, deep_token: str, service_address: str,
                  raw_address: str) -> list[Result]:
    """Every scenario, raw and service side by side, CreateTask last (it adds rows)."""
    md = seeded.metadata()
    first = tasks_pb2.ListTasksRequest(page_size=PAGE_SIZE)
    deep = tasks_pb2.ListTasksRequest(page_size=PAGE_SIZE, page_token=deep_token)
    async with grpc.aio.insecure_channel(service_address) as s_channel, \
            grpc.aio.insecure_channel(raw_address) as r_channel:
        service, raw = tasks_pb2_grpc.TasksServiceStub(s_channel), tasks_pb2_grpc.TasksServiceStub(r_channel)
        await check_answers(service, raw, seeded, deep_token)

        def get_task(stub: tasks_pb2_grpc.TasksServiceStub) -> closed_loop.Call:
            lo, hi = seeded.first_task_id, seeded.last_task_id
            return lambda: stub.GetTask(tasks_pb2.GetTaskRequest(id=random.randint(lo, hi)), metadata=md)

        def create_task() -> Awaitable[object]:
            task = tasks_pb2.Task(title="A bench task", cluster_id=seeded.cluster_id,
                                  content_type=common_pb2.CONTENT_TYPE_POST,
                                  content_structure=common_pb2.CONTENT_STRUCTURE_ARTICLE, keywords="bench")
            return service.CreateTask(tasks_pb2.CreateTaskRequest(task=task), metadata=md)

        sides = (("raw", raw), ("service", service))
        results = await interleaved(args, [(f"{side} GetTask", get_task(stub)) for side, stub in sides])
        results += await interleaved(args, [
            (f"{side} ListTasks {page} page", _call(stub.ListTasks, request, md))
            for page, request in (("first", first), ("deep", deep)) for side, stub in sides
        ])
        results += await interleaved(args, [("service CreateTask", create_task)])
        return results


def _call(method: grpc.aio.UnaryUnaryMultiCallable, request: object, md: tuple[tuple[str, str], ...]
          ) -> closed_loop.Call:
    return lambda: method(request, metadata=md)


def ratios(results: list[Result]) -> tuple[str, bool]:
    """The target ratios as text lines with PASS or MISS, and whether all passed. A ratio is the
    median of its rounds' ratios (the two sides of a round ran seconds apart), beside the ratio of
    the totals and the lowest and highest round."""
    by_name = {r.name: r for r in results}
    lines = [f"{'ratio of req/s':<40} {'median':>6} {'totals':>6} {'rounds':>11}  target"]
    all_pass = True
    for t in TARGETS:
        num, den = by_name[t.numerator], by_name[t.denominator]
        rounds = [a / b if b else 0.0 for a, b in zip(num.run_rates, den.run_rates, strict=True)]
        value = statistics.median(rounds)
        passed = value >= t.at_least
        all_pass &= passed
        total = num.rate / den.rate if den.rate else 0.0
        lines.append(f"{t.label:<40} {value:>6.2f} {total:>6.2f} {min(rounds):>5.2f}-{max(rounds):<5.2f}  "
                     f">= {t.at_least:.2f} {'PASS' if passed else 'MISS'}")
    return "\n".join(lines), all_pass


def main(argv: list[str] | None = None) -> int:
    """Seed, serve, measure, print, clean up."""
    args = parse_args(argv)
    depth = args.tasks // 2
    print(f"reads benchmark: {args.tasks:,} tasks, {args.concurrency} calls in flight, {args.duration:g} s per "
          f"scenario in {args.rounds} interleaved runs (each after {args.warmup:g} s of warm-up), deep page after "
          f"row {depth:,}", flush=True)
    with bench_database() as url:
        seeded = seed(url, args.tasks)
        token = deep_page_token(url, seeded, depth)
        print(page_plans(url, seeded, token, PAGE_SIZE), flush=True)
        with writer_server(url) as service_address, raw_server(url, RAW_POOL_SIZE) as raw_address:
            print(closed_loop.table([]), flush=True)
            results = asyncio.run(measure(args, seeded, token, service_address, raw_address))
    failed = [r for r in results if r.errors]
    text, _ = ratios(results)
    print("\n" + text)
    if failed:
        print(f"{len(failed)} scenario(s) had errors: the figures are not comparable", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
