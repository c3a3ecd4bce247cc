"""Decoding a failed call's rich status on the client, as a caller of the service would."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import grpc
import pytest
from google.protobuf import message
from google.rpc import error_details_pb2
from grpc_status import rpc_status

T = TypeVar("T", bound=message.Message)

DETAIL_TYPES: tuple[type[message.Message], ...] = (
    error_details_pb2.ErrorInfo,
    error_details_pb2.BadRequest,
    error_details_pb2.ResourceInfo,
    error_details_pb2.PreconditionFailure,
    error_details_pb2.QuotaFailure,
)


@dataclass
class RichError:
    """A failed call: its code, message and the unpacked details by type."""

    code: grpc.StatusCode
    message: str
    details: dict[type[Any], Any] = field(default_factory=dict)

    @property
    def info(self) -> error_details_pb2.ErrorInfo:
        """The ErrorInfo every error of the service carries."""
        return self.details[error_details_pb2.ErrorInfo]

    def detail(self, kind: type[T]) -> T:
        """The detail of that type (fails the test when absent)."""
        assert kind in self.details, f"no {kind.__name__} in {list(self.details)}"
        return self.details[kind]


def decode(error: grpc.RpcError) -> RichError:
    """Unpack a call's google.rpc.Status with grpcio-status."""
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    assert status is not None, f"no rich status on {error.code()}: {error.details()}"  # type: ignore[attr-defined]
    details: dict[type[Any], Any] = {}
    for packed in status.details:
        for kind in DETAIL_TYPES:
            if packed.Is(kind.DESCRIPTOR):
                unpacked = kind()
                packed.Unpack(unpacked)
                details[kind] = unpacked
    return RichError(code=error.code(), message=status.message, details=details)  # type: ignore[attr-defined]


async def expect_error(call: Awaitable[Any], code: grpc.StatusCode) -> RichError:
    """Await a call that must fail with `code`; its rich status, decoded."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    error = decode(caught.value)
    assert error.code == code, f"expected {code}, got {error.code}: {error.message}"
    assert error.info.domain == "writer.igny8"
    return error
