"""What the tenant-isolation tests share: the RPCs of the five writer services as their descriptors
declare them, a call of any RPC in its streaming shape, and the world they run in (one owner's rows,
the callers who must not reach them, and what both accounts held when last looked at)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeAlias

import grpc
from google.protobuf import descriptor, message_factory

from igny8.writer.v1 import common_pb2, content_pb2, images_pb2, planner_pb2, tasks_pb2, taxonomy_pb2
from tests.conftest import TenantFactory
from tests.db_snapshot import Snapshot, take_snapshot
from tests.factories.tenant_rows import TenantRows, make_tenant_rows
from tests.rich import RichError, decode
from writer_service.db.database import Database

Metadata: TypeAlias = tuple[tuple[str, str], ...]

SERVICES = (
    tasks_pb2.DESCRIPTOR.services_by_name["TasksService"],
    content_pb2.DESCRIPTOR.services_by_name["ContentService"],
    images_pb2.DESCRIPTOR.services_by_name["ImagesService"],
    taxonomy_pb2.DESCRIPTOR.services_by_name["TaxonomyService"],
    planner_pb2.DESCRIPTOR.services_by_name["PlannerService"],
)
METHODS: dict[str, descriptor.MethodDescriptor] = {
    f"{service.name}.{method.name}": method for service in SERVICES for method in service.methods
}
# Callers who must not reach the owner's rows at all...
OUTSIDERS = ("another account", "another site", "another sector")
# ...and callers of the owner's own account and scope: a viewer may only read, no key may do nothing.
CALLERS = (*OUTSIDERS, "viewer", "no key")
CALL_TIMEOUT = 15.0


def access(method: descriptor.MethodDescriptor) -> int:
    """The access class the contract declares for the method (WRITE when undeclared)."""
    return method.GetOptions().Extensions[common_pb2.access] or common_pb2.METHOD_ACCESS_WRITE


def is_list(method: descriptor.MethodDescriptor) -> bool:
    """A List answers pages: its response has a next_page_token."""
    return "next_page_token" in method.output_type.fields_by_name


async def _messages(requests: list[Any]) -> AsyncIterator[Any]:
    for request in requests:
        yield request


async def invoke(channel: grpc.aio.Channel, method: descriptor.MethodDescriptor, request: Any,
                 metadata: Metadata) -> list[Any]:
    """Call the RPC in its streaming shape (`request` a list for a client stream); every message it
    answers."""
    path = f"/{method.containing_service.full_name}/{method.name}"
    codec: dict[str, Any] = {"request_serializer": lambda m: m.SerializeToString(),
                             "response_deserializer": message_factory.GetMessageClass(method.output_type).FromString}
    if method.server_streaming:
        stream = channel.unary_stream(path, **codec)(request, metadata=metadata, timeout=CALL_TIMEOUT)
        return [answer async for answer in stream]
    if method.client_streaming:
        return [await channel.stream_unary(path, **codec)(_messages(request), metadata=metadata,
                                                          timeout=CALL_TIMEOUT)]
    return [await channel.unary_unary(path, **codec)(request, metadata=metadata, timeout=CALL_TIMEOUT)]


async def attempt(channel: grpc.aio.Channel, method: descriptor.MethodDescriptor, request: Any,
                  metadata: Metadata) -> tuple[list[Any], RichError | None]:
    """The answers of a call that succeeded, or its decoded error."""
    try:
        return await invoke(channel, method, request, metadata), None
    except grpc.aio.AioRpcError as failure:
        return [], decode(failure)


@dataclass
class World:
    """The owner's rows, the metadata of each caller (and, when made, each outsider's own rows in
    its scope), and the rows of both accounts as last seen."""

    rows: TenantRows
    callers: dict[str, Metadata]
    account_ids: tuple[int, int]
    media_root: Path
    last_seen: Snapshot
    own_rows: dict[str, TenantRows] = field(default_factory=dict)

    async def changes(self, db: Database) -> list[str]:
        """What changed in both accounts (and the media files) since last seen."""
        now = await take_snapshot(db, self.account_ids, self.media_root)
        changed, self.last_seen = self.last_seen.differences(now), now
        return changed


async def make_world(channel: grpc.aio.Channel, db: Database, media_root: Path, *,
                     with_own_rows: bool = False) -> World:
    """An owner with rows of every kind; an owner of another account; the first owner narrowed by
    headers to a second site, and to a second sector of its site; a viewer of its account; its
    headers without a key. With `with_own_rows`, each outsider also gets rows of every kind."""
    tenants = TenantFactory(db)
    owner = await tenants.account(credits=1000)
    stranger = await tenants.account(credits=1000)
    outsiders = {"another account": stranger, "another site": await tenants.site(owner),
                 "another sector": await tenants.sector(owner)}
    callers = {name: tenant.metadata() for name, tenant in outsiders.items()}
    callers["viewer"] = (await tenants.user(owner, "viewer")).metadata()
    callers["no key"] = tuple(item for item in owner.metadata() if item[0] != "authorization")
    rows = await make_tenant_rows(channel, owner)
    own = {name: await make_tenant_rows(channel, tenant) for name, tenant in outsiders.items()} if with_own_rows else {}
    ids = (owner.account_id, stranger.account_id)
    return World(rows, callers, ids, media_root, await take_snapshot(db, ids, media_root), own)
