"""Text providers for tests: scripted failures and a gate that holds items running."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from tests.fakes.image_providers import image_job_providers
from writer_service.ai.base import ArticleBrief, GeneratedArticle, ImagePromptBrief, ImagePrompts, TextProvider
from writer_service.ai.errors import ProviderError
from writer_service.api.server import WriterServer


@dataclass
class ScriptedText:
    """Wraps a real provider: raises the scripted errors first, can hold calls at a gate."""

    inner: TextProvider
    errors: list[ProviderError] = field(default_factory=list)
    gate: asyncio.Event | None = None
    started: asyncio.Event = field(default_factory=asyncio.Event)
    calls: int = 0
    name: str = "scripted"
    model: str = "scripted-v1"

    async def write_article(self, brief: ArticleBrief) -> GeneratedArticle:
        self.calls += 1
        self.started.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.errors:
            raise self.errors.pop(0)
        return await self.inner.write_article(brief)

    async def write_image_prompts(self, brief: ImagePromptBrief) -> ImagePrompts:
        return await self.inner.write_image_prompts(brief)


@contextmanager
def text_provider(server: WriterServer, provider: ScriptedText, *, max_attempts: int = 3) -> Iterator[ScriptedText]:
    """Make the test server's in-process runner write with `provider` for the block (retries wait 10 ms)."""
    with image_job_providers(server, text=provider, max_attempts=max_attempts):
        yield provider
