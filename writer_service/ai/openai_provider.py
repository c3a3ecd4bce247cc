"""The OpenAI-compatible providers: chat completions for text, the images API for pictures.

The SDK retries 429 and 5xx itself (max_retries, with backoff and Retry-After); what still fails is
translated into a ProviderError that says whether the job runner may try again later.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import time
import weakref
from typing import Any, cast

import openai
from openai.types.chat import ChatCompletionMessageParam

from writer_service.ai.base import (
    ArticleBrief,
    GeneratedArticle,
    ImagePromptBrief,
    ImagePrompts,
    ImageRequest,
    RenderedImage,
    Usage,
)
from writer_service.ai.chat_prompts import (
    article_from,
    article_messages,
    image_prompt_messages,
    image_prompts_from,
    json_object,
)
from writer_service.ai.errors import BadProviderResponse, ProviderRejected
from writer_service.ai.image_files import NotAnImageFile, conform
from writer_service.ai.openai_errors import download, translate
from writer_service.config import Settings

PROVIDER = "openai"


async def _no_retry_on_quota(response: Any) -> None:
    """An exhausted quota is a 429 too, but retrying cannot help: tell the SDK not to."""
    if response.status_code == 429:
        await response.aread()
        if b"insufficient_quota" in response.content:
            response.headers["x-should-retry"] = "false"


class OpenAIConnection:
    """Where and how to reach the API; one SDK client per event loop (a client's pool is bound to its loop)."""

    def __init__(self, *, base_url: str, api_key: str, timeout_seconds: float = 60.0, max_retries: int = 3) -> None:
        missing = [name for name, value in (("WRITER_OPENAI_BASE_URL", base_url), ("WRITER_OPENAI_API_KEY", api_key))
                   if not value]
        if missing:
            raise ValueError(f"the openai provider needs {' and '.join(missing)}: set them, or use the "
                             "offline template writer and placeholder images")
        self.base_url = base_url
        self.api_key = api_key
        self.timeout_seconds = timeout_seconds
        self.max_retries = max_retries
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, openai.AsyncOpenAI] = \
            weakref.WeakKeyDictionary()

    @classmethod
    def from_settings(cls, settings: Settings) -> OpenAIConnection:
        """The connection the settings describe; ValueError without a base URL or key."""
        return cls(base_url=settings.openai_base_url, api_key=settings.openai_api_key,
                   timeout_seconds=settings.openai_timeout_seconds, max_retries=settings.openai_max_retries)

    def client(self) -> openai.AsyncOpenAI:
        """The SDK client of the running event loop."""
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            http = openai.DefaultAsyncHttpxClient(event_hooks={"response": [_no_retry_on_quota]})
            client = openai.AsyncOpenAI(base_url=self.base_url, api_key=self.api_key, timeout=self.timeout_seconds,
                                        max_retries=self.max_retries, http_client=http)
            self._clients[loop] = client
        return client

    async def aclose(self) -> None:
        """Close the client of the running event loop."""
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.close()


def _elapsed_ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


class OpenAITextProvider:
    """Articles and image prompts from a chat-completions model, as JSON."""

    name = PROVIDER

    def __init__(self, connection: OpenAIConnection, model: str) -> None:
        self.connection = connection
        self.model = model

    @classmethod
    def from_settings(cls, settings: Settings) -> OpenAITextProvider:
        """The provider the settings describe."""
        return cls(OpenAIConnection.from_settings(settings), settings.openai_model)

    async def write_article(self, brief: ArticleBrief) -> GeneratedArticle:
        """The article, parsed and checked; ProviderError on any failure."""
        data, usage = await self._complete_json(article_messages(brief))
        return article_from(data, usage)

    async def write_image_prompts(self, brief: ImagePromptBrief) -> ImagePrompts:
        """The featured and in-article prompts, parsed and checked; ProviderError on any failure."""
        data, usage = await self._complete_json(image_prompt_messages(brief))
        return image_prompts_from(data, brief, usage)

    async def _complete_json(self, messages: list[dict[str, str]]) -> tuple[dict[str, Any], Usage]:
        started = time.perf_counter()
        try:
            completion = await self.connection.client().chat.completions.create(
                model=self.model, messages=cast("list[ChatCompletionMessageParam]", messages),
                response_format={"type": "json_object"},
            )
        except openai.OpenAIError as exc:
            raise translate(exc) from exc
        if not completion.choices:
            raise BadProviderResponse("the model answered with no choices")
        message = completion.choices[0].message
        if getattr(message, "refusal", None):
            raise ProviderRejected(f"the model refused: {message.refusal}")
        tokens_in = completion.usage.prompt_tokens if completion.usage else 0
        tokens_out = completion.usage.completion_tokens if completion.usage else 0
        usage = Usage(provider=self.name, model=completion.model or self.model, tokens_in=tokens_in,
                      tokens_out=tokens_out, duration_ms=_elapsed_ms(started))
        return json_object(message.content), usage


class OpenAIImageProvider:
    """Images from the images API, answered as base64 or as a URL to download."""

    name = PROVIDER

    def __init__(self, connection: OpenAIConnection, model: str) -> None:
        self.connection = connection
        self.model = model

    @classmethod
    def from_settings(cls, settings: Settings) -> OpenAIImageProvider:
        """The provider the settings describe."""
        return cls(OpenAIConnection.from_settings(settings), settings.openai_image_model)

    async def render(self, request: ImageRequest) -> RenderedImage:
        """The image at the requested size and format (cropped and re-encoded when the API gave another)."""
        started = time.perf_counter()
        options: dict[str, Any] = {}
        if self.model.startswith("gpt-image"):  # older image models reject output_format
            options["output_format"] = request.format
        try:
            response = await self.connection.client().images.generate(
                model=self.model, prompt=request.prompt, size=f"{request.width}x{request.height}",  # type: ignore[arg-type]
                n=1, **options,
            )
        except openai.OpenAIError as exc:
            raise translate(exc) from exc
        data = await self._image_bytes(response)
        try:
            data, width, height = conform(data, request.format, request.width, request.height)
        except NotAnImageFile as exc:
            raise BadProviderResponse(f"the image API answered a file that is {exc}") from exc
        usage = response.usage
        return RenderedImage(
            data=data, format=request.format, width=width, height=height,
            usage=Usage(provider=self.name, model=self.model, tokens_in=usage.input_tokens if usage else 0,
                        tokens_out=usage.output_tokens if usage else 0, duration_ms=_elapsed_ms(started)),
        )

    async def _image_bytes(self, response: Any) -> bytes:
        item = response.data[0] if response.data else None
        if item is not None and item.b64_json:
            try:
                return base64.b64decode(item.b64_json, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise BadProviderResponse(f"the image API answered invalid base64: {exc}") from exc
        if item is not None and item.url:
            return await download(item.url, timeout_seconds=self.connection.timeout_seconds)
        raise BadProviderResponse("the image API answered neither b64_json nor a url")
