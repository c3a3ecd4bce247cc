"""Wrapping a gRPC method handler's behaviour, whatever its streaming shape."""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

Behavior = Callable[[Any, grpc.aio.ServicerContext], Any]
UnaryDecorator = Callable[[Behavior], Callable[[Any, grpc.aio.ServicerContext], Awaitable[Any]]]
StreamDecorator = Callable[[Behavior], Callable[[Any, grpc.aio.ServicerContext], AsyncIterator[Any]]]


async def call_unary(behavior: Behavior, request: Any, context: grpc.aio.ServicerContext) -> Any:
    """Run a unary-response behaviour, sync or async."""
    result = behavior(request, context)
    if inspect.isawaitable(result):
        result = await result
    return result


async def iterate_stream(
    behavior: Behavior, request: Any, context: grpc.aio.ServicerContext
) -> AsyncIterator[Any]:
    """Run a streaming-response behaviour: an async generator, a sync iterator or a writer coroutine."""
    result = behavior(request, context)
    if hasattr(result, "__aiter__"):
        async for item in result:
            yield item
    elif inspect.isawaitable(result):
        await result
    elif result is not None:
        for item in result:
            yield item


def wrap_handler(
    handler: grpc.RpcMethodHandler, decorate_unary: UnaryDecorator, decorate_stream: StreamDecorator
) -> grpc.RpcMethodHandler:
    """The same handler with its behaviour decorated; streaming shape and serializers kept."""
    des, ser = handler.request_deserializer, handler.response_serializer
    if handler.unary_unary is not None:
        return grpc.unary_unary_rpc_method_handler(decorate_unary(handler.unary_unary), des, ser)
    if handler.unary_stream is not None:
        return grpc.unary_stream_rpc_method_handler(decorate_stream(handler.unary_stream), des, ser)
    if handler.stream_unary is not None:
        return grpc.stream_unary_rpc_method_handler(decorate_unary(handler.stream_unary), des, ser)
    return grpc.stream_stream_rpc_method_handler(decorate_stream(handler.stream_stream), des, ser)
