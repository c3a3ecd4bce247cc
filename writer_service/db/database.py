"""The Database handle: one engine, one session factory, one transaction per use case."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from writer_service.db.engine import create_engine_async, make_session_factory
from writer_service.domain.errors import Aborted


class Database:
    """Owns the async engine; services open their transaction through `transaction()`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.sessions: async_sessionmaker[AsyncSession] = make_session_factory(engine)

    @classmethod
    def from_url(cls, url: str, *, pool_size: int = 10) -> Database:
        """A Database on this URL (sync or async form; the async driver is picked)."""
        return cls(create_engine_async(url, pool_size=pool_size))

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

    @asynccontextmanager
    async def read_once(self) -> AsyncIterator[AsyncConnection]:
        """A Core connection for a read done in one statement, which needs no ORM object.

        On PostgreSQL it runs in autocommit: a lone SELECT is consistent by itself, and BEGIN and
        ROLLBACK around it would cost two round trips more than the SELECT does.
        """
        async with self.engine.connect() as connection:
            if self.dialect == "postgresql":
                await connection.execution_options(isolation_level="AUTOCOMMIT")
            yield connection

    async def close(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
