"""Database URLs for tests: a SQLite file under tmp_path, or a throwaway PostgreSQL database.

The PostgreSQL admin URL is WRITER_TEST_POSTGRES_URL, else postgres@127.0.0.1:5432 (trust auth).
"""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import URL, make_url

DEFAULT_POSTGRES_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
POSTGRES_URL_ENV = "WRITER_TEST_POSTGRES_URL"
CONNECT_TIMEOUT_SECONDS = 2


def postgres_admin_url() -> URL:
    """The URL of a database the tests may connect to and CREATE DATABASE from."""
    return make_url(os.environ.get(POSTGRES_URL_ENV) or DEFAULT_POSTGRES_ADMIN_URL)


def _libpq(url: URL) -> str:
    # psycopg takes a plain postgresql:// URI, without SQLAlchemy's "+driver".
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _admin_connection() -> psycopg.Connection:
    return psycopg.connect(_libpq(postgres_admin_url()), autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS)


@functools.cache
def postgres_available() -> bool:
    """True when the admin URL answers within the timeout (asked once per test run)."""
    try:
        with _admin_connection() as connection:
            connection.execute("SELECT 1")
    except (psycopg.Error, OSError):
        return False
    return True


POSTGRES_SKIP_REASON = (
    f"PostgreSQL not reachable at {postgres_admin_url().render_as_string(hide_password=True)} "
    f"(set {POSTGRES_URL_ENV} to an admin URL to run these tests)"
)


@contextmanager
def temporary_postgres_database() -> Iterator[str]:
    """Create writer_test_<hex>, yield its SQLAlchemy URL (psycopg driver), drop it afterwards."""
    name = f"writer_test_{uuid.uuid4().hex}"
    with _admin_connection() as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        url = postgres_admin_url().set(drivername="postgresql+psycopg", database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        with _admin_connection() as connection:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def sqlite_url(directory: Path) -> str:
    """A SQLite file URL in `directory` (pytest's tmp_path)."""
    return f"sqlite:///{directory / 'writer.db'}"


# Parametrize database tests with these; the PostgreSQL case skips (with the reason) when unreachable.
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@contextmanager
def empty_database_url(backend: str, directory: Path) -> Iterator[str]:
    """An empty database of `backend` ("sqlite" or "postgresql").

    Without PostgreSQL the test skips, or fails when WRITER_TEST_REQUIRE_SERVICES=1 (CI).
    """
    if backend == "sqlite":
        yield sqlite_url(directory)
        return
    if not postgres_available():
        if os.environ.get("WRITER_TEST_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{POSTGRES_SKIP_REASON}; required by WRITER_TEST_REQUIRE_SERVICES=1")
        pytest.skip(POSTGRES_SKIP_REASON)
    with temporary_postgres_database() as url:
        yield url
