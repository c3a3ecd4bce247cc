"""Which servicer serves each service of the contract.

Every service in the protos is registered. `FooService` of `foo.proto`'s sibling module
`writer_service.api.<module>` is served by its class `FooServicer(runtime)`; a service without one
gets the generated base servicer, whose methods the error interceptor answers as UNIMPLEMENTED.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import grpc

if TYPE_CHECKING:
    from writer_service.api.server import Runtime

PROTO_MODULES = ("tasks", "content", "images", "taxonomy", "planner", "jobs", "automation", "billing")


def implementations() -> dict[str, type[Any]]:
    """Service name -> servicer class taking the Runtime, found by the naming convention."""
    found: dict[str, type[Any]] = {}
    for module in PROTO_MODULES:
        name = f"writer_service.api.{module}"
        try:
            servicers = importlib.import_module(name)
        except ModuleNotFoundError as missing:
            if missing.name != name:
                raise
            continue
        messages = importlib.import_module(f"igny8.writer.v1.{module}_pb2")
        for service in messages.DESCRIPTOR.services_by_name:
            servicer_class = getattr(servicers, service.removesuffix("Service") + "Servicer", None)
            if servicer_class is not None:
                found[service] = servicer_class
    return found


class GenericHandlersOnly:
    """A server as generated `add_*_to_server` functions see it, which registers their services as
    generic handlers only, not also as registered methods.

    grpc.aio's server keeps a request pending in the core for each registered method and, for every
    call it accepts, waits on all of them at once (asyncio.wait over one future per method: some 70
    here, a fifth of the server's time on a hot read). Generic handlers share one pending request.
    Calls find their method the same way either way.
    """

    def __init__(self, server: grpc.aio.Server) -> None:
        self.server = server

    def add_generic_rpc_handlers(self, handlers: Sequence[grpc.GenericRpcHandler]) -> None:
        """Register the handlers on the server."""
        self.server.add_generic_rpc_handlers(handlers)

    def add_registered_method_handlers(self, service: str, handlers: dict[str, grpc.RpcMethodHandler]) -> None:
        """Leave it out: the same handlers came as a generic handler."""


def register_services(server: grpc.aio.Server | GenericHandlersOnly, runtime: Runtime) -> list[str]:
    """Register every service of the contract; returns their full names (for health and reflection)."""
    implemented = implementations()
    names: list[str] = []
    for module in PROTO_MODULES:
        messages = importlib.import_module(f"igny8.writer.v1.{module}_pb2")
        stubs = importlib.import_module(f"igny8.writer.v1.{module}_pb2_grpc")
        for service in messages.DESCRIPTOR.services_by_name.values():
            servicer_class = implemented.get(service.name)
            servicer = servicer_class(runtime) if servicer_class else getattr(stubs, f"{service.name}Servicer")()
            getattr(stubs, f"add_{service.name}Servicer_to_server")(servicer, server)
            names.append(service.full_name)
    return names
