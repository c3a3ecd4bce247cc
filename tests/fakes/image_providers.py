"""Image job providers for tests: scripted failures, answers that are not images, a gate that holds
renders, and a way to put them in the test server's runner for a block."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import cast

from writer_service.ai.base import (
    ImageProvider,
    ImageRequest,
    RenderedImage,
    TextProvider,
)
from writer_service.ai.errors import ProviderError
from writer_service.api.server import WriterServer
from writer_service.services.ai_runs import Writer
from writer_service.services.dispatch import InProcessDispatcher
from writer_service.services.wiring import ItemRunner


@dataclass
class ScriptedImages:
    """Wraps a real image provider: raises the scripted errors first, then answers the scripted bytes
    (as if they were a file), then renders for real; can hold renders at a gate."""

    inner: ImageProvider
    errors: list[ProviderError] = field(default_factory=list)
    bad_files: list[bytes] = field(default_factory=list)
    gate: asyncio.Event | None = None
    started: asyncio.Event = field(default_factory=asyncio.Event)
    requests: list[ImageRequest] = field(default_factory=list)
    name: str = "scripted-images"
    model: str = "scripted-images-v1"

    async def render(self, request: ImageRequest) -> RenderedImage:
        self.requests.append(request)
        self.started.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.errors:
            raise self.errors.pop(0)
        rendered = await self.inner.render(request)
        if self.bad_files:
            return dataclasses.replace(rendered, data=self.bad_files.pop(0))
        return rendered


def in_process_runner(server: WriterServer) -> ItemRunner:
    """The item runner of the test server's in-process dispatcher."""
    return cast(ItemRunner, cast(InProcessDispatcher, server.runtime.dispatcher).run_item)


@contextmanager
def image_job_providers(server: WriterServer, *, images: ImageProvider | None = None,
                        text: TextProvider | None = None, max_attempts: int | None = None) -> Iterator[Writer]:
    """Make the test server's in-process runner use these providers for the block (the rest of its
    writer, storage and sizes included, stays as configured); retries wait 10 ms."""
    dispatcher = cast(InProcessDispatcher, server.runtime.dispatcher)
    runner = in_process_runner(server)
    before, backoff = runner.writer, dispatcher.backoff_seconds
    runner._writer = dataclasses.replace(
        before, images=images or before.images, text=text or before.text,
        max_attempts=before.max_attempts if max_attempts is None else max_attempts)
    dispatcher.backoff_seconds = 0.01
    try:
        yield runner._writer
    finally:
        runner._writer = before
        dispatcher.backoff_seconds = backoff
