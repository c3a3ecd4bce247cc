"""The metadata interceptor: authenticates the API key, resolves the tenant, enforces the role.

Each writer RPC declares its access class in the contract (`option (igny8.writer.v1.access)`):
PUBLIC needs no key, READ any role, WRITE every role but viewer. Services outside the writer
package (health, reflection) pass through untouched.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import suppress
from functools import cache
from typing import Any

import grpc
from google.protobuf import descriptor_pool

from igny8.writer.v1 import common_pb2
from writer_service.api.handlers import Behavior, call_unary, iterate_stream, wrap_handler
from writer_service.domain.errors import PermissionDenied
from writer_service.tenancy.auth import Authenticator
from writer_service.tenancy.context import TenantContext, reset_tenant, set_tenant

WRITER_PACKAGE = "igny8.writer.v1."


@cache
def method_access(method: str) -> int:
    """The declared access class of `/pkg.Service/Method` (WRITE when undeclared: the safe side)."""
    full_name = method.lstrip("/").replace("/", ".")
    try:
        descriptor = descriptor_pool.Default().FindMethodByName(full_name)
    except KeyError:
        return common_pb2.METHOD_ACCESS_WRITE
    access = descriptor.GetOptions().Extensions[common_pb2.access]
    return access or common_pb2.METHOD_ACCESS_WRITE


class TenancyInterceptor(grpc.aio.ServerInterceptor):
    """Puts the caller's TenantContext in place for every writer RPC."""

    def __init__(self, authenticator: Authenticator) -> None:
        self.authenticator = authenticator
        # method -> (handler, wrapped handler): a method's wrapping is the same on every call.
        self._wrapped: dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = await continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or not method.lstrip("/").startswith(WRITER_PACKAGE):
            return handler
        kept = self._wrapped.get(method)
        if kept is not None and kept[0] is handler:
            return kept[1]
        wrapped = self._wrap(handler, method_access(method))
        self._wrapped[method] = (handler, wrapped)
        return wrapped

    def _wrap(self, handler: grpc.RpcMethodHandler, access: int) -> grpc.RpcMethodHandler:
        if access == common_pb2.METHOD_ACCESS_PUBLIC:
            return handler
        authenticate = self._authenticator_for(access)

        def unary(behavior: Behavior) -> Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]]:
            async def scoped(request: Any, context: grpc.aio.ServicerContext) -> Any:
                token = set_tenant(await authenticate(context))
                try:
                    return await call_unary(behavior, request, context)
                finally:
                    with suppress(ValueError):
                        reset_tenant(token)

            return scoped

        def stream(behavior: Behavior) -> Callable[[Any, grpc.aio.ServicerContext], AsyncIterator[Any]]:
            async def scoped(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
                token = set_tenant(await authenticate(context))
                try:
                    async for item in iterate_stream(behavior, request, context):
                        yield item
                finally:
                    with suppress(ValueError):
                        reset_tenant(token)

            return scoped

        return wrap_handler(handler, unary, stream)

    def _authenticator_for(
        self, access: int
    ) -> Callable[[grpc.aio.ServicerContext], Awaitable[TenantContext]]:
        async def authenticate(context: grpc.aio.ServicerContext) -> TenantContext:
            metadata = {k.lower(): v for k, v in (context.invocation_metadata() or ()) if isinstance(v, str)}
            tenant = await self.authenticator.authenticate(metadata)
            if access != common_pb2.METHOD_ACCESS_READ and not tenant.principal.can_write:
                raise PermissionDenied(
                    message=f"role {tenant.role!r} may only read",
                    reason="READ_ONLY_ROLE",
                    metadata={"role": tenant.role},
                )
            return tenant

        return authenticate
