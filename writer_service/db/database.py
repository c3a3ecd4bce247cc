"""The Database handle: one engine, one session factory, one transaction per use case."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.pool import QueuePool
from sqlalchemy.util import greenlet_spawn

from writer_service.db.driver_reads import DriverReads, Rows
from writer_service.db.engine import PING_AFTER_IDLE_SECONDS, create_engine_async, make_session_factory
from writer_service.domain.errors import Aborted


class Database:
    """Owns the async engine; services open their transaction through `transaction()`."""

    def __init__(self, engine: AsyncEngine, *, ping_after_idle: float = PING_AFTER_IDLE_SECONDS) -> None:
        self.engine = engine
        self.sessions: async_sessionmaker[AsyncSession] = make_session_factory(engine)
        # Hot reads on PostgreSQL go straight to the driver, on a pool as large as the engine's.
        self.driver_reads = DriverReads(
            engine.url.render_as_string(hide_password=False), engine.dialect,
            pool_size=engine.pool.size() if isinstance(engine.pool, QueuePool) else 1, ping_after_idle=ping_after_idle,
        ) if engine.dialect.name == "postgresql" else None

    @classmethod
    def from_url(cls, url: str, *, pool_size: int = 10, ping_after_idle: float = PING_AFTER_IDLE_SECONDS
                 ) -> Database:
        """A Database on this URL (sync or async form; the async driver is picked). A pooled connection
        idle for `ping_after_idle` seconds is pinged before use (see engine.ping_when_idle)."""
        return cls(create_engine_async(url, pool_size=pool_size, ping_after_idle=ping_after_idle),
                   ping_after_idle=ping_after_idle)

    @property
    def dialect(self) -> str:
        """`sqlite` or `postgresql`."""
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session in one transaction: committed when the block ends, rolled back on error.

        A versioned row changed by a concurrent transaction meanwhile is ABORTED, as a stale etag is.
        """
        try:
            async with self.sessions() as session, session.begin():
                yield session
        except StaleDataError:
            raise Aborted(message="the resource was changed concurrently: read it again and retry",
                          reason="CONCURRENT_UPDATE") from None

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for reads; it holds a transaction only while it runs statements."""
        async with self.sessions() as session:
            yield session

    async def fetch(self, stmt: Select[Any], values: Mapping[str, Any]) -> Rows:
        """The rows of a hot read: one kept SELECT with these parameter values, which needs no ORM
        object and no transaction of its own.

        On PostgreSQL it runs on the driver's own pool in autocommit (see driver_reads.py): a lone
        SELECT is consistent by itself, and BEGIN and ROLLBACK around it would cost two round trips
        more than the SELECT does. On SQLite it runs on a Core connection of the engine.
        """
        if self.driver_reads is not None:
            return await self.driver_reads.fetch(stmt, values)
        return await greenlet_spawn(self._fetch, stmt, values)

    def _fetch(self, stmt: Select[Any], values: Mapping[str, Any]) -> Rows:
        with self.engine.sync_engine.connect() as connection:
            result = connection.execute(stmt, dict(values))
            return Rows(tuple(result.keys()), [tuple(row) for row in result])

    async def close(self) -> None:
        """Close every pooled connection."""
        if self.driver_reads is not None:
            await self.driver_reads.close()
        await self.engine.dispose()
