"""The placeholder image renderer: the embedded default image provider. No network, deterministic.

A coloured card at the requested size with the prompt written on it; colours come from a hash of the
prompt, so the same request always gives the same bytes.
"""

from __future__ import annotations

import asyncio
import hashlib
import time

from PIL import Image, ImageDraw, ImageFont

from writer_service.ai.base import ImageRequest, RenderedImage, Usage
from writer_service.ai.image_files import encode

MARGIN_RATIO = 0.08
MIN_FONT_SIZE = 8
LINES_ON_SHORT_SIDE = 14  # font size: the shorter side divided by this


def _colour(digest: bytes, offset: int, *, light: bool) -> tuple[int, int, int]:
    """A colour picked by three bytes of the digest, kept light or dark so text stays readable."""
    low, high = (150, 235) if light else (20, 90)
    return tuple(low + digest[offset + i] * (high - low) // 255 for i in range(3))  # type: ignore[return-value]


def _wrap(text: str, font: ImageFont.ImageFont | ImageFont.FreeTypeFont, width: float, max_lines: int) -> list[str]:
    """The text broken into lines no wider than `width`, cut with an ellipsis after max_lines."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}".strip()
        if font.getlength(candidate) <= width or not line:
            line = candidate
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1].rstrip(".,;:") + "…"
    return lines


def draw(request: ImageRequest) -> Image.Image:
    """The picture of the request: background, two shapes and the prompt."""
    digest = hashlib.sha256(request.prompt.encode()).digest()
    width, height = request.width, request.height
    image = Image.new("RGB", (width, height), _colour(digest, 0, light=True))
    canvas = ImageDraw.Draw(image)
    for i, offset in enumerate((3, 9)):
        x, y = digest[offset + 3] * width // 255, digest[offset + 4] * height // 255
        radius = (digest[offset + 5] % 40 + 30) * min(width, height) // 100
        canvas.ellipse((x - radius, y - radius, x + radius, y + radius),
                       fill=_colour(digest, offset + 6 + i, light=True))
    margin = max(1, round(min(width, height) * MARGIN_RATIO))
    size = max(MIN_FONT_SIZE, min(width, height) // LINES_ON_SHORT_SIDE)
    font = ImageFont.load_default(size=size)
    line_height = round(size * 1.25)
    max_lines = max(1, (height - 2 * margin) // line_height)
    lines = _wrap(request.prompt, font, width - 2 * margin, max_lines)
    top = max(margin, (height - line_height * len(lines)) // 2)
    ink = _colour(digest, 20, light=False)
    for i, line in enumerate(lines):
        canvas.text((margin, top + i * line_height), line, font=font, fill=ink)
    return image


class PlaceholderRenderer:
    """Renders a deterministic placeholder image in PNG, WebP or JPEG."""

    name = "placeholder"
    model = "placeholder-v1"

    async def render(self, request: ImageRequest) -> RenderedImage:
        """The image file; drawn in a worker thread so a large image does not stall the event loop."""
        return await asyncio.to_thread(self.render_now, request)

    def render_now(self, request: ImageRequest) -> RenderedImage:
        """The synchronous work of render."""
        started = time.perf_counter()
        data = encode(draw(request), request.format)
        usage = Usage(provider=self.name, model=self.model,
                      duration_ms=round((time.perf_counter() - started) * 1000))
        return RenderedImage(data=data, format=request.format, width=request.width, height=request.height,
                             usage=usage)
