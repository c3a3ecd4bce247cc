"""Message brokers for end-to-end tests: is one there, and a corner of it that no other run uses.

Redis: a database number (1-15) claimed with a key and flushed afterwards. RabbitMQ: a virtual host
of its own when `rabbitmqctl` can make one, else the default one. The URLs are
WRITER_TEST_REDIS_URL and WRITER_TEST_RABBITMQ_URL, else the local defaults.
"""

from __future__ import annotations

import functools
import os
import random
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from urllib.parse import urlsplit

import redis
from kombu import Connection

from tests.conftest import require_or_skip

REDIS_URL = os.environ.get("WRITER_TEST_REDIS_URL") or "redis://127.0.0.1:6379"
RABBITMQ_URL = os.environ.get("WRITER_TEST_RABBITMQ_URL") or "amqp://guest:guest@127.0.0.1:5672//"
CLAIM_KEY = "writer-e2e:claim"
CLAIM_SECONDS = 900


@functools.cache
def redis_available() -> bool:
    """True when Redis answers PING within two seconds."""
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=2, socket_connect_timeout=2).ping())
    except (redis.RedisError, OSError):
        return False


@functools.cache
def rabbitmq_available() -> bool:
    """True when RabbitMQ accepts an AMQP connection within two seconds."""
    try:
        with Connection(RABBITMQ_URL, connect_timeout=2) as connection:
            connection.ensure_connection(max_retries=1)
    except Exception:  # noqa: BLE001 - kombu raises whatever its transport raises
        return False
    return True


@contextmanager
def redis_broker() -> Iterator[str]:
    """The URL of an empty Redis database claimed for this test; flushed afterwards."""
    base = REDIS_URL.rstrip("/")
    token = uuid.uuid4().hex
    for number in random.sample(range(1, 16), 15):
        client = redis.Redis.from_url(f"{base}/{number}", socket_timeout=5)
        if client.set(CLAIM_KEY, token, nx=True, ex=CLAIM_SECONDS):
            if client.dbsize() == 1:
                break
            client.delete(CLAIM_KEY)  # someone else's data: not ours to flush
        client.close()
    else:
        raise AssertionError("no free Redis database among 1-15")
    try:
        yield f"{base}/{number}"
    finally:
        client.flushdb()
        client.close()


def _rabbitmqctl(*args: str) -> bool:
    command = shutil.which("rabbitmqctl")
    if command is None:
        return False
    done = subprocess.run([command, "-q", *args], capture_output=True, text=True, timeout=60)
    return done.returncode == 0


@contextmanager
def rabbitmq_broker() -> Iterator[str]:
    """The URL of a RabbitMQ virtual host made for this test (deleted afterwards), or of the
    default one when this machine cannot make one."""
    vhost = f"writer-e2e-{uuid.uuid4().hex[:12]}"
    if not _rabbitmqctl("add_vhost", vhost):
        yield RABBITMQ_URL
        return
    try:
        url = urlsplit(RABBITMQ_URL)
        assert _rabbitmqctl("set_permissions", "-p", vhost, url.username or "guest", ".*", ".*", ".*")
        yield f"{url.scheme}://{url.netloc}/{vhost}"
    finally:
        _rabbitmqctl("delete_vhost", vhost)


def broker(name: str) -> AbstractContextManager[str]:
    """A corner of the named broker ("redis" or "rabbitmq") for this test; skips when it does not answer."""
    if name == "redis":
        require_or_skip(redis_available(), "Redis")
        return redis_broker()
    require_or_skip(rabbitmq_available(), "RabbitMQ")
    return rabbitmq_broker()
