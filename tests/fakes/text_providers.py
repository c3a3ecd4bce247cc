"""Text providers for tests: scripted failures and a gate that holds items running."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

from tests.fakes.image_providers import image_job_providers
from writer_service.ai.base import ArticleBrief, GeneratedArticle, ImagePromptBrief, ImagePrompts, TextProvider
from writer_service.ai.errors import ProviderError
from writer_service.api.server import WriterServer


@dataclass
class ScriptedText:
    """Wraps a real provider. The calls it scripts (articles by default, or image prompts) raise the
    scripted errors first and can be held at a gate; the other calls go straight through."""

    inner: TextProvider
    errors: list[ProviderError] = field(default_factory=list)
    gate: asyncio.Event | None = None
    started: asyncio.Event = field(default_factory=asyncio.Event)
    calls: int = 0
    scripts: Literal["articles", "prompts"] = "articles"
    name: str = "scripted"
    model: str = "scripted-v1"

    async def _scripted_call(self) -> None:
        self.calls += 1
        self.started.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.errors:
            raise self.errors.pop(0)

    async def write_article(self, brief: ArticleBrief) -> GeneratedArticle:
        if self.scripts == "articles":
            await self._scripted_call()
        return await self.inner.write_article(brief)

    async def write_image_prompts(self, brief: ImagePromptBrief) -> ImagePrompts:
        if self.scripts == "prompts":
            await self._scripted_call()
        return await self.inner.write_image_prompts(brief)


def scripted_prompts(inner: TextProvider) -> ScriptedText:
    """A ScriptedText whose image prompt calls are scripted (its articles go straight through)."""
    return ScriptedText(inner=inner, scripts="prompts")


@contextmanager
def text_provider(server: WriterServer, provider: ScriptedText, *, max_attempts: int = 3) -> Iterator[ScriptedText]:
    """Make the test server's in-process runner write with `provider` for the block (retries wait 10 ms)."""
    with image_job_providers(server, text=provider, max_attempts=max_attempts):
        yield provider
