"""The baseline: GetTask and ListTasks from a bare grpc.aio generic handler on raw psycopg 3.

No interceptors, no ORM, no SQLAlchemy: one hand-written SQL statement per call on a pooled
autocommit connection, rows mapped field by field to the same `Task` messages the service answers
with. It does what the service's read does, no less: the task scoped to the account, site and
sector of the headers (unchecked: there is no API key lookup), the cluster and sector names joined
under the same scope, and page tokens that carry the last row's keys and are bound to the query
(the service's token format, so one token pages both servers). Only the default order is served.
Run as a process::

    python -m bench.raw_tasks_server --dsn postgresql://postgres@127.0.0.1/db --port 50100
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, NoReturn

import grpc
import psycopg
from google.protobuf.descriptor import EnumDescriptor
from google.protobuf.timestamp_pb2 import Timestamp

from igny8.writer.v1 import common_pb2, tasks_pb2

SERVICE = "igny8.writer.v1.TasksService"
DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 50, 500
COLUMNS = """t.id, t.account_id, t.site_id, t.sector_id, t.title, t.description, t.cluster_id, c.name, s.name,
    t.idea_id, t.taxonomy_term_id, t.content_type, t.content_structure, t.keywords, t.word_count, t.status,
    t.version, t.create_time, t.update_time, t.delete_time"""
# The names are shown when the cluster (deleted or not) and the sector are in the caller's scope.
FROM = """FROM tasks t
    LEFT JOIN clusters c ON c.id = t.cluster_id AND c.account_id = %(account)s AND c.site_id = %(site)s
        AND c.sector_id = %(sector)s
    LEFT JOIN sectors s ON s.id = t.sector_id AND s.account_id = %(account)s AND s.site_id = %(site)s"""
SCOPE = "t.account_id = %(account)s AND t.site_id = %(site)s AND t.sector_id = %(sector)s"
GET_SQL = f"SELECT {COLUMNS} {FROM} WHERE t.id = %(id)s AND {SCOPE}"
LIVE = f"{SCOPE} AND t.delete_time IS NULL"
ORDER = "ORDER BY t.create_time DESC, t.id DESC LIMIT %(limit)s"
FIRST_PAGE_SQL = f"SELECT {COLUMNS} {FROM} WHERE {LIVE} {ORDER}"
NEXT_PAGE_SQL = f"SELECT {COLUMNS} {FROM} WHERE {LIVE} AND (t.create_time, t.id) < (%(time)s, %(after)s) {ORDER}"


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
        cluster_id=row[6], cluster_name=row[7] or "", sector_name=row[8] or "", idea_id=row[9] or 0,
        taxonomy_term_id=row[10] or 0, content_type=TYPE[row[11]], content_structure=STRUCTURE[row[12]],
        keywords=row[13], word_count=row[14], status=STATUS[row[15]], etag=f'W/"{row[16]}"',
        create_time=_timestamp(row[17]), update_time=_timestamp(row[18]),
    )
    if row[19] is not None:
        task.delete_time.CopyFrom(_timestamp(row[19]))
    return task


class SmallPool:
    """A fixed set of autocommit connections handed out in turn (a single SELECT needs no BEGIN)."""

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

    def __init__(self, pool: SmallPool) -> None:
        self.pool = pool

    async def get_task(self, request: tasks_pb2.GetTaskRequest, context: grpc.aio.ServicerContext) -> tasks_pb2.Task:
        """One task by primary key, deleted or not, in the caller's account, site and sector."""
        params = {**_scope(context), "id": request.id}
        async with self.pool.connection() as connection:
            row = await (await connection.execute(GET_SQL, params)).fetchone()
        if row is None:
            await _abort(context, grpc.StatusCode.NOT_FOUND, f"Task {request.id} not found")
        return task_message(row)

    async def list_tasks(self, request: tasks_pb2.ListTasksRequest,
                         context: grpc.aio.ServicerContext) -> tasks_pb2.ListTasksResponse:
        """A keyset page of live tasks, newest first, after the page token's (create_time, id) if any."""
        if request.order_by or request.filter or request.search or request.show_deleted or request.site_id \
                or request.sector_id or request.page_size < 0:
            await _abort(context, grpc.StatusCode.UNIMPLEMENTED, "the baseline serves the default query only")
        scope = _scope(context)
        size = min(request.page_size or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
        fingerprint = _fingerprint(request, scope)
        params: dict[str, Any] = {**scope, "limit": size + 1}
        query = FIRST_PAGE_SQL
        if request.page_token:
            keys = _decode(request.page_token, fingerprint)
            if keys is None:
                await _abort(context, grpc.StatusCode.INVALID_ARGUMENT, "page_token belongs to another query")
            query, (params["time"], params["after"]) = NEXT_PAGE_SQL, keys
        async with self.pool.connection() as connection:
            rows = await (await connection.execute(query, params)).fetchall()
        token = _encode(fingerprint, rows[size - 1]) if len(rows) > size else ""
        return tasks_pb2.ListTasksResponse(tasks=[task_message(r) for r in rows[:size]], next_page_token=token)


async def _abort(context: grpc.aio.ServicerContext, code: grpc.StatusCode, details: str) -> NoReturn:
    await context.abort(code, details)
    raise AssertionError("abort raises")


def _scope(context: grpc.aio.ServicerContext) -> dict[str, int]:
    metadata = dict(context.invocation_metadata() or ())
    return {"account": int(metadata["x-account-id"]), "site": int(metadata["x-site-id"]),
            "sector": int(metadata["x-sector-id"])}


def _fingerprint(request: tasks_pb2.ListTasksRequest, scope: dict[str, int]) -> str:
    # The query a token is bound to: the request's List parameters and the caller's scope.
    basis = json.dumps([request.order_by, request.filter, request.search.strip(), request.show_deleted,
                        request.site_id, request.sector_id, scope["account"], scope["site"], scope["sector"]])
    return hashlib.sha256(basis.encode()).hexdigest()[:16]


def _decode(token: str, fingerprint: str) -> tuple[datetime, int] | None:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        create_time, task_id = data["k"]
        if data["q"] != fingerprint:
            return None
        return datetime.fromisoformat(create_time["t"]), int(task_id)
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None


def _encode(fingerprint: str, row: tuple[Any, ...]) -> str:
    keys = [{"t": row[17].astimezone(UTC).isoformat()}, row[0]]
    raw = json.dumps({"q": fingerprint, "k": keys}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


async def serve(dsn: str, port: int, pool_size: int) -> None:
    """Serve the raw handlers on 127.0.0.1:`port` until cancelled."""
    pool = SmallPool(dsn, pool_size)
    await pool.open()
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
