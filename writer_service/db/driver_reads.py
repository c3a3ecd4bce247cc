"""Hot reads on PostgreSQL run straight on the driver.

A hot read (GetTask, ListTasks) is one SELECT built by SQLAlchemy and kept (see KeptSelect): here it
is compiled once for the dialect, and each call runs its SQL text on a pooled psycopg connection in
autocommit, its bind and result values passing through the column types' own processors. What is
left out is SQLAlchemy's execution machinery (connection and pool events, isolation level set and
reset, execution contexts, result metadata built per call): on a read whose statement costs half a
millisecond on the server, that machinery cost as much again.

The pool (psycopg_pool) holds autocommit connections whose session time zone is UTC. A connection
that sat idle for a while is pinged before it is handed out, as the engine's are (ping_when_idle):
after a database restart the first read gets a fresh connection instead of an error.
"""

from __future__ import annotations

import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool
from sqlalchemy import Select
from sqlalchemy.engine import Dialect, make_url

from writer_service.db.base import UtcDateTime

Processor = Callable[[Any], Any]

# On these connections (TimeZone UTC) the driver already answers what this type's result processor
# would make of a value, a UTC-aware datetime; running it anyway would cost a call per value.
_IDENTITY_RESULT_TYPES = (UtcDateTime,)


def libpq_conninfo(url: str) -> str:
    """The libpq URI of a SQLAlchemy PostgreSQL URL (any driver name)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass
class CompiledRead:
    """A kept statement compiled once: its SQL text, its parameters' processors and, after its first
    run, its columns' result processors."""

    sql: str
    defaults: dict[str, Any]
    bind_processors: dict[str, Processor]
    keys: tuple[str, ...]
    types: tuple[Any, ...]
    escaped: dict[str, str] = field(default_factory=dict)  # bind name -> its name in the SQL text
    result_processors: list[tuple[int, Processor]] | None = None

    def parameters(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Every parameter of the SQL text: the statement's own values and the caller's."""
        if self.escaped:
            values = {self.escaped.get(name, name): value for name, value in values.items()}
        params = {**self.defaults, **values}
        for name, process in self.bind_processors.items():
            if params.get(name) is not None:
                params[name] = process(params[name])
        return params


def compile_read(stmt: Select[Any], dialect: Dialect) -> CompiledRead:
    """`stmt` compiled for `dialect`, with what each run needs to bind and read it."""
    compiled = stmt.compile(dialect=dialect)
    if compiled.positiontup or getattr(compiled, "post_compile_params", None):
        raise ValueError("driver reads take named, non-expanding parameters only")
    escaped = compiled.escaped_bind_names
    defaults: dict[str, Any] = {}
    processors: dict[str, Processor] = {}
    for name, bind in compiled.binds.items():
        key = escaped.get(name, name)
        if not bind.required:  # a value of the statement's own (a LIMIT); the others come per call
            defaults[key] = bind.effective_value
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            processors[key] = process
    keys = tuple(stmt.selected_columns.keys())  # distinct: a second "id" is "id_1"
    return CompiledRead(sql=compiled.string, defaults=defaults, bind_processors=processors, keys=keys,
                        escaped=dict(escaped or {}),
                        types=tuple(column.type for column in stmt.selected_columns))


def _result_processors(read: CompiledRead, description: Sequence[Any], dialect: Dialect
                       ) -> list[tuple[int, Processor]]:
    found: list[tuple[int, Processor]] = []
    for i, (type_, column) in enumerate(zip(read.types, description, strict=True)):
        if isinstance(type_, _IDENTITY_RESULT_TYPES):
            continue
        process = type_.dialect_impl(dialect).result_processor(dialect, column.type_code)
        if process is not None:
            found.append((i, process))
    return found


@dataclass
class Rows:
    """The rows of a hot read, fetched: the names of the columns, and each row's values in their order."""

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]

    def dicts(self) -> list[dict[str, Any]]:
        """Each row as a dict of its columns."""
        columns = self.columns
        return [dict(zip(columns, row, strict=True)) for row in self.rows]

    def one_or_none(self) -> dict[str, Any] | None:
        """The only row as a dict, or None; more than one is a bug in the statement."""
        if len(self.rows) > 1:
            raise ValueError(f"one row expected, {len(self.rows)} found")
        return dict(zip(self.columns, self.rows[0], strict=True)) if self.rows else None


def _processed(row: tuple[Any, ...], processors: list[tuple[int, Processor]]) -> tuple[Any, ...]:
    values = list(row)
    for i, process in processors:
        values[i] = process(values[i])
    return tuple(values)


class DriverReads:
    """A pool of autocommit psycopg connections and the kept statements compiled for them."""

    MAX_COMPILED = 4000

    def __init__(self, url: str, dialect: Dialect, *, pool_size: int, ping_after_idle: float) -> None:
        self.dialect = dialect
        self.ping_after_idle = ping_after_idle
        # Called with each statement's SQL text and parameters before it runs, when set (EXPLAIN in
        # the benchmarks, logging when debugging): the driver path fires no SQLAlchemy events.
        self.trace: Callable[[str, dict[str, Any]], None] | None = None
        self._compiled: dict[int, tuple[Select[Any], CompiledRead]] = {}
        self._returned: weakref.WeakKeyDictionary[psycopg.AsyncConnection[Any], float] = weakref.WeakKeyDictionary()
        self.pool = AsyncConnectionPool(
            libpq_conninfo(url), min_size=1, max_size=max(1, pool_size), open=False,
            kwargs={"autocommit": True}, configure=self._configure, check=self._check, name="writer-reads",
        )
        self._opened = False

    def compiled(self, stmt: Select[Any]) -> CompiledRead:
        """`stmt` compiled, once per kept statement."""
        kept = self._compiled.get(id(stmt))
        if kept is not None and kept[0] is stmt:
            return kept[1]
        if len(self._compiled) >= self.MAX_COMPILED:
            self._compiled.clear()
        read = compile_read(stmt, self.dialect)
        self._compiled[id(stmt)] = (stmt, read)
        return read

    async def fetch(self, stmt: Select[Any], values: Mapping[str, Any]) -> Rows:
        """The rows of a kept SELECT run with these parameter values on a pooled connection."""
        read = self.compiled(stmt)
        params = read.parameters(values)
        if self.trace is not None:
            self.trace(read.sql, params)
        if not self._opened:
            await self.pool.open(wait=False)
            self._opened = True
        async with self.pool.connection() as connection:
            try:
                cursor = connection.cursor()
                await cursor.execute(read.sql, params)
                rows: list[tuple[Any, ...]] = await cursor.fetchall()
                if read.result_processors is None:  # the description is built anew on each access
                    read.result_processors = _result_processors(read, cursor.description or (), self.dialect)
            finally:
                self._returned[connection] = time.monotonic()
        if read.result_processors and rows:
            rows = [_processed(row, read.result_processors) for row in rows]
        return Rows(read.keys, rows)

    async def close(self) -> None:
        """Close every pooled connection."""
        if self._opened:
            await self.pool.close()
            self._opened = False

    @staticmethod
    async def _configure(connection: psycopg.AsyncConnection[Any]) -> None:
        await connection.execute("SET TIME ZONE 'UTC'")

    async def _check(self, connection: psycopg.AsyncConnection[Any]) -> None:
        # A ping only after an idle spell (a round trip as dear as a hot read); one that fails makes
        # the pool throw the connection away and hand out another.
        since = self._returned.get(connection)
        if since is not None and time.monotonic() - since >= self.ping_after_idle:
            await AsyncConnectionPool.check_connection(connection)
