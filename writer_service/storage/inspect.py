"""What an image file really is, read from its bytes with Pillow (never from its name or a header)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

from PIL import Image, UnidentifiedImageError

# Pillow's format name -> (stored format, MIME type, file extension).
FORMATS: dict[str, tuple[str, str, str]] = {
    "PNG": ("png", "image/png", "png"),
    "JPEG": ("jpeg", "image/jpeg", "jpg"),
    "WEBP": ("webp", "image/webp", "webp"),
}
MIME_TYPES = {mime: fmt for fmt, mime, _ in FORMATS.values()}
EXTENSIONS = {fmt: ext for fmt, _, ext in FORMATS.values()}


class NotAnImage(ValueError):
    """The bytes are not a complete PNG, JPEG or WebP image."""


@dataclass(frozen=True)
class ImageFacts:
    """What the bytes are: format ("png", "jpeg", "webp"), MIME type and pixel size."""

    format: str
    mime_type: str
    width: int
    height: int


def inspect_image(file: BinaryIO) -> ImageFacts:
    """The facts of a PNG, JPEG or WebP file; NotAnImage for anything else or a damaged file.

    Blocking: run it in a worker thread.
    """
    try:
        with Image.open(file) as image:
            kind = image.format or ""
            width, height = image.size
            image.verify()
    except (UnidentifiedImageError, Image.DecompressionBombError) as error:
        raise NotAnImage(str(error)) from None
    except (OSError, SyntaxError, ValueError) as error:  # Pillow's ways of saying "damaged"
        raise NotAnImage(f"damaged {kind or 'image'} data: {error}") from None
    if kind not in FORMATS:
        raise NotAnImage(f"{kind or 'unknown'} images are not accepted")
    stored, mime, _ = FORMATS[kind]
    return ImageFacts(format=stored, mime_type=mime, width=width, height=height)
