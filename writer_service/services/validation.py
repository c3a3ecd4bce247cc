"""ValidateContent (the source's ContentValidationService): the publishing checks of domain/seo run
on a content item with what surrounds it (its task's target length, its featured image)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from writer_service.db.database import Database
from writer_service.db.models import Content, Image, Task
from writer_service.domain import seo
from writer_service.domain.errors import FailedPrecondition, PreconditionViolation
from writer_service.tenancy.context import TenantContext
from writer_service.tenancy.scoping import get_scoped, scoped

# The best status among a content's featured images, best first.
FEATURED_STATUS_RANK = ("generated", "pending", "failed")


async def facts_of(session: AsyncSession, tenant: TenantContext, content: Content) -> seo.ContentFacts:
    """What the checks look at: the content's fields, its task's target length, its featured image."""
    target = 0
    if content.task_id:
        stmt = select(Task.word_count).where(Task.id == content.task_id)
        target = await session.scalar(scoped(stmt, Task, tenant, show_deleted=True)) or 0
    featured = select(Image.status).where(Image.content_id == content.id, Image.image_type == "featured")
    statuses = set((await session.execute(scoped(featured, Image, tenant))).scalars())
    return seo.ContentFacts(
        title=content.title,
        content_html=content.content_html,
        meta_title=content.meta_title,
        meta_description=content.meta_description,
        primary_keyword=content.primary_keyword,
        target_words=target,
        featured_image=next((s for s in FEATURED_STATUS_RANK if s in statuses), None),
    )


async def check_content(session: AsyncSession, tenant: TenantContext, content: Content) -> seo.Report:
    """Every publishing check on a loaded content row."""
    return seo.validate(await facts_of(session, tenant, content))


async def validate_content(db: Database, tenant: TenantContext, *, content_id: int) -> seo.Report:
    """The publishing checks of one live content item, without changing it."""
    async with db.read() as session:
        content = await get_scoped(session, Content, content_id, tenant)
        return await check_content(session, tenant, content)


def require_publishable(content_id: int, report: seo.Report) -> None:
    """FAILED_PRECONDITION with one VALIDATION violation per failed check, unless none failed."""
    if report.publishable:
        return
    failed = report.failures
    raise FailedPrecondition(
        message=f"Content {content_id} is not publishable: " + "; ".join(f"{c.code}: {c.message}" for c in failed),
        reason="CONTENT_NOT_PUBLISHABLE",
        violations=[PreconditionViolation("VALIDATION", c.code, c.message) for c in failed],
        metadata={"resource_type": "Content", "id": str(content_id),
                  "failed_checks": ",".join(c.code for c in failed), "score": str(report.score)},
    )
