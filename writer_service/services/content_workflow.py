"""The editorial status of content: draft -> review -> published, review -> draft.

Each move goes through domain/states; publishing also requires the publishing checks to pass
(services/validation) and stamps publish_time. Asking for the status the content already has
changes nothing. Draft content goes to review by itself once every image of it has its file,
generated or uploaded (`review_when_illustrated`).
"""

from __future__ import annotations

import logging

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from writer_service.db.base import utcnow
from writer_service.db.database import Database
from writer_service.db.models import Content, Image
from writer_service.domain.changes import check_etag
from writer_service.domain.states import check_transition
from writer_service.services.content_queries import ContentView, present_one
from writer_service.services.validation import check_content, require_publishable
from writer_service.tenancy.context import TenantContext
from writer_service.tenancy.scoping import get_scoped

log = logging.getLogger(__name__)


async def move_content(db: Database, tenant: TenantContext, *, content_id: int, etag: str,
                       target: str) -> ContentView:
    """Move live content to `target` along an allowed transition."""
    async with db.transaction() as session:
        content = await get_scoped(session, Content, content_id, tenant, for_update=True)
        check_etag(etag, content.version, resource="Content", resource_id=content.id)
        check_transition("Content", content.id, content.status, target)
        if content.status != target:
            if target == "published":
                require_publishable(content.id, await check_content(session, tenant, content))
                content.publish_time = utcnow()
            content.status = target
            await session.flush()
        return await present_one(session, tenant, content)


async def submit_for_review(db: Database, tenant: TenantContext, *, content_id: int, etag: str) -> ContentView:
    """draft -> review."""
    return await move_content(db, tenant, content_id=content_id, etag=etag, target="review")


async def publish(db: Database, tenant: TenantContext, *, content_id: int, etag: str) -> ContentView:
    """review -> published, if ValidateContent finds no failing check."""
    return await move_content(db, tenant, content_id=content_id, etag=etag, target="published")


async def return_to_draft(db: Database, tenant: TenantContext, *, content_id: int, etag: str) -> ContentView:
    """review -> draft."""
    return await move_content(db, tenant, content_id=content_id, etag=etag, target="draft")


async def locked_live_content(session: AsyncSession, content_id: int | None) -> Content | None:
    """The content row, locked for the transaction, unless there is none or it is deleted. Whoever
    changes an image of a content and then `review_when_illustrated` takes this lock before the image's
    row, so that of two images finishing together the later sees the other generated."""
    if content_id is None:
        return None
    content = await session.scalar(select(Content).where(Content.id == content_id).with_for_update())
    return content if content is not None and content.delete_time is None else None


async def review_when_illustrated(session: AsyncSession, content: Content) -> None:
    """Draft content whose live images are all generated goes to review; content already in review or
    published is left where it is (review is the editors' to undo, and published is final)."""
    if content.status != "draft":
        return
    missing = await session.scalar(select(func.count()).select_from(Image).where(
        Image.content_id == content.id, Image.delete_time.is_(None), Image.status != "generated"))
    if missing:
        return
    check_transition("Content", content.id, content.status, "review")
    content.status = "review"
    log.info("content %s: every image generated, moved to review", content.id)
