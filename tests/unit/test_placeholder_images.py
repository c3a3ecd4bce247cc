"""The placeholder renderer: real image files at the requested size and format, the same bytes every time."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from writer_service.ai.base import ImageRequest
from writer_service.ai.image_files import NotAnImageFile, conform, decode, encode
from writer_service.ai.placeholder_images import PlaceholderRenderer, draw

PROMPT = 'clean editorial photograph of running shoes, illustrating "The best running shoes for beginners"'
PILLOW_NAMES = {"png": "PNG", "webp": "WEBP", "jpeg": "JPEG"}


@pytest.mark.parametrize("format", ["png", "webp", "jpeg"])
@pytest.mark.parametrize("size", [(1200, 630), (800, 800), (1, 1), (16, 400)])
async def test_renders_a_file_pillow_opens_at_the_requested_size_and_format(format: str, size: tuple[int, int]) -> None:
    image = await PlaceholderRenderer().render(ImageRequest(PROMPT, *size, format=format))  # type: ignore[arg-type]
    opened = Image.open(io.BytesIO(image.data))
    assert (opened.format, opened.size) == (PILLOW_NAMES[format], size)
    assert (image.format, image.width, image.height) == (format, *size)
    assert image.usage.provider == "placeholder"


@pytest.mark.parametrize("format", ["png", "webp", "jpeg"])
async def test_same_request_gives_identical_bytes(format: str) -> None:
    request = ImageRequest(PROMPT, 640, 360, format=format)  # type: ignore[arg-type]
    first = await PlaceholderRenderer().render(request)
    second = await PlaceholderRenderer().render(request)
    assert first.data == second.data


async def test_other_prompts_give_other_colours() -> None:
    def background(prompt: str) -> tuple[int, ...]:
        data = PlaceholderRenderer().render_now(ImageRequest(prompt, 200, 100)).data
        return Image.open(io.BytesIO(data)).convert("RGB").getpixel((0, 0))  # type: ignore[return-value]

    assert len({background(f"prompt {i}") for i in range(5)}) > 1


async def test_prompt_text_is_drawn() -> None:
    def dark_pixels(prompt: str) -> int:  # the background is light, the ink dark
        return sum(draw(ImageRequest(prompt, 400, 200)).convert("L").histogram()[:100])

    assert dark_pixels("words on it") > 50
    assert dark_pixels("") == 0


async def test_long_prompt_on_a_small_image_still_renders() -> None:
    image = PlaceholderRenderer().render_now(ImageRequest("word " * 500, 64, 64))
    assert Image.open(io.BytesIO(image.data)).size == (64, 64)


@pytest.mark.parametrize("width, height, format", [(0, 10, "png"), (10, 5000, "png"), (10, 10, "gif")])
def test_request_outside_the_limits_is_refused(width: int, height: int, format: str) -> None:
    with pytest.raises(ValueError):
        ImageRequest("p", width, height, format=format)  # type: ignore[arg-type]


def test_conform_keeps_a_file_already_as_asked_and_converts_another() -> None:
    png = encode(Image.new("RGB", (30, 20), (1, 2, 3)), "png")
    assert conform(png, "png", 30, 20) == (png, 30, 20)
    data, width, height = conform(png, "webp", 10, 10)
    image, format = decode(data)
    assert (format, image.size, width, height) == ("webp", (10, 10), 10, 10)


def test_decode_refuses_bytes_that_are_not_an_image() -> None:
    with pytest.raises(NotAnImageFile):
        decode(b"<html>not an image</html>")
