"""The error interceptor: every row of the error table, decoded on the client with grpcio-status."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import pytest
import pytest_asyncio
from google.rpc import error_details_pb2

from tests.rich import expect_error
from writer_service.api.server import WriterServer, create_server
from writer_service.config import Settings
from writer_service.domain import errors as e

pytestmark = pytest.mark.asyncio(loop_scope="session")

RAISERS: dict[str, Callable[[], BaseException]] = {
    "InvalidArgument": lambda: e.InvalidArgument.of("task.title", "must not be empty"),
    "Unauthenticated": lambda: e.Unauthenticated(message="no key", reason="API_KEY_MISSING"),
    "PermissionDenied": lambda: e.PermissionDenied(message="viewer", reason="READ_ONLY_ROLE"),
    "NotFound": lambda: e.NotFound.of("Task", 42),
    "AlreadyExists": lambda: e.AlreadyExists(
        message="slug taken", resource_type="TaxonomyTerm", resource_name="shoes", reason="TAXONOMY_TERM_EXISTS"
    ),
    "FailedPrecondition": lambda: e.FailedPrecondition(
        message="draft cannot be published",
        reason="INVALID_TRANSITION",
        violations=[e.PreconditionViolation("STATE", "content/7", "draft -> published is not allowed")],
    ),
    "Aborted": lambda: e.Aborted(message="stale etag", metadata={"etag": "3"}),
    "InsufficientCredits": lambda: e.InsufficientCredits(required=50, available=20, account_id=9),
    "Unimplemented": lambda: NotImplementedError("Method not implemented!"),
    "Unexpected": lambda: RuntimeError("SELECT secret FROM accounts -- boom"),
}


def _unary(name: str) -> Callable[[bytes, Any], Any]:
    async def behavior(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        raise RAISERS[name]()

    return behavior


def _stream(name: str) -> Callable[[bytes, Any], AsyncIterator[bytes]]:
    async def behavior(request: bytes, context: grpc.aio.ServicerContext) -> AsyncIterator[bytes]:
        yield b"first"
        raise RAISERS[name]()

    return behavior


def _identity(data: bytes) -> bytes:
    return data


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def probe(settings: Settings) -> AsyncIterator[tuple[WriterServer, grpc.aio.Channel]]:
    """A writer server with a test-only service that raises each error, unary and streaming."""
    writer, port = await create_server(settings.model_copy(update={"listen_address": "127.0.0.1:0"}))
    handlers: dict[str, grpc.RpcMethodHandler] = {}
    for name in RAISERS:
        handlers[f"Unary{name}"] = grpc.unary_unary_rpc_method_handler(_unary(name), _identity, _identity)
        handlers[f"Stream{name}"] = grpc.unary_stream_rpc_method_handler(_stream(name), _identity, _identity)
    writer.server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("test.Probe", handlers),))
    await writer.server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    yield writer, channel
    await channel.close()
    await writer.stop(0)


async def _call_unary(channel: grpc.aio.Channel, name: str) -> bytes:
    return await channel.unary_unary(f"/test.Probe/Unary{name}")(b"")


async def _call_stream(channel: grpc.aio.Channel, name: str) -> list[bytes]:
    return [m async for m in channel.unary_stream(f"/test.Probe/Stream{name}")(b"")]


EXPECTED = [
    ("InvalidArgument", grpc.StatusCode.INVALID_ARGUMENT, "INVALID_ARGUMENT", error_details_pb2.BadRequest),
    ("Unauthenticated", grpc.StatusCode.UNAUTHENTICATED, "API_KEY_MISSING", None),
    ("PermissionDenied", grpc.StatusCode.PERMISSION_DENIED, "READ_ONLY_ROLE", None),
    ("NotFound", grpc.StatusCode.NOT_FOUND, "TASK_NOT_FOUND", error_details_pb2.ResourceInfo),
    ("AlreadyExists", grpc.StatusCode.ALREADY_EXISTS, "TAXONOMY_TERM_EXISTS", error_details_pb2.ResourceInfo),
    ("FailedPrecondition", grpc.StatusCode.FAILED_PRECONDITION, "INVALID_TRANSITION",
     error_details_pb2.PreconditionFailure),
    ("Aborted", grpc.StatusCode.ABORTED, "ETAG_MISMATCH", None),
    ("InsufficientCredits", grpc.StatusCode.RESOURCE_EXHAUSTED, "INSUFFICIENT_CREDITS",
     error_details_pb2.QuotaFailure),
    ("Unimplemented", grpc.StatusCode.UNIMPLEMENTED, "NOT_IMPLEMENTED", None),
]


@pytest.mark.parametrize(("name", "code", "reason", "detail"), EXPECTED)
@pytest.mark.parametrize("shape", ["unary", "stream"])
async def test_domain_error_maps_to_its_code_with_error_info_and_detail(
    probe: tuple[WriterServer, grpc.aio.Channel], name: str, code: grpc.StatusCode, reason: str,
    detail: type | None, shape: str,
) -> None:
    _, channel = probe
    call = _call_unary(channel, name) if shape == "unary" else _call_stream(channel, name)
    error = await expect_error(call, code)
    assert error.info.reason == reason
    if detail is not None:
        error.detail(detail)


async def test_field_violation_names_the_field(probe: tuple[WriterServer, grpc.aio.Channel]) -> None:
    error = await expect_error(_call_unary(probe[1], "InvalidArgument"), grpc.StatusCode.INVALID_ARGUMENT)
    violation = error.detail(error_details_pb2.BadRequest).field_violations[0]
    assert (violation.field, violation.description) == ("task.title", "must not be empty")


async def test_resource_info_names_the_missing_resource(probe: tuple[WriterServer, grpc.aio.Channel]) -> None:
    error = await expect_error(_call_unary(probe[1], "NotFound"), grpc.StatusCode.NOT_FOUND)
    info = error.detail(error_details_pb2.ResourceInfo)
    assert (info.resource_type, info.resource_name) == ("Task", "42")
    assert error.info.metadata["id"] == "42"


async def test_insufficient_credits_carries_required_and_available(
    probe: tuple[WriterServer, grpc.aio.Channel],
) -> None:
    error = await expect_error(_call_unary(probe[1], "InsufficientCredits"), grpc.StatusCode.RESOURCE_EXHAUSTED)
    assert error.info.metadata["required"] == "50"
    assert error.info.metadata["available"] == "20"
    quota = error.detail(error_details_pb2.QuotaFailure).violations[0]
    assert quota.subject == "account:9"


async def test_precondition_failure_lists_violations(probe: tuple[WriterServer, grpc.aio.Channel]) -> None:
    error = await expect_error(_call_unary(probe[1], "FailedPrecondition"), grpc.StatusCode.FAILED_PRECONDITION)
    violation = error.detail(error_details_pb2.PreconditionFailure).violations[0]
    assert (violation.type, violation.subject) == ("STATE", "content/7")


@pytest.mark.parametrize("shape", ["unary", "stream"])
async def test_unexpected_error_is_internal_with_correlation_id_in_log_only(
    probe: tuple[WriterServer, grpc.aio.Channel], caplog: pytest.LogCaptureFixture, shape: str
) -> None:
    caplog.set_level(logging.ERROR, logger="writer_service.api")
    call = _call_unary(probe[1], "Unexpected") if shape == "unary" else _call_stream(probe[1], "Unexpected")
    error = await expect_error(call, grpc.StatusCode.INTERNAL)
    correlation_id = error.info.metadata["correlation_id"]
    assert len(correlation_id) == 32
    assert "SELECT" not in error.message and "boom" not in error.message and "Traceback" not in error.message
    assert set(error.details) == {error_details_pb2.ErrorInfo}
    await asyncio.sleep(0)
    logged = [r for r in caplog.records if correlation_id in r.getMessage()]
    assert logged and logged[0].exc_info is not None
