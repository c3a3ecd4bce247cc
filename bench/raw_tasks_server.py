"""The baseline: GetTask and ListTasks from a bare grpc.aio generic handler on raw psycopg 3.

No interceptors, no ORM, no SQLAlchemy: one hand-written SQL statement per call on a pooled async
connection, rows mapped field by field to the same `Task` messages the service answers with. The
account comes from `x-account-id` and the site and sector from their headers, unchecked (no API
key lookup), so the queries are scoped as the service's are. Run as a process::

    python -m bench.raw_tasks_server --dsn postgresql://postgres@127.0.0.1/db --port 50100
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import grpc
import psycopg
from google.protobuf.descriptor import EnumDescriptor
from google.protobuf.timestamp_pb2 import Timestamp

from igny8.writer.v1 import common_pb2, tasks_pb2

SERVICE = "igny8.writer.v1.TasksService"
PAGE_SIZE = 50
COLUMNS = """t.id, t.account_id, t.site_id, t.sector_id, t.title, t.description, t.cluster_id, c.name, s.name,
    t.idea_id, t.taxonomy_term_id, t.content_type, t.content_structure, t.keywords, t.word_count, t.status,
    t.version, t.create_time, t.update_time, t.delete_time"""
FROM = "FROM tasks t JOIN clusters c ON c.id = t.cluster_id JOIN sectors s ON s.id = t.sector_id"
GET_SQL = f"SELECT {COLUMNS} {FROM} WHERE t.id = %s AND t.account_id = %s"
SCOPE = "t.account_id = %s AND t.site_id = %s AND t.sector_id = %s AND t.delete_time IS NULL"
ORDER = f"ORDER BY t.create_time DESC, t.id DESC LIMIT {PAGE_SIZE + 1}"
FIRST_PAGE_SQL = f"SELECT {COLUMNS} {FROM} WHERE {SCOPE} {ORDER}"
NEXT_PAGE_SQL = f"SELECT {COLUMNS} {FROM} WHERE {SCOPE} AND (t.create_time, t.id) < (%s, %s) {ORDER}"


def _values(enum: EnumDescriptor, prefix: str) -> dict[str, int]:
    return {v.name.removeprefix(prefix).lower(): v.number for v in enum.values}


STATUS = _values(tasks_pb2.TaskStatus.DESCRIPTOR, "TASK_STATUS_")
TYPE = _values(common_pb2.ContentType.DESCRIPTOR, "CONTENT_TYPE_")
STRUCTURE = _values(common_pb2.ContentStructure.DESCRIPTOR, "CONTENT_STRUCTURE_")


def _timestamp(value: datetime) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


def task_message(row: tuple[Any, ...]) -> tasks_pb2.Task:
    """A Task message of one row of COLUMNS."""
    task = tasks_pb2.Task(
        id=row[0], account_id=row[1], site_id=row[2], sector_id=row[3], title=row[4], description=row[5],
        cluster_id=row[6], cluster_name=row[7], sector_name=row[8], idea_id=row[9] or 0,
        taxonomy_term_id=row[10] or 0, content_type=TYPE[row[11]], content_structure=STRUCTURE[row[12]],
        keywords=row[13], word_count=row[14], status=STATUS[row[15]], etag=f'W/"{row[16]}"',
        create_time=_timestamp(row[17]), update_time=_timestamp(row[18]),
    )
    if row[19] is not None:
        task.delete_time.CopyFrom(_timestamp(row[19]))
    return task


class SmallPool:
    """A fixed set of autocommit connections handed out in turn, when psycopg_pool is not installed."""

    def __init__(self, dsn: str, size: int) -> None:
        self.dsn, self.size = dsn, size
        self._idle: asyncio.Queue[psycopg.AsyncConnection[Any]] = asyncio.Queue()

    async def open(self) -> None:
        """Open every connection."""
        for _ in range(self.size):
            self._idle.put_nowait(await psycopg.AsyncConnection.connect(self.dsn, autocommit=True))

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A connection for the block."""
        connection = await self._idle.get()
        try:
            yield connection
        finally:
            self._idle.put_nowait(connection)


class RawTasks:
    """GetTask and ListTasks as raw SQL."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool

    async def get_task(self, request: tasks_pb2.GetTaskRequest, context: grpc.aio.ServicerContext) -> tasks_pb2.Task:
        """One task by primary key, in the caller's account."""
        account_id, _, _ = _scope(context)
        async with self.pool.connection() as connection:
            row = await (await connection.execute(GET_SQL, (request.id, account_id))).fetchone()
        if row is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"task {request.id} not found")
        return task_message(row)

    async def list_tasks(self, request: tasks_pb2.ListTasksRequest,
                         context: grpc.aio.ServicerContext) -> tasks_pb2.ListTasksResponse:
        """A keyset page of 50, newest first, after the page token's (create_time, id) if any."""
        scope = _scope(context)
        params: tuple[object, ...]
        if request.page_token:
            create_time, task_id = _decode(request.page_token)
            query, params = NEXT_PAGE_SQL, (*scope, create_time, task_id)
        else:
            query, params = FIRST_PAGE_SQL, scope
        async with self.pool.connection() as connection:
            rows = await (await connection.execute(query, params)).fetchall()
        token = _encode(rows[PAGE_SIZE - 1]) if len(rows) > PAGE_SIZE else ""
        return tasks_pb2.ListTasksResponse(tasks=[task_message(r) for r in rows[:PAGE_SIZE]], next_page_token=token)


def _scope(context: grpc.aio.ServicerContext) -> tuple[int, int, int]:
    metadata = dict(context.invocation_metadata() or ())
    return int(metadata["x-account-id"]), int(metadata["x-site-id"]), int(metadata["x-sector-id"])


def _decode(token: str) -> tuple[datetime, int]:
    data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    create_time, task_id = data["k"]
    return datetime.fromisoformat(create_time["t"]), int(task_id)


def _encode(row: tuple[Any, ...]) -> str:
    raw = json.dumps({"k": [{"t": row[17].isoformat()}, row[0]]}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


async def open_pool(dsn: str, size: int) -> Any:
    """psycopg_pool's AsyncConnectionPool if it is installed, else a SmallPool; autocommit either way
    (a single SELECT needs no BEGIN and COMMIT around it)."""
    try:
        from psycopg_pool import AsyncConnectionPool
    except ImportError:
        small = SmallPool(dsn, size)
        await small.open()
        return small
    pool = AsyncConnectionPool(dsn, min_size=size, max_size=size, kwargs={"autocommit": True}, open=False)
    await pool.open(wait=True)
    return pool


async def serve(dsn: str, port: int, pool_size: int) -> None:
    """Serve the raw handlers on 127.0.0.1:`port` until cancelled."""
    pool = await open_pool(dsn, pool_size)
    raw = RawTasks(pool)
    handlers = {
        "GetTask": grpc.unary_unary_rpc_method_handler(
            raw.get_task, tasks_pb2.GetTaskRequest.FromString, tasks_pb2.Task.SerializeToString),
        "ListTasks": grpc.unary_unary_rpc_method_handler(
            raw.list_tasks, tasks_pb2.ListTasksRequest.FromString, tasks_pb2.ListTasksResponse.SerializeToString),
    }
    server = grpc.aio.server()
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(SERVICE, handlers)])
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await server.wait_for_termination()


def main() -> None:
    """Parse the command line and serve."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", required=True, help="postgresql:// URI")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pool", type=int, default=10, help="connections (the service's default pool size)")
    args = parser.parse_args()
    asyncio.run(serve(args.dsn, args.port, args.pool))


if __name__ == "__main__":
    main()
