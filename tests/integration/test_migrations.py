"""The Alembic migrations build exactly the models' schema, on SQLite and on PostgreSQL."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from tests.db_urls import BACKENDS, empty_database_url
from writer_service.db import migrate
from writer_service.db.base import Base
from writer_service.db.engine import create_sync_engine


@pytest.fixture(params=BACKENDS)
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with empty_database_url(request.param, tmp_path) as url:
        yield url


def table_names(url: str) -> set[str]:
    engine = create_sync_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_bundled_migrations_form_one_line_starting_at_0001_initial() -> None:
    scripts = ScriptDirectory.from_config(migrate.make_config())
    assert len(scripts.get_heads()) == 1
    assert scripts.get_current_head() == migrate.head()
    assert [s.revision for s in scripts.walk_revisions()][-1] == "0001_initial"


def test_upgrade_to_head_creates_every_model_table(empty_database: str) -> None:
    assert migrate.current(empty_database) is None

    migrate.upgrade(empty_database)

    assert migrate.current(empty_database) == migrate.head()
    assert table_names(empty_database) == set(Base.metadata.tables) | {"alembic_version"}


def test_upgraded_schema_matches_the_models_exactly(empty_database: str) -> None:
    migrate.upgrade(empty_database)

    assert migrate.pending_changes(empty_database) == []


def test_downgrade_to_base_then_upgrade_again(empty_database: str) -> None:
    migrate.upgrade(empty_database)

    migrate.downgrade(empty_database, "base")
    assert migrate.current(empty_database) is None
    assert table_names(empty_database) == {"alembic_version"}

    migrate.upgrade(empty_database)
    assert migrate.current(empty_database) == migrate.head()
    assert migrate.pending_changes(empty_database) == []


def test_upgrade_twice_is_a_no_op(empty_database: str) -> None:
    migrate.upgrade(empty_database)
    migrate.upgrade(empty_database)

    assert migrate.current(empty_database) == migrate.head()


def test_revision_writes_nothing_when_models_and_migrations_agree() -> None:
    before = sorted(p.name for p in (migrate.MIGRATIONS_DIR / "versions").glob("*.py"))

    assert migrate.revision(None, "nothing to do") is None

    assert sorted(p.name for p in (migrate.MIGRATIONS_DIR / "versions").glob("*.py")) == before


@pytest.mark.postgres
def test_replicas_upgrading_postgresql_at_once_all_succeed(tmp_path: Path) -> None:
    # Processes, like replicas: Alembic's op/context proxies are per process, not per thread.
    spawn = multiprocessing.get_context("spawn")
    with (
        empty_database_url("postgresql", tmp_path) as url,
        ProcessPoolExecutor(max_workers=3, mp_context=spawn) as pool,
    ):
        for future in [pool.submit(migrate.upgrade, url) for _ in range(3)]:
            future.result(timeout=120)

        assert migrate.current(url) == migrate.head()


def test_a_failed_migration_leaves_no_partial_schema(empty_database: str) -> None:
    # SQLite too: its DDL runs inside the migration's transaction, not in autocommit.
    with pytest.raises(RuntimeError), migrate._migration_connection(empty_database) as connection:
        connection.exec_driver_sql("CREATE TABLE half_done (x INTEGER)")
        raise RuntimeError("the next step of the migration fails")

    assert "half_done" not in table_names(empty_database)
