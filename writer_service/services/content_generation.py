"""Running one content generation item: task in, draft content out, credits settled.

The claim / retry / bill steps are services/ai_runs.py's; this module builds the brief from the
task and writes the content, the task's completion and the settlement in one transaction.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from writer_service.ai.base import ArticleBrief, GeneratedArticle
from writer_service.db.models import Cluster, Content, ContentTaxonomy, Sector, Site, Task
from writer_service.domain import seo
from writer_service.domain.html_text import count_words
from writer_service.domain.states import check_transition
from writer_service.services import ai_runs, jobs
from writer_service.services.ai_runs import ENDED, FAILED, RETRY, SUCCEEDED, Claim, Writer
from writer_service.services.metadata_mapping import map_task_to_content

__all__ = ["ENDED", "FAILED", "RETRY", "SUCCEEDED", "Writer", "run_item"]

log = logging.getLogger("writer_service.generation")
OPERATION = "content_generation"


async def _brief(session: AsyncSession, task_id: int) -> ArticleBrief | None:
    # One query for the task and the names around it (cluster, term, site, sector).
    found = (await session.execute(
        select(Task, Cluster.name, ContentTaxonomy.name, Site.name, Sector.name)
        .outerjoin(Cluster, Cluster.id == Task.cluster_id)
        .outerjoin(ContentTaxonomy, ContentTaxonomy.id == Task.taxonomy_term_id)
        .outerjoin(Site, Site.id == Task.site_id)
        .outerjoin(Sector, Sector.id == Task.sector_id)
        .where(Task.id == task_id)
    )).one_or_none()
    if found is None:
        return None
    task, cluster_name, term_name, site_name, sector_name = found
    keywords = [k.strip() for k in task.keywords.split(",") if k.strip()]
    primary = keywords[0] if keywords else (cluster_name or task.title)
    return ArticleBrief(
        title=task.title, primary_keyword=primary, keywords=keywords or [primary],
        cluster_name=cluster_name or "", content_type=task.content_type,
        content_structure=task.content_structure,
        word_count_target=task.word_count or 0, taxonomy_terms=[term_name] if term_name else [],
        site_name=site_name or "", sector_name=sector_name or "",
        description=task.description,
    )


async def run_item(writer: Writer, *, item_id: int) -> str:
    """Run one item of a content generation job; SUCCEEDED, FAILED, RETRY (try later) or ENDED."""
    async with writer.db.transaction() as session:
        claimed = await ai_runs.claim_in(session, item_id)
        if claimed is None or claimed.item.task_id is None:
            return ENDED
        brief = await _brief(session, claimed.item.task_id)
    if brief is None:
        return await ai_runs.fail(writer, claimed, f"TASK_GONE: task {claimed.item.task_id} no longer exists")
    answer = await ai_runs.call_model(writer, claimed, operation=OPERATION, provider=writer.text,
                                      call=lambda: writer.text.write_article(brief))
    if isinstance(answer, str):
        return answer
    return await _finish(writer, claimed, answer)


async def _finish(writer: Writer, claimed: Claim, article: GeneratedArticle) -> str:
    async with writer.db.transaction() as session:
        item = await jobs.own_item(session, item_id=claimed.item.id, attempt=claimed.attempt)
        if item is None:
            return ENDED  # another run of the same item finished it
        task = await session.scalar(select(Task).where(Task.id == item.task_id).with_for_update())
        if task is None or task.delete_time is not None or task.status == "completed":
            await jobs.item_failed(session, item=item, reason="TASK_CHANGED: the task was deleted or completed")
            return FAILED
        content = _content(task, article)
        session.add(content)
        await session.flush()
        await map_task_to_content(session, task=task, content=content)
        check_transition("Task", task.id, task.status, "completed")
        task.status = "completed"
        charged = writer.prices.content_cost(content.word_count, item.credits_reserved)
        await ai_runs.succeed(session, claimed, item, operation=OPERATION, usage=article.usage, charged=charged,
                              result_content_id=content.id)
    report = seo.validate(seo.ContentFacts(title=content.title, content_html=content.content_html,
                                           meta_title=content.meta_title, meta_description=content.meta_description,
                                           primary_keyword=content.primary_keyword, target_words=task.word_count))
    if not report.publishable:
        log.info("content %s written as a draft that does not pass validation yet: %s", content.id,
                 ", ".join(c.code for c in report.failures))
    return SUCCEEDED


def _content(task: Task, article: GeneratedArticle) -> Content:
    return Content(
        account_id=task.account_id, site_id=task.site_id, sector_id=task.sector_id, task_id=task.id,
        cluster_id=task.cluster_id, title=article.title or task.title, content_html=article.html,
        meta_title=article.meta_title, meta_description=article.meta_description,
        primary_keyword=article.primary_keyword, secondary_keywords=list(article.secondary_keywords),
        content_type=task.content_type, content_structure=task.content_structure, source="igny8",
        status="draft", sync_status="native", word_count=count_words(article.html), external_metadata={},
    )
