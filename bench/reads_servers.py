"""The two servers the reads benchmark calls, each in a process of its own on a free local port:
the writer service (`writer-service serve`) and the raw baseline (`bench.raw_tasks_server`)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from bench.common import PROJECT_ROOT, free_port
from writer_service.db.driver_reads import libpq_conninfo

START_TIMEOUT_SECONDS = 30.0


@contextmanager
def _process(argv: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(argv, cwd=PROJECT_ROOT, env=env)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def wait_ready(address: str, *, health: bool) -> None:
    """Wait until `address` answers (the health check says SERVING, when it has one)."""
    async with grpc.aio.insecure_channel(address) as channel:
        await asyncio.wait_for(channel.channel_ready(), START_TIMEOUT_SECONDS)
        if health:
            reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
            if reply.status != health_pb2.HealthCheckResponse.SERVING:
                raise RuntimeError(f"{address} is not serving")


@contextmanager
def writer_server(database_url: str) -> Iterator[str]:
    """The writer service on PostgreSQL, in a process; yields its address."""
    address = f"127.0.0.1:{free_port()}"
    with tempfile.TemporaryDirectory(prefix="writer-bench-") as data_dir:
        env = {**os.environ, "WRITER_DATABASE_URL": database_url, "WRITER_LISTEN_ADDRESS": address,
               "WRITER_DATA_DIR": data_dir, "WRITER_LOG_LEVEL": "WARNING", "WRITER_BROKER_URL": ""}
        with _process([sys.executable, "-m", "writer_service.cli", "serve"], env):
            asyncio.run(wait_ready(address, health=True))
            yield address


@contextmanager
def raw_server(database_url: str, pool_size: int) -> Iterator[str]:
    """The raw psycopg baseline, in a process; yields its address."""
    port = free_port()
    argv = [sys.executable, "-m", "bench.raw_tasks_server", "--dsn", libpq_conninfo(database_url),
            "--port", str(port), "--pool", str(pool_size)]
    with _process(argv, dict(os.environ)):
        asyncio.run(wait_ready(f"127.0.0.1:{port}", health=False))
        yield f"127.0.0.1:{port}"
