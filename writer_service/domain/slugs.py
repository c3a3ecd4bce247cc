"""Slugs: the URL-safe names derived from a title when the caller gives none."""

from __future__ import annotations

import re
import unicodedata

MAX_SLUG_LENGTH = 255


def slugify(text: str, *, max_length: int = MAX_SLUG_LENGTH) -> str:
    """`"Best Running Shoes 2026!"` -> `"best-running-shoes-2026"` (ASCII, lowercase, dashes)."""
    normalized = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", normalized.lower()).strip("-")
    return slug[:max_length].rstrip("-")
