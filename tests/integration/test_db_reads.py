"""The database handle's read paths: one-statement reads in autocommit."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from writer_service.db.database import Database

pytestmark = pytest.mark.asyncio(loop_scope="session")


def postgresql_only(db: Database) -> None:
    if db.dialect != "postgresql":
        pytest.skip("transactions and backends of PostgreSQL")


async def test_read_once_runs_each_statement_in_a_transaction_of_its_own(db: Database) -> None:
    postgresql_only(db)
    ask = text("SELECT pg_current_xact_id()::text")
    async with db.read_once() as connection:
        first, second = [(await connection.execute(ask)).scalar_one() for _ in range(2)]
    assert first != second
    async with db.read() as session:  # the session's reads share one transaction
        assert (await session.execute(ask)).scalar_one() == (await session.execute(ask)).scalar_one()
