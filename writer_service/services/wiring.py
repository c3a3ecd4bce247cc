"""Building the generation machinery from the settings: prices, models, the item runner."""

from __future__ import annotations

import logging

from sqlalchemy import select

from writer_service.config import Settings
from writer_service.db.database import Database
from writer_service.db.models import Job, JobItem
from writer_service.domain.pricing import Prices
from writer_service.services import content_generation
from writer_service.services.content_generation import ENDED, Writer

log = logging.getLogger("writer_service.generation")


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
        """The content writer, made on first use (its model client is not needed before)."""
        if self._writer is None:
            self._writer = build_writer(self.settings, self.db)
        return self._writer

    async def __call__(self, item_id: int) -> str:
        async with self.db.read() as session:
            kind = await session.scalar(
                select(Job.kind).join(JobItem, JobItem.job_id == Job.id).where(JobItem.id == item_id))
        if kind == "content_generation":
            return await content_generation.run_item(self.writer, item_id=item_id)
        log.error("job item %s: no runner for job kind %r", item_id, kind)
        return ENDED

    async def close(self) -> None:
        """Close the database when this runner made it."""
        if self.owns_db:
            await self.db.close()


def build_writer(settings: Settings, db: Database) -> Writer:
    """The content writer of the settings: its text model, prices and attempts."""
    from writer_service.ai import text_provider

    return Writer(db=db, text=text_provider(settings), prices=prices_from(settings),
                  max_attempts=settings.job_item_max_attempts)


def build_item_runner(settings: Settings, db: Database | None = None) -> ItemRunner:
    """An item runner on `db`, or on a database of its own (a worker process)."""
    owns = db is None
    db = db or Database.from_url(settings.resolved_database_url(), pool_size=settings.db_pool_size)
    return ItemRunner(settings, db, owns_db=owns)
