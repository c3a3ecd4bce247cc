"""Which servicer serves each service of the contract.

Every service in the protos is registered: those with an implementation here get it, the others
get the generated base servicer, whose methods the error interceptor answers as UNIMPLEMENTED.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

import grpc

if TYPE_CHECKING:
    from writer_service.api.server import Runtime

PROTO_MODULES = ("tasks", "content", "images", "taxonomy", "planner", "jobs", "automation", "billing")


def implementations() -> dict[str, type[Any]]:
    """Service name -> servicer class taking the Runtime."""
    from writer_service.api.billing import BillingServicer

    return {"BillingService": BillingServicer}


def register_services(server: grpc.aio.Server, runtime: Runtime) -> list[str]:
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
