"""A closed-loop load generator: N calls in flight, each caller sends its next call when one ends.

Every caller runs for a warm-up (not counted) and then for a fixed duration; the result is the
calls completed per second and the latency percentiles of the measured calls.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace

import grpc

Call = Callable[[], Awaitable[object]]


@dataclass(frozen=True)
class Result:
    """What one scenario measured."""

    name: str
    calls: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float
    first_error: str = ""
    latencies: tuple[float, ...] = field(default=(), repr=False)  # seconds, sorted
    run_rates: tuple[float, ...] = ()  # the req/s of each run merged into this result, in order

    @property
    def rate(self) -> float:
        """Successful calls per second."""
        return self.calls / self.seconds if self.seconds else 0.0


def percentile(sorted_values: list[float], fraction: float) -> float:
    """The nearest-rank percentile of already sorted values (0 for none)."""
    if not sorted_values:
        return 0.0
    rank = max(0, min(len(sorted_values) - 1, round(fraction * len(sorted_values)) - 1))
    return sorted_values[rank]


async def run(name: str, call: Call, *, concurrency: int, warmup: float, duration: float) -> Result:
    """Drive `call` with `concurrency` callers: `warmup` seconds uncounted, then `duration` counted."""
    latencies: list[float] = []
    errors: list[str] = []
    loop = asyncio.get_running_loop()
    start = loop.time() + warmup
    stop = start + duration

    async def caller() -> None:
        while True:
            began = time.perf_counter()
            now = loop.time()
            if now >= stop:
                return
            counted = now >= start
            try:
                await call()
            except grpc.aio.AioRpcError as error:
                if counted:
                    errors.append(f"{error.code().name}: {error.details()}")
                continue
            if counted and loop.time() <= stop:
                latencies.append(time.perf_counter() - began)

    await asyncio.gather(*(caller() for _ in range(concurrency)))
    return _result(name, latencies, len(errors), duration, errors[0] if errors else "")


def _result(name: str, latencies: list[float], errors: int, seconds: float, first_error: str) -> Result:
    latencies.sort()
    return Result(name=name, calls=len(latencies), errors=errors, seconds=seconds,
                  p50_ms=percentile(latencies, 0.50) * 1000, p99_ms=percentile(latencies, 0.99) * 1000,
                  first_error=first_error, latencies=tuple(latencies))


def merge(name: str, results: list[Result]) -> Result:
    """Several runs of one scenario as one: calls and seconds summed, percentiles of all latencies."""
    latencies = [latency for r in results for latency in r.latencies]
    first_error = next((r.first_error for r in results if r.first_error), "")
    merged = _result(name, latencies, sum(r.errors for r in results), sum(r.seconds for r in results), first_error)
    return replace(merged, run_rates=tuple(r.rate for r in results))


def table(results: list[Result]) -> str:
    """The results as an aligned text table."""
    lines = [f"{'scenario':<34} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'calls':>8} {'errors':>7}"]
    for r in results:
        lines.append(f"{r.name:<34} {r.rate:>9.0f} {r.p50_ms:>8.2f} {r.p99_ms:>8.2f} {r.calls:>8} {r.errors:>7}")
        if r.first_error:
            lines.append(f"    first error: {r.first_error}")
    return "\n".join(lines)
