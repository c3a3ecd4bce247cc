"""A text provider slow enough to be caught mid-job: the template writer, one second late."""

from __future__ import annotations

import asyncio

from writer_service.ai.base import ArticleBrief, GeneratedArticle, ImagePromptBrief, ImagePrompts, TextProvider
from writer_service.ai.template_writer import TemplateWriter
from writer_service.config import Settings

DELAY_SECONDS = 1.0


class SlowTemplateWriter:
    """Sleeps, then writes what TemplateWriter writes (same name and model in the AI logs)."""

    name = TemplateWriter.name
    model = TemplateWriter.model

    def __init__(self, delay: float = DELAY_SECONDS) -> None:
        self.delay = delay
        self.inner = TemplateWriter()

    async def write_article(self, brief: ArticleBrief) -> GeneratedArticle:
        await asyncio.sleep(self.delay)
        return await self.inner.write_article(brief)

    async def write_image_prompts(self, brief: ImagePromptBrief) -> ImagePrompts:
        await asyncio.sleep(self.delay)
        return await self.inner.write_image_prompts(brief)


def slow_text_provider(settings: Settings) -> TextProvider:
    """Stands in for writer_service.ai.text_provider in the slow worker."""
    return SlowTemplateWriter()
