"""The error interceptor: the one place where errors become gRPC statuses.

Domain errors become a `google.rpc.Status` with an ErrorInfo (domain `writer.igny8`) and the detail
of their kind; anything unexpected becomes INTERNAL with only a correlation id, which is also in
the log line that carries the traceback.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from writer_service.api.handlers import Behavior, call_unary, iterate_stream, wrap_handler
from writer_service.domain import errors as e

log = logging.getLogger("writer_service.api")


def _pack(message: Any) -> any_pb2.Any:
    packed = any_pb2.Any()
    packed.Pack(message)
    return packed


def _detail(error: e.DomainError) -> Any | None:
    if isinstance(error, e.InvalidArgument):
        return error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
                for v in error.violations
            ]
        )
    if isinstance(error, e.NotFound | e.AlreadyExists):
        return error_details_pb2.ResourceInfo(
            resource_type=error.resource_type, resource_name=error.resource_name, description=error.message
        )
    if isinstance(error, e.FailedPrecondition):
        return error_details_pb2.PreconditionFailure(
            violations=[
                error_details_pb2.PreconditionFailure.Violation(
                    type=v.type, subject=v.subject, description=v.description
                )
                for v in error.violations
            ]
        )
    if isinstance(error, e.InsufficientCredits):
        return error_details_pb2.QuotaFailure(
            violations=[
                error_details_pb2.QuotaFailure.Violation(
                    subject=f"account:{error.account_id}",
                    description=f"{error.required} credits required, {error.available} available",
                )
            ]
        )
    return None


def status_for(error: e.DomainError) -> grpc.Status:
    """The rich gRPC status of a domain error."""
    info = error_details_pb2.ErrorInfo(
        reason=error.reason, domain=e.ERROR_DOMAIN, metadata={k: str(v) for k, v in error.metadata.items()}
    )
    details = [_pack(info)]
    extra = _detail(error)
    if extra is not None:
        details.append(_pack(extra))
    code = getattr(code_pb2, error.code)
    return rpc_status.to_status(status_pb2.Status(code=code, message=error.message, details=details))


def internal_status(correlation_id: str) -> grpc.Status:
    """INTERNAL, with nothing of the failure but a correlation id to find it in the log."""
    info = error_details_pb2.ErrorInfo(
        reason="INTERNAL", domain=e.ERROR_DOMAIN, metadata={"correlation_id": correlation_id}
    )
    return rpc_status.to_status(
        status_pb2.Status(
            code=code_pb2.INTERNAL,
            message=f"internal error (correlation id {correlation_id})",
            details=[_pack(info)],
        )
    )


def to_status(exc: BaseException, method: str) -> grpc.Status:
    """The status a failed call answers with; unexpected failures are logged here."""
    if isinstance(exc, e.DomainError):
        return status_for(exc)
    if isinstance(exc, NotImplementedError):
        return status_for(e.Unimplemented(message=f"{method} is not implemented yet", method=method,
                                          metadata={"method": method}))
    correlation_id = uuid.uuid4().hex
    log.error("unexpected error in %s correlation_id=%s", method, correlation_id, exc_info=exc)
    return internal_status(correlation_id)


async def abort_with(context: grpc.aio.ServicerContext, status: grpc.Status) -> None:
    """End the call with a rich status (its details travel in the trailing metadata)."""
    await context.abort(status.code, status.details, status.trailing_metadata)


class ErrorInterceptor(grpc.aio.ServerInterceptor):
    """Maps every exception raised below it to a gRPC status, for unary and streaming RPCs alike."""

    def __init__(self) -> None:
        # method -> (handler, wrapped handler): a method's wrapping is the same on every call.
        self._wrapped: dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        method = handler_call_details.method
        kept = self._wrapped.get(method)
        if kept is not None and kept[0] is handler:
            return kept[1]
        wrapped = self._wrap(handler, method)
        self._wrapped[method] = (handler, wrapped)
        return wrapped

    @staticmethod
    def _wrap(handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:

        def unary(behavior: Behavior) -> Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]]:
            async def guarded(request: Any, context: grpc.aio.ServicerContext) -> Any:
                try:
                    return await call_unary(behavior, request, context)
                except grpc.aio.AbortError:
                    raise
                except Exception as exc:  # noqa: BLE001 - this is the one place that maps them
                    await abort_with(context, to_status(exc, method))

            return guarded

        def stream(behavior: Behavior) -> Callable[[Any, grpc.aio.ServicerContext], AsyncIterator[Any]]:
            async def guarded(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
                try:
                    async for item in iterate_stream(behavior, request, context):
                        yield item
                except grpc.aio.AbortError:
                    raise
                except Exception as exc:  # noqa: BLE001
                    await abort_with(context, to_status(exc, method))

            return guarded

        return wrap_handler(handler, unary, stream)
