"""Building and running the gRPC server: servicers, interceptors, health, reflection, shutdown."""

from __future__ import annotations

import asyncio
import logging
import signal
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2_grpc

from writer_service.api.errors import ErrorInterceptor
from writer_service.api.registry import GenericHandlersOnly, register_services
from writer_service.config import Settings
from writer_service.db.database import Database
from writer_service.services.automation.runner import Automation
from writer_service.services.dispatch import InProcessDispatcher
from writer_service.services.generation import Generation
from writer_service.services.job_events import JobEventHub
from writer_service.services.wiring import build_item_runner, prices_from
from writer_service.tenancy.auth import Authenticator
from writer_service.tenancy.interceptor import TenancyInterceptor
from writer_service.worker.app import CeleryDispatcher, create_celery

log = logging.getLogger("writer_service.server")


@dataclass
class Runtime:
    """What the servicers share: settings, the database, job events, generation and automation runs."""

    settings: Settings
    db: Database
    hub: JobEventHub
    generation: Generation
    dispatcher: InProcessDispatcher | CeleryDispatcher
    automation: Automation

    async def close(self) -> None:
        """Stop the automation runs (each at its next item boundary, within the grace period), stop
        following jobs and running items here, then close the database."""
        await self.automation.close(grace=self.settings.shutdown_grace_seconds)
        await self.hub.close()
        if isinstance(self.dispatcher, InProcessDispatcher):
            await self.dispatcher.close()
        await self.db.close()


def build_runtime(settings: Settings, db: Database) -> Runtime:
    """The runtime of the settings: items run on Celery workers with a broker, here without one."""
    hub = JobEventHub(db, poll_seconds=settings.job_event_poll_seconds)
    dispatcher: InProcessDispatcher | CeleryDispatcher
    if settings.broker_url:
        dispatcher = CeleryDispatcher(create_celery(settings))
    else:
        dispatcher = InProcessDispatcher(db, build_item_runner(settings, db),
                                         concurrency=settings.in_process_job_concurrency)
    generation = Generation(db=db, prices=prices_from(settings), dispatcher=dispatcher, hub=hub)
    return Runtime(settings=settings, db=db, hub=hub, generation=generation, dispatcher=dispatcher,
                   automation=Automation(generation))


@dataclass
class WriterServer:
    """A built server, the port it bound and what must be closed with it."""

    server: grpc.aio.Server
    port: int
    runtime: Runtime
    health: health.aio.HealthServicer

    async def stop(self, grace: float | None) -> None:
        """Say NOT_SERVING, let calls in flight finish within `grace`, then close the database."""
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)
        await self.runtime.close()


def server_options(settings: Settings) -> list[tuple[str, int]]:
    """Channel options: message sizes and keepalive rules that let a stream stay open for hours."""
    return [
        ("grpc.max_send_message_length", settings.max_message_bytes),
        ("grpc.max_receive_message_length", settings.max_message_bytes),
        ("grpc.keepalive_time_ms", settings.keepalive_time_ms),
        ("grpc.keepalive_timeout_ms", settings.keepalive_timeout_ms),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.min_ping_interval_without_data_ms", settings.min_client_ping_interval_ms),
        ("grpc.http2.max_pings_without_data", 0),
        ("grpc.max_connection_idle_ms", settings.max_connection_idle_ms or 2**31 - 1),
        ("grpc.max_connection_age_ms", 2**31 - 1),
    ]


async def create_server(settings: Settings, *, db: Database | None = None) -> tuple[WriterServer, int]:
    """A started-ready (not started) server on `settings.listen_address`, and the port it bound."""
    db = db or Database.from_url(settings.resolved_database_url(), pool_size=settings.db_pool_size)
    runtime = build_runtime(settings, db)
    authenticator = Authenticator(db, cache_seconds=settings.auth_cache_seconds)
    server = grpc.aio.server(
        interceptors=[ErrorInterceptor(), TenancyInterceptor(authenticator)],
        options=server_options(settings),
    )
    handlers = GenericHandlersOnly(server)
    service_names = register_services(handlers, runtime)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, handlers)
    for name in ["", *service_names]:
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    reflected = [*service_names, health.SERVICE_NAME, reflection.SERVICE_NAME]
    reflection_pb2_grpc.add_ServerReflectionServicer_to_server(reflection.aio.ReflectionServicer(reflected), handlers)
    port = server.add_insecure_port(settings.listen_address)
    if port == 0:
        raise RuntimeError(f"could not bind {settings.listen_address}")
    return WriterServer(server=server, port=port, runtime=runtime, health=health_servicer), port


async def serve(settings: Settings) -> None:
    """Run the server until SIGTERM or SIGINT, then shut down gracefully."""
    writer, port = await create_server(settings)
    await writer.server.start()
    writer.runtime.automation.keep_runs()
    if isinstance(writer.runtime.dispatcher, InProcessDispatcher):
        recovered = await writer.runtime.dispatcher.recover()
        if recovered:
            log.info("restarted %d job items left open by the previous run", recovered)
    log.info("writer service listening on %s (port %d)", settings.listen_address, port)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    await stopping.wait()
    log.info("shutting down: NOT_SERVING, %.1fs grace for calls in flight", settings.shutdown_grace_seconds)
    await writer.stop(settings.shutdown_grace_seconds)
    log.info("writer service stopped")
