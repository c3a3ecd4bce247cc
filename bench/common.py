"""What every benchmark shares: a throwaway database, free ports, service processes, figures.

Everything runs on 127.0.0.1: a PostgreSQL database `writer_bench_<hex>` that is dropped at the
end, the writer server (and worker) as subprocesses, and a bootstrapped account to call them as.
"""

from __future__ import annotations

import asyncio
import math
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import psycopg
from grpc_health.v1 import health_pb2, health_pb2_grpc
from psycopg import sql
from sqlalchemy.engine import make_url

from writer_service.db.driver_reads import libpq_conninfo

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
POSTGRES_URL_ENV = "WRITER_BENCH_POSTGRES_URL"


def postgres_admin_url() -> str:
    """A database the bench may CREATE DATABASE from (WRITER_BENCH_POSTGRES_URL, else local trust)."""
    return os.environ.get(POSTGRES_URL_ENV) or DEFAULT_POSTGRES_ADMIN_URL


@contextmanager
def throwaway_database(admin_url: str) -> Iterator[str]:
    """Create writer_bench_<hex>, migrate it to head, yield its URL, drop it afterwards."""
    from writer_service.db.migrate import upgrade

    name = f"writer_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(libpq_conninfo(admin_url), autocommit=True, connect_timeout=5) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_url(admin_url).set(drivername="postgresql+psycopg", database=name)
    try:
        rendered = url.render_as_string(hide_password=False)
        upgrade(rendered)
        yield rendered
    finally:
        with psycopg.connect(libpq_conninfo(admin_url), autocommit=True, connect_timeout=5) as connection:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@contextmanager
def bench_database() -> Iterator[str]:
    """A throwaway database next to the configured admin database, migrated, dropped afterwards."""
    with throwaway_database(postgres_admin_url()) as url:
        yield url


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def service_env(**values: str) -> dict[str, str]:
    """This environment without any WRITER_* variable, plus `values`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WRITER_")}
    env.update(values)
    return env


@contextmanager
def running(argv: Sequence[str], *, env: dict[str, str], log_path: Path,
            stop: signal.Signals = signal.SIGTERM) -> Iterator[subprocess.Popen[bytes]]:
    """A subprocess writing to `log_path`; `stop` (then SIGKILL after 20 s) on the way out."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(list(argv), env=env, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(stop)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def wait_serving(address: str, process: subprocess.Popen[Any], *, timeout: float = 60.0) -> None:
    """Block until the server's health service says SERVING (or fail if the process died)."""
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited with {process.returncode} before serving")
            try:
                answer = stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if answer.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                time.sleep(0.2)
    raise RuntimeError(f"the server at {address} did not become SERVING within {timeout:.0f} s")


@contextmanager
def profiling(pid: int, output: Path | None, *, log_path: Path) -> Iterator[None]:
    """py-spy recording process `pid` into `output` (nothing when `output` is None).

    The format follows the suffix: .svg a flame graph, .json speedscope, anything else collapsed
    stacks (one line per stack with its sample count). Pool processes forked by `pid` are recorded too."""
    if output is None:
        yield
        return
    formats = {".svg": "flamegraph", ".json": "speedscope"}
    argv = [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(pid), "--rate", "250",
            "--subprocesses", "--format", formats.get(output.suffix, "raw"), "--output", str(output)]
    with running(argv, env=dict(os.environ), log_path=log_path, stop=signal.SIGINT):
        time.sleep(1.0)  # let py-spy attach before the measured work starts
        yield


def server_argv() -> list[str]:
    """`writer-service serve`, with this Python."""
    return [sys.executable, "-m", "writer_service.cli", "serve"]


@dataclass(frozen=True)
class Caller:
    """A bootstrapped account and the metadata to call the server as its owner."""

    account_id: int
    site_id: int
    sector_id: int
    user_id: int
    api_key: str

    def metadata(self) -> tuple[tuple[str, str], ...]:
        """Call metadata: the key, the account, the site and the sector."""
        return (("authorization", f"Bearer {self.api_key}"), ("x-account-id", str(self.account_id)),
                ("x-site-id", str(self.site_id)), ("x-sector-id", str(self.sector_id)))


async def bootstrap_account(database_url: str, *, credits_amount: int) -> Caller:
    """An account, site, sector, owner and API key (what `writer-service admin bootstrap` makes)."""
    from writer_service.db.database import Database
    from writer_service.services import accounts

    db = Database.from_url(database_url, pool_size=2)
    try:
        made = await accounts.bootstrap(db, name=f"bench {uuid.uuid4().hex[:8]}", credits_amount=credits_amount,
                                        email=None)
    finally:
        await db.close()
    return Caller(account_id=made.account_id, site_id=made.site_id, sector_id=made.sector_id, user_id=made.user_id,
                  api_key=made.api_key)


def rss_mb(pid: int) -> float:
    """The resident memory of a process in MB (Linux: /proc/PID/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return math.nan


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (nearest rank) of `values`; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def verdict(ok: bool) -> str:
    """PASS or MISS."""
    return "PASS" if ok else "MISS"


def print_table(title: str, rows: Sequence[tuple[str, str]]) -> None:
    """Two columns, aligned, under a title."""
    width = max(len(name) for name, _ in rows)
    print(f"\n{title}")
    print("-" * max(len(title), width + 20))
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


async def bounded(awaitable: asyncio.Future[object] | object, seconds: float, what: str) -> object:
    """Await with a deadline; a clear error naming what did not finish."""
    try:
        return await asyncio.wait_for(awaitable, timeout=seconds)  # type: ignore[arg-type]
    except TimeoutError:
        raise RuntimeError(f"{what} did not finish within {seconds:.0f} s") from None
