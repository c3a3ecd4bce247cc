"""Running one content generation item: task in, draft content out, credits settled.

Idempotent: the item is claimed (attempt n), the model is called outside any transaction, and the
content, the task's completion, the AI log and the settlement are written in ONE transaction that
still has to own attempt n. A redelivered or duplicated run therefore makes one content and one
charge, whatever crashed where.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from writer_service.ai.base import ArticleBrief, GeneratedArticle, TextProvider
from writer_service.ai.errors import ProviderError
from writer_service.db.database import Database
from writer_service.db.models import Cluster, Content, ContentTaxonomy, Job, JobItem, Sector, Site, Task
from writer_service.domain import seo
from writer_service.domain.html_text import count_words
from writer_service.domain.pricing import Prices
from writer_service.domain.states import check_transition
from writer_service.services import billing, jobs
from writer_service.services.metadata_mapping import map_task_to_content

log = logging.getLogger("writer_service.generation")

SUCCEEDED, FAILED, RETRY, ENDED = "succeeded", "failed", "retry", "ended"


@dataclass
class Writer:
    """What running items needs: the database, the text model, prices and how often to try."""

    db: Database
    text: TextProvider
    prices: Prices
    max_attempts: int = 3


async def _brief(db: Database, task_id: int) -> tuple[Task, ArticleBrief]:
    async with db.read() as session:
        task = await session.get(Task, task_id)
        if task is None:
            raise LookupError(f"task {task_id} no longer exists")
        cluster = await session.get(Cluster, task.cluster_id)
        term = await session.get(ContentTaxonomy, task.taxonomy_term_id) if task.taxonomy_term_id else None
        site = await session.get(Site, task.site_id)
        sector = await session.get(Sector, task.sector_id)
    keywords = [k.strip() for k in task.keywords.split(",") if k.strip()]
    primary = keywords[0] if keywords else (cluster.name if cluster else task.title)
    return task, ArticleBrief(
        title=task.title, primary_keyword=primary, keywords=keywords or [primary],
        cluster_name=cluster.name if cluster else "", content_type=task.content_type,
        content_structure=task.content_structure,
        word_count_target=task.word_count or 0, taxonomy_terms=[term.name] if term else [],
        site_name=site.name if site else "", sector_name=sector.name if sector else "",
        description=task.description,
    )


async def run_item(writer: Writer, *, item_id: int) -> str:
    """Run one item of a content generation job; SUCCEEDED, FAILED, RETRY (try later) or ENDED."""
    async with writer.db.transaction() as session:
        attempt = await jobs.claim_item(session, item_id=item_id)
        item = await session.get(JobItem, item_id)
    if attempt is None or item is None or item.task_id is None:
        return ENDED
    try:
        task, brief = await _brief(writer.db, item.task_id)
    except LookupError as missing:
        return await _fail(writer, item_id=item_id, attempt=attempt, reason=f"TASK_GONE: {missing}")
    started = time.monotonic()
    try:
        article = await writer.text.write_article(brief)
    except ProviderError as error:
        await _log_failure(writer, task=task, item=item, error=error, started=started)
        if error.retryable and attempt < writer.max_attempts:
            log.warning("item %s attempt %s: %s, will retry", item_id, attempt, error.reason)
            return RETRY
        return await _fail(writer, item_id=item_id, attempt=attempt, reason=f"{error.reason}: {error.message}")
    return await _finish(writer, item_id=item_id, attempt=attempt, task_id=task.id, article=article)


async def _finish(writer: Writer, *, item_id: int, attempt: int, task_id: int, article: GeneratedArticle) -> str:
    async with writer.db.transaction() as session:
        item = await jobs.own_item(session, item_id=item_id, attempt=attempt)
        if item is None:
            return ENDED  # another run of the same item finished it
        task = await session.scalar(select(Task).where(Task.id == task_id).with_for_update())
        if task is None or task.delete_time is not None or task.status == "completed":
            await jobs.item_failed(session, item=item, reason="TASK_CHANGED: the task was deleted or completed")
            return FAILED
        content = _content(task, article)
        session.add(content)
        await session.flush()
        await map_task_to_content(session, task=task, content=content)
        check_transition("Task", task.id, task.status, "completed")
        task.status = "completed"
        words = count_words(article.html)
        charged = writer.prices.content_cost(words, item.credits_reserved)
        job = await session.get(Job, item.job_id)
        assert job is not None
        usage = article.usage
        await billing.record_ai_request(
            session, account_id=task.account_id, site_id=task.site_id, sector_id=task.sector_id,
            operation="content_generation", provider=usage.provider, model=usage.model,
            tokens_in=usage.tokens_in, tokens_out=usage.tokens_out, credits=charged,
            duration_ms=usage.duration_ms, job_id=job.id, job_item_id=item.id,
            automation_run_id=job.automation_run_id)
        await jobs.item_succeeded(session, item=item, charged=charged, result_content_id=content.id)
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


async def _fail(writer: Writer, *, item_id: int, attempt: int, reason: str) -> str:
    async with writer.db.transaction() as session:
        item = await jobs.own_item(session, item_id=item_id, attempt=attempt)
        if item is None:
            return ENDED
        await jobs.item_failed(session, item=item, reason=reason)
    return FAILED


async def _log_failure(writer: Writer, *, task: Task, item: Any, error: ProviderError, started: float) -> None:
    async with writer.db.transaction() as session:
        job = await session.get(Job, item.job_id)
        await billing.record_ai_request(
            session, account_id=task.account_id, site_id=task.site_id, sector_id=task.sector_id,
            operation="content_generation", provider=writer.text.name, model=writer.text.model,
            duration_ms=int((time.monotonic() - started) * 1000), error=f"{error.reason}: {error.message}",
            job_id=item.job_id, job_item_id=item.id, automation_run_id=job.automation_run_id if job else None)
