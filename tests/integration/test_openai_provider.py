"""The OpenAI-compatible providers against a local server that speaks the chat-completions and images APIs."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from PIL import Image

from tests.fakes.openai_server import (
    FakeOpenAI,
    Reply,
    chat,
    image_b64,
    image_url,
    insufficient_quota,
    rate_limited,
    rejected,
    server_error,
    slow,
)
from writer_service.ai import image_provider, text_provider
from writer_service.ai.base import ArticleBrief, ImagePromptBrief, ImageRequest
from writer_service.ai.errors import (
    BadProviderResponse,
    ProviderRejected,
    ProviderTimeout,
    ProviderUnavailable,
    QuotaExceeded,
    RateLimited,
)
from writer_service.ai.image_files import decode, encode
from writer_service.ai.openai_provider import OpenAIConnection, OpenAIImageProvider, OpenAITextProvider
from writer_service.ai.placeholder_images import PlaceholderRenderer
from writer_service.ai.template_writer import TemplateWriter
from writer_service.config import Settings

BRIEF = ArticleBrief(title="The best running shoes for beginners", primary_keyword="running shoes",
                     keywords=["trail running"], content_structure="listicle", word_count_target=800)
ARTICLE = {
    "title": "The best running shoes for beginners",
    "html": "<p>Running shoes matter.</p><h2>Why running shoes matter</h2><p>Because.</p>",
    "meta_title": "The best running shoes for beginners",
    "meta_description": "Running shoes for beginners: how to pick a first pair.",
    "primary_keyword": "running shoes",
    "secondary_keywords": ["trail running"],
}
PROMPTS_BRIEF = ImagePromptBrief(content_title="Running shoes", primary_keyword="running shoes",
                                 headings=["Fit", "Cushioning", "Price"], max_in_article=2)
PROMPTS = {
    "featured": {"prompt": "A pair of running shoes on a track", "alt_text": "Running shoes on a track",
                 "caption": "Ready to run"},
    "in_article": [
        {"heading": "Fit", "prompt": "A runner lacing shoes", "alt_text": "Lacing running shoes", "caption": "Fit"},
        {"heading": "Cushioning", "prompt": "A shoe sole", "alt_text": "Running shoes sole", "caption": "Soles"},
        {"heading": "Price", "prompt": "A price tag", "alt_text": "Running shoes price", "caption": "Price"},
    ],
}


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


def connection_to(fake: FakeOpenAI, *, timeout: float = 5.0, max_retries: int = 2) -> OpenAIConnection:
    return OpenAIConnection(base_url=fake.base_url, api_key="test-key", timeout_seconds=timeout,
                            max_retries=max_retries)


@pytest_asyncio.fixture
async def text(fake: FakeOpenAI) -> AsyncIterator[OpenAITextProvider]:
    provider = OpenAITextProvider(connection_to(fake), "gpt-test")
    yield provider
    await provider.connection.aclose()


@pytest_asyncio.fixture
async def images(fake: FakeOpenAI) -> AsyncIterator[OpenAIImageProvider]:
    provider = OpenAIImageProvider(connection_to(fake), "gpt-image-1")
    yield provider
    await provider.connection.aclose()


def png(width: int = 64, height: int = 48) -> bytes:
    return encode(Image.new("RGB", (width, height), (200, 30, 30)), "png")


# Text.

async def test_article_is_parsed_from_the_json_answer(fake: FakeOpenAI, text: OpenAITextProvider) -> None:
    fake.script("chat", chat(ARTICLE, prompt_tokens=321, completion_tokens=1234, model="gpt-test-2024"))
    article = await text.write_article(BRIEF)
    assert (article.title, article.html, article.secondary_keywords) == \
        (ARTICLE["title"], ARTICLE["html"], ["trail running"])
    assert (article.usage.provider, article.usage.model) == ("openai", "gpt-test-2024")
    assert (article.usage.tokens_in, article.usage.tokens_out) == (321, 1234)
    [request] = fake.requests
    assert request.headers["authorization"] == "Bearer test-key"
    assert request.body["model"] == "gpt-test"
    assert request.body["response_format"] == {"type": "json_object"}
    system, user = request.body["messages"]
    assert "meta_description" in system["content"] and "JSON" in system["content"]
    assert "Primary keyword: running shoes" in user["content"] and "numbered H2 items" in user["content"]


async def test_rate_limit_is_retried_then_succeeds(fake: FakeOpenAI, text: OpenAITextProvider) -> None:
    fake.script("chat", rate_limited(), chat(ARTICLE))
    assert (await text.write_article(BRIEF)).title == ARTICLE["title"]
    assert fake.count("chat") == 2


async def test_server_error_is_retried_then_succeeds(fake: FakeOpenAI, text: OpenAITextProvider) -> None:
    fake.script("chat", server_error(500), server_error(503), chat(ARTICLE))
    assert (await text.write_article(BRIEF)).title == ARTICLE["title"]
    assert fake.count("chat") == 3


async def test_server_error_without_retry_after_backs_off_and_succeeds(fake: FakeOpenAI,
                                                                      text: OpenAITextProvider) -> None:
    fake.script("chat", server_error(500, retry_after=None), chat(ARTICLE))
    assert (await text.write_article(BRIEF)).title == ARTICLE["title"]
    assert fake.count("chat") == 2


async def test_rate_limit_that_outlasts_the_retries_is_rate_limited(fake: FakeOpenAI,
                                                                    text: OpenAITextProvider) -> None:
    fake.script("chat", *[rate_limited("0.02")] * 3)
    with pytest.raises(RateLimited) as caught:
        await text.write_article(BRIEF)
    assert (caught.value.reason, caught.value.retryable, caught.value.retry_after) == ("RATE_LIMITED", True, 0.02)
    assert fake.count("chat") == 3  # the first try and max_retries=2


async def test_server_errors_that_outlast_the_retries_are_provider_unavailable(fake: FakeOpenAI,
                                                                               text: OpenAITextProvider) -> None:
    fake.script("chat", *[server_error(502)] * 3)
    with pytest.raises(ProviderUnavailable) as caught:
        await text.write_article(BRIEF)
    assert caught.value.retryable and "502" in caught.value.message


async def test_insufficient_quota_is_a_permanent_quota_error_without_retries(fake: FakeOpenAI,
                                                                             text: OpenAITextProvider) -> None:
    fake.script("chat", insufficient_quota(), chat(ARTICLE))
    with pytest.raises(QuotaExceeded) as caught:
        await text.write_article(BRIEF)
    assert (caught.value.reason, caught.value.retryable) == ("QUOTA_EXCEEDED", False)
    assert "no quota left" in caught.value.message and "insufficient_quota" in caught.value.message
    assert fake.count("chat") == 1


async def test_answer_that_is_not_json_is_a_bad_response(fake: FakeOpenAI, text: OpenAITextProvider) -> None:
    fake.script("chat", chat('{"title": "Running shoes", "html": "<p>cut off'))
    with pytest.raises(BadProviderResponse) as caught:
        await text.write_article(BRIEF)
    assert caught.value.retryable and "not valid JSON" in caught.value.message


@pytest.mark.parametrize("answer, named", [
    ({k: v for k, v in ARTICLE.items() if k != "html"}, "'html'"),
    ({**ARTICLE, "title": "  "}, "'title'"),
    ({**ARTICLE, "meta_description": 42}, "'meta_description'"),
    ({**ARTICLE, "secondary_keywords": "trail running"}, "'secondary_keywords'"),
    (["not", "an", "object"], "list"),
])
async def test_answer_missing_a_field_is_a_bad_response(fake: FakeOpenAI, text: OpenAITextProvider,
                                                        answer: object, named: str) -> None:
    fake.script("chat", chat(answer))
    with pytest.raises(BadProviderResponse, match=named):
        await text.write_article(BRIEF)


async def test_json_in_a_code_fence_is_accepted(fake: FakeOpenAI, text: OpenAITextProvider) -> None:
    fake.script("chat", chat(f"```json\n{json.dumps(ARTICLE)}\n```"))
    assert (await text.write_article(BRIEF)).meta_title == ARTICLE["meta_title"]


async def test_no_answer_within_the_timeout_is_a_provider_timeout(fake: FakeOpenAI) -> None:
    provider = OpenAITextProvider(connection_to(fake, timeout=0.5, max_retries=0), "gpt-test")
    fake.script("chat", slow(chat(ARTICLE), 5))
    started = time.monotonic()
    with pytest.raises(ProviderTimeout) as caught:
        await provider.write_article(BRIEF)
    assert caught.value.retryable and time.monotonic() - started < 3
    await provider.connection.aclose()


@pytest.mark.parametrize("status", [400, 401, 404])
async def test_client_errors_are_rejected_without_retries(fake: FakeOpenAI, text: OpenAITextProvider,
                                                          status: int) -> None:
    fake.script("chat", rejected(status, "Invalid value for 'model': 'gpt-test'."), chat(ARTICLE))
    with pytest.raises(ProviderRejected) as caught:
        await text.write_article(BRIEF)
    assert (caught.value.reason, caught.value.retryable) == ("PROVIDER_REJECTED", False)
    assert str(status) in caught.value.message and "Invalid value" in caught.value.message
    assert fake.count("chat") == 1


async def test_unreachable_server_is_provider_unavailable(fake: FakeOpenAI) -> None:
    with FakeOpenAI() as gone:
        base_url = gone.base_url
    provider = OpenAITextProvider(OpenAIConnection(base_url=base_url, api_key="k", max_retries=0), "gpt-test")
    with pytest.raises(ProviderUnavailable):
        await provider.write_article(BRIEF)
    await provider.connection.aclose()


async def test_image_prompts_are_parsed_and_limited(fake: FakeOpenAI, text: OpenAITextProvider) -> None:
    fake.script("chat", chat(PROMPTS))
    prompts = await text.write_image_prompts(PROMPTS_BRIEF)
    assert prompts.featured.prompt == "A pair of running shoes on a track" and prompts.featured.position == 0
    assert [(d.heading, d.position) for d in prompts.in_article] == [("Fit", 1), ("Cushioning", 2)]
    assert "- Fit" in fake.requests[0].body["messages"][1]["content"]


async def test_image_prompts_without_a_featured_prompt_are_a_bad_response(fake: FakeOpenAI,
                                                                          text: OpenAITextProvider) -> None:
    fake.script("chat", chat({"in_article": PROMPTS["in_article"]}))
    with pytest.raises(BadProviderResponse, match="featured"):
        await text.write_image_prompts(PROMPTS_BRIEF)


# Images.

async def test_image_answered_as_base64(fake: FakeOpenAI, images: OpenAIImageProvider) -> None:
    fake.script("images", image_b64(png(64, 48)))
    image = await images.render(ImageRequest("running shoes", 64, 48, "png"))
    assert image.data == png(64, 48)
    assert (image.format, image.width, image.height) == ("png", 64, 48)
    assert (image.usage.tokens_in, image.usage.tokens_out) == (40, 4000)
    body = fake.requests[0].body
    assert (body["model"], body["size"], body["prompt"], body["output_format"]) == \
        ("gpt-image-1", "64x48", "running shoes", "png")


async def test_image_answered_as_a_url_is_downloaded(fake: FakeOpenAI, images: OpenAIImageProvider) -> None:
    fake.script("images", image_url(fake.serve_file("shoes.png", png(64, 48))))
    image = await images.render(ImageRequest("running shoes", 64, 48, "png"))
    assert image.data == png(64, 48)
    assert (fake.count("images"), fake.count("files")) == (1, 1)
    assert "authorization" not in fake.requests[1].headers  # the key never goes to the file host


async def test_image_of_another_size_and_format_is_converted(fake: FakeOpenAI, images: OpenAIImageProvider) -> None:
    fake.script("images", image_b64(png(100, 100)))
    image = await images.render(ImageRequest("running shoes", 64, 48, "webp"))
    opened, format = decode(image.data)
    assert (format, opened.size, image.format) == ("webp", (64, 48), "webp")


async def test_image_rate_limit_is_retried(fake: FakeOpenAI, images: OpenAIImageProvider) -> None:
    fake.script("images", rate_limited(), server_error(), image_b64(png()))
    assert (await images.render(ImageRequest("p", 64, 48))).width == 64
    assert fake.count("images") == 3


@pytest.mark.parametrize("answer", [
    image_b64(b"<html>not an image</html>"),
    Reply(200, {"created": 0, "data": []}),
    Reply(200, {"created": 0, "data": [{"b64_json": "%%% not base64"}]}),
])
async def test_image_answer_without_an_image_is_a_bad_response(fake: FakeOpenAI, images: OpenAIImageProvider,
                                                               answer: Reply) -> None:
    fake.script("images", answer)
    with pytest.raises(BadProviderResponse):
        await images.render(ImageRequest("p", 64, 48))


async def test_image_url_that_is_gone_is_a_bad_response(fake: FakeOpenAI, images: OpenAIImageProvider) -> None:
    fake.script("images", image_url(f"{fake.origin}/files/missing.png"))
    with pytest.raises(BadProviderResponse, match="418"):
        await images.render(ImageRequest("p", 64, 48))


async def test_image_quota_error_is_quota_exceeded(fake: FakeOpenAI, images: OpenAIImageProvider) -> None:
    fake.script("images", insufficient_quota())
    with pytest.raises(QuotaExceeded):
        await images.render(ImageRequest("p", 64, 48))


async def test_older_image_models_are_not_sent_output_format(fake: FakeOpenAI) -> None:
    provider = OpenAIImageProvider(connection_to(fake), "dall-e-3")
    fake.script("images", image_b64(png()))
    await provider.render(ImageRequest("p", 64, 48, "jpeg"))
    assert "output_format" not in fake.requests[0].body
    await provider.connection.aclose()


# Choosing providers from settings.

def test_defaults_are_the_offline_providers() -> None:
    settings = Settings(text_provider="template", image_provider="placeholder")
    assert isinstance(text_provider(settings), TemplateWriter)
    assert isinstance(image_provider(settings), PlaceholderRenderer)


def test_openai_providers_come_from_the_settings() -> None:
    settings = Settings(text_provider="openai", image_provider="openai", openai_base_url="http://127.0.0.1:9/v1",
                        openai_api_key="k", openai_model="m", openai_image_model="im", openai_timeout_seconds=7,
                        openai_max_retries=1)
    text, image = text_provider(settings), image_provider(settings)
    assert isinstance(text, OpenAITextProvider) and isinstance(image, OpenAIImageProvider)
    assert (text.model, image.model, text.connection.timeout_seconds, text.connection.max_retries) == ("m", "im", 7, 1)


@pytest.mark.parametrize("url, key, missing", [
    ("", "k", "WRITER_OPENAI_BASE_URL"), ("http://x/v1", "", "WRITER_OPENAI_API_KEY"), ("", "", "BASE_URL and"),
])
def test_openai_without_url_or_key_fails_at_start(url: str, key: str, missing: str) -> None:
    for choose in (lambda s: text_provider(s), lambda s: image_provider(s)):
        settings = Settings(text_provider="openai", image_provider="openai", openai_base_url=url, openai_api_key=key)
        with pytest.raises(ValueError, match=missing):
            choose(settings)
