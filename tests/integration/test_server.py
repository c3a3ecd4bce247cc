"""The server itself: health, reflection, unimplemented RPCs, graceful shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from tests.rich import expect_error
from writer_service.api.server import create_server
from writer_service.config import Settings

pytestmark = pytest.mark.asyncio(loop_scope="session")

WRITER_SERVICES = {
    f"igny8.writer.v1.{name}"
    for name in ("TasksService", "ContentService", "ImagesService", "TaxonomyService", "PlannerService",
                 "JobsService", "AutomationService", "BillingService")
}


async def test_health_says_serving_for_the_server_and_each_service(channel: grpc.aio.Channel) -> None:
    stub = health_pb2_grpc.HealthStub(channel)
    for service in ["", *sorted(WRITER_SERVICES)]:
        answer = await stub.Check(health_pb2.HealthCheckRequest(service=service))
        assert answer.status == health_pb2.HealthCheckResponse.SERVING, service


async def test_reflection_lists_every_service(channel: grpc.aio.Channel) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)

    async def one_request() -> AsyncIterator[reflection_pb2.ServerReflectionRequest]:
        yield reflection_pb2.ServerReflectionRequest(list_services="")

    names = set()
    async for answer in stub.ServerReflectionInfo(one_request()):
        names |= {s.name for s in answer.list_services_response.service}
    assert names >= WRITER_SERVICES
    assert "grpc.health.v1.Health" in names


async def test_rpc_without_behaviour_yet_is_unimplemented_with_error_info(settings: Settings) -> None:
    # Every RPC of the contract is served now: a method that raises NotImplementedError, as the
    # generated base servicer does for one not served yet, stands in for it.
    writer, port = await create_server(settings.model_copy(update={"listen_address": "127.0.0.1:0"}))

    async def later(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        raise NotImplementedError("Method not implemented!")

    handler = grpc.unary_unary_rpc_method_handler(later, lambda b: b, lambda b: b)
    writer.server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("test.Later", {"Call": handler}),))
    await writer.server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            error = await expect_error(channel.unary_unary("/test.Later/Call")(b""), grpc.StatusCode.UNIMPLEMENTED)
    finally:
        await writer.stop(grace=1.0)
    assert error.info.reason == "NOT_IMPLEMENTED"
    assert error.info.metadata["method"] == "/test.Later/Call"


async def test_graceful_shutdown_says_not_serving_and_lets_calls_in_flight_finish(settings: Settings) -> None:
    writer, port = await create_server(settings.model_copy(update={"listen_address": "127.0.0.1:0"}))
    started = asyncio.Event()

    async def slow(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        started.set()
        await asyncio.sleep(0.5)
        return b"done"

    handler = grpc.unary_unary_rpc_method_handler(slow, lambda b: b, lambda b: b)
    writer.server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("test.Slow", {"Call": handler}),))
    await writer.server.start()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=""))
        assert (await watch.read()).status == health_pb2.HealthCheckResponse.SERVING
        in_flight = asyncio.ensure_future(channel.unary_unary("/test.Slow/Call")(b""))
        await started.wait()
        stopping = asyncio.ensure_future(writer.stop(grace=5.0))
        assert (await watch.read()).status == health_pb2.HealthCheckResponse.NOT_SERVING
        assert await in_flight == b"done"
        watch.cancel()
        await stopping
