"""The database handle's hot reads (Database.fetch): each SELECT in autocommit, straight on the
driver on PostgreSQL, with values bound and read through the column types; and pooled connections
that are pinged only after sitting idle (a connection lost meanwhile is replaced, not handed out)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import psycopg
import pytest
from sqlalchemy import Integer, Select, Text, bindparam, cast, func, select, text

from writer_service.db.base import UtcDateTime
from writer_service.db.database import Database

pytestmark = pytest.mark.asyncio(loop_scope="session")


def postgresql_only(db: Database) -> None:
    if db.dialect != "postgresql":
        pytest.skip("transactions and backends of PostgreSQL")


async def one_value(db: Database, stmt: Select[Any], **values: Any) -> Any:
    row = (await db.fetch(stmt, values)).one_or_none()
    assert row is not None
    return next(iter(row.values()))


async def backend_pid(db: Database) -> int:
    return int(await one_value(db, select(func.pg_backend_pid())))


async def terminate(db: Database, pid: int) -> None:
    async with db.transaction() as session:
        assert (await session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})).scalar_one()


async def test_each_hot_read_runs_in_a_transaction_of_its_own(db: Database) -> None:
    postgresql_only(db)
    ask = select(cast(func.pg_current_xact_id(), Text).label("xact"))
    assert await one_value(db, ask) != await one_value(db, ask)
    async with db.read() as session:  # the session's reads share one transaction
        assert (await session.execute(ask)).scalar_one() == (await session.execute(ask)).scalar_one()


async def test_a_connection_lost_while_idle_is_replaced_before_use(db: Database, database_url: str) -> None:
    postgresql_only(db)
    pinged = Database.from_url(database_url, pool_size=1, ping_after_idle=0.0)
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
    unpinged = Database.from_url(database_url, pool_size=1, ping_after_idle=3600.0)
    try:
        lost = await backend_pid(unpinged)
        await terminate(db, lost)
        with pytest.raises(psycopg.OperationalError):
            await backend_pid(unpinged)
        assert await backend_pid(unpinged) != lost
    finally:
        await unpinged.close()


async def test_hot_reads_answer_in_utc_whatever_zone_a_session_starts_in(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("the driver's pool serves PostgreSQL")
    monkeypatch.setenv("PGTZ", "Asia/Kolkata")  # what libpq starts each session in
    elsewhere = Database.from_url(database_url, pool_size=1)
    try:
        now = await one_value(elsewhere, select(func.now()))
        assert now.utcoffset() == timedelta(0)
    finally:
        await elsewhere.close()


async def test_a_hot_read_binds_and_reads_through_the_column_types(db: Database) -> None:
    at = bindparam("at", type_=UtcDateTime())
    india = timezone(timedelta(hours=5, minutes=30))
    given = datetime(2026, 1, 2, 3, 4, 5, tzinfo=india)
    answered = await one_value(db, select(at.label("at")), at=given)
    assert answered == given and answered.utcoffset() == timedelta(0)
    with pytest.raises(Exception, match="naive"):  # UtcDateTime's bind processor ran
        await db.fetch(select(at.label("at")), {"at": given.replace(tzinfo=None)})


async def test_a_hot_read_keeps_the_statements_own_values(db: Database) -> None:
    numbers = select(func.abs(bindparam("n")).label("n")).limit(1)
    rows = await db.fetch(numbers, {"n": -3})
    assert (rows.columns, rows.rows) == (("n",), [(3,)])


async def test_a_hot_read_takes_values_by_their_bind_names_even_when_the_sql_escapes_them(db: Database) -> None:
    odd = select(func.abs(bindparam("n.x(1)", type_=Integer)).label("n"))
    assert (await db.fetch(odd, {"n.x(1)": -4})).rows == [(4,)]


async def test_a_driver_read_refuses_what_it_cannot_run(db: Database) -> None:
    postgresql_only(db)
    expanding = select(func.abs(1).label("n")).where(func.abs(1).in_(bindparam("ids", expanding=True)))
    with pytest.raises(ValueError, match="non-expanding"):
        await db.fetch(expanding, {"ids": [1]})
