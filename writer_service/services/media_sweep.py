"""Removing media files nothing refers to.

A file is stored before the image row records it (a render or an upload writes the file, then
commits the row), so a process that dies in between leaves a file no image names; a staged upload
whose process died leaves its part file. Neither is ever served. `sweep_media` removes such files
once they are older than any write in flight could be; every file an image row names stays,
soft-deleted images' too (Undelete brings them back with their file).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from writer_service.db.database import Database
from writer_service.db.models import Image
from writer_service.domain.errors import InvalidArgument
from writer_service.storage.local import STAGING_DIR, LocalMediaStorage

IMAGES_PREFIX = "images"
BATCH = 1000
MIN_AGE_SECONDS = 3600.0  # a younger file may be a write in flight


@dataclass(frozen=True)
class MediaSweep:
    """What a sweep found and did."""

    unreferenced: int
    bytes: int
    removed: bool  # False: a dry run, nothing was removed


async def _referenced(db: Database, keys: Iterable[str]) -> set[str]:
    """The keys among `keys` that an image row names."""
    keys = list(keys)
    named: set[str] = set()
    async with db.read() as session:
        for start in range(0, len(keys), BATCH):
            batch = keys[start:start + BATCH]
            named.update(await session.scalars(select(Image.image_path).where(Image.image_path.in_(batch))))
    return named


async def sweep_media(db: Database, storage: LocalMediaStorage, *, older_than_seconds: float,
                      dry_run: bool = False) -> MediaSweep:
    """Remove the image files no image row names and the staged parts, last written more than
    `older_than_seconds` (at least MIN_AGE_SECONDS) ago; with `dry_run`, only count them."""
    if older_than_seconds < MIN_AGE_SECONDS:
        raise InvalidArgument.of("older_than", f"must be at least {MIN_AGE_SECONDS / 3600:g} hour: a newer file "
                                               "may be a write in flight")
    cutoff = time.time() - older_than_seconds
    images = await storage.files_before(IMAGES_PREFIX, cutoff)
    named = await _referenced(db, (key for key, _size in images))
    unreferenced = [found for found in images if found[0] not in named]
    unreferenced += await storage.files_before(STAGING_DIR, cutoff)
    if not dry_run:
        for key, _size in unreferenced:
            await storage.discard(key)
    return MediaSweep(unreferenced=len(unreferenced), bytes=sum(size for _key, size in unreferenced),
                      removed=not dry_run)
