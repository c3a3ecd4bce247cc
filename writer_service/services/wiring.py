"""Building the generation machinery from the settings: prices, models, media storage, the item runner."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import select

from writer_service.ai.base import MAX_IMAGE_SIDE
from writer_service.config import Settings
from writer_service.db.database import Database
from writer_service.db.models import Job, JobItem
from writer_service.domain.pricing import Prices
from writer_service.services import ai_runs, content_generation, image_runs
from writer_service.services.ai_runs import ENDED, Writer
from writer_service.storage import LocalMediaStorage

log = logging.getLogger("writer_service.generation")

# The runner of each kind of job: one item in, its outcome out.
RUNNERS: dict[str, Callable[..., Awaitable[str]]] = {
    "content_generation": content_generation.run_item,
    "image_prompts": image_runs.run_prompts_item,
    "image_generation": image_runs.run_image_item,
}


def prices_from(settings: Settings) -> Prices:
    """The credit prices of the settings."""
    return Prices(
        credits_per_100_words=settings.credits_per_100_words,
        min_content_credits=settings.min_content_credits,
        image_prompt_credits=settings.image_prompt_credits,
        image_credits=settings.image_credits,
        default_word_count=settings.default_word_count,
    )


class ItemRunner:
    """Runs one job item by id, whatever kind of job it belongs to."""

    def __init__(self, settings: Settings, db: Database, *, owns_db: bool = False) -> None:
        self.settings = settings
        self.db = db
        self.owns_db = owns_db
        self._writer: Writer | None = None

    @property
    def writer(self) -> Writer:
        """The writer of every kind of item, made on first use (its model clients are not needed before)."""
        if self._writer is None:
            self._writer = build_writer(self.settings, self.db)
        return self._writer

    async def __call__(self, item_id: int) -> str:
        async with self.db.read() as session:
            kind = await session.scalar(
                select(Job.kind).join(JobItem, JobItem.job_id == Job.id).where(JobItem.id == item_id))
        runner = RUNNERS.get(kind or "")
        if runner is not None:
            try:
                return await runner(self.writer, item_id=item_id)
            except Exception as error:  # noqa: BLE001 - logged; the item is tried again or failed, never left running
                log.exception("job item %s: its run failed unexpectedly", item_id)
                return await ai_runs.crashed(self.writer, item_id=item_id, error=error)
        log.error("job item %s: no runner for job kind %r", item_id, kind)
        return ENDED

    async def close(self) -> None:
        """Close the database when this runner made it."""
        if self.owns_db:
            await self.db.close()


def image_size(value: str, name: str) -> tuple[int, int]:
    """A "WxH" size of the settings as (width, height); ValueError naming the setting when it is unusable."""
    width, _, height = value.partition("x")
    size = (int(width), int(height))
    if not all(1 <= side <= MAX_IMAGE_SIDE for side in size):
        raise ValueError(f"WRITER_{name.upper()} {value!r}: each side must be 1-{MAX_IMAGE_SIDE} pixels")
    return size


def build_writer(settings: Settings, db: Database) -> Writer:
    """The writer of the settings: its text and image models, media storage, image sizes, prices and attempts."""
    from writer_service.ai import image_provider, text_provider

    return Writer(db=db, text=text_provider(settings), prices=prices_from(settings),
                  max_attempts=settings.job_item_max_attempts, images=image_provider(settings),
                  storage=LocalMediaStorage(settings.resolved_media_root()),
                  featured_size=image_size(settings.featured_image_size, "featured_image_size"),
                  in_article_size=image_size(settings.in_article_image_size, "in_article_image_size"),
                  image_format=settings.image_format)


def build_item_runner(settings: Settings, db: Database | None = None) -> ItemRunner:
    """An item runner on `db`, or on a database of its own (a worker process)."""
    owns = db is None
    db = db or Database.from_url(settings.resolved_database_url(), pool_size=settings.db_pool_size)
    return ItemRunner(settings, db, owns_db=owns)
