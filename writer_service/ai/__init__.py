"""The AI providers: plain dataclasses in, plain dataclasses out; no tables, no gRPC.

`text_provider(settings)` and `image_provider(settings)` choose the configured ones: the offline
template writer and placeholder renderer by default, or an OpenAI-compatible API.
"""

from __future__ import annotations

from writer_service.ai.base import ImageProvider, TextProvider
from writer_service.config import Settings


def text_provider(settings: Settings) -> TextProvider:
    """The text provider WRITER_TEXT_PROVIDER names; ValueError when it cannot work as configured."""
    if settings.text_provider == "template":
        from writer_service.ai.template_writer import TemplateWriter

        return TemplateWriter()
    if settings.text_provider == "openai":
        from writer_service.ai.openai_provider import OpenAITextProvider

        return OpenAITextProvider.from_settings(settings)
    raise ValueError(f"unknown text provider {settings.text_provider!r}: use 'template' or 'openai'")


def image_provider(settings: Settings) -> ImageProvider:
    """The image provider WRITER_IMAGE_PROVIDER names; ValueError when it cannot work as configured."""
    if settings.image_provider == "placeholder":
        from writer_service.ai.placeholder_images import PlaceholderRenderer

        return PlaceholderRenderer()
    if settings.image_provider == "openai":
        from writer_service.ai.openai_provider import OpenAIImageProvider

        return OpenAIImageProvider.from_settings(settings)
    raise ValueError(f"unknown image provider {settings.image_provider!r}: use 'placeholder' or 'openai'")
