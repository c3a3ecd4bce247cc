"""Encoding and checking image files with Pillow, shared by the image providers."""

from __future__ import annotations

import io

from PIL import Image, ImageOps, UnidentifiedImageError

from writer_service.ai.base import ImageFormat

PILLOW_FORMATS: dict[ImageFormat, str] = {"png": "PNG", "webp": "WEBP", "jpeg": "JPEG"}
FORMATS_BY_PILLOW = {pillow: ours for ours, pillow in PILLOW_FORMATS.items()}
# Fixed encoder settings: the same pixels always give the same bytes.
SAVE_OPTIONS: dict[ImageFormat, dict[str, object]] = {
    "png": {"optimize": False},
    "webp": {"quality": 82, "method": 4},
    "jpeg": {"quality": 88, "optimize": False, "progressive": False},
}


class NotAnImageFile(ValueError):
    """Bytes that Pillow cannot read as a PNG, WebP or JPEG image."""


def encode(image: Image.Image, format: ImageFormat) -> bytes:
    """The image as a file of that format (RGB; JPEG has no alpha)."""
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, PILLOW_FORMATS[format], **SAVE_OPTIONS[format])
    return buffer.getvalue()


def decode(data: bytes) -> tuple[Image.Image, ImageFormat]:
    """The image in a file and its format; NotAnImageFile for anything else."""
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise NotAnImageFile(f"not a readable image: {exc}") from exc
    found = FORMATS_BY_PILLOW.get(image.format or "")
    if found is None:
        raise NotAnImageFile(f"image format {image.format!r} is not one of png, webp, jpeg")
    return image, found


def conform(data: bytes, format: ImageFormat, width: int, height: int) -> tuple[bytes, int, int]:
    """The file as asked for: the same bytes when it already is, else cropped to fill and re-encoded."""
    image, found = decode(data)
    if found == format and image.size == (width, height):
        return data, width, height
    if image.size != (width, height):
        image = ImageOps.fit(image.convert("RGB"), (width, height), Image.Resampling.LANCZOS)
    return encode(image, format), width, height
