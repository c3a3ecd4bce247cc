"""The database handle's read paths: one-statement reads in autocommit, and pooled connections that
are pinged only after sitting idle (a connection lost meanwhile is replaced, not handed out)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from writer_service.db.database import Database
from writer_service.db.engine import create_engine_async

pytestmark = pytest.mark.asyncio(loop_scope="session")


def postgresql_only(db: Database) -> None:
    if db.dialect != "postgresql":
        pytest.skip("transactions and backends of PostgreSQL")


async def backend_pid(db: Database) -> int:
    return int(await db.read_once(lambda connection: connection.execute(text("SELECT pg_backend_pid()")).scalar_one()))


async def terminate(db: Database, pid: int) -> None:
    async with db.transaction() as session:
        assert (await session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})).scalar_one()


async def test_read_once_runs_each_statement_in_a_transaction_of_its_own(db: Database) -> None:
    postgresql_only(db)
    ask = text("SELECT pg_current_xact_id()::text")
    first, second = await db.read_once(lambda connection: [connection.execute(ask).scalar_one() for _ in range(2)])
    assert first != second
    async with db.read() as session:  # the session's reads share one transaction
        assert (await session.execute(ask)).scalar_one() == (await session.execute(ask)).scalar_one()


async def test_a_connection_lost_while_idle_is_replaced_before_use(db: Database, database_url: str) -> None:
    postgresql_only(db)
    pinged = Database(create_engine_async(database_url, pool_size=1, ping_after_idle=0.0))
    try:
        lost = await backend_pid(pinged)
        await terminate(db, lost)
        assert await backend_pid(pinged) != lost
    finally:
        await pinged.close()


async def test_a_connection_back_a_moment_ago_is_not_pinged_and_the_pool_recovers(
    db: Database, database_url: str
) -> None:
    postgresql_only(db)
    unpinged = Database(create_engine_async(database_url, pool_size=1, ping_after_idle=3600.0))
    try:
        lost = await backend_pid(unpinged)
        await terminate(db, lost)
        with pytest.raises(DBAPIError) as failed:
            await backend_pid(unpinged)
        assert failed.value.connection_invalidated
        assert await backend_pid(unpinged) != lost
    finally:
        await unpinged.close()
