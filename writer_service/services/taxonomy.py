"""Taxonomy terms: the categories and tags of a site, their uniqueness, hierarchy and content count."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from writer_service.db.models import Content, ContentTaxonomy, ContentTaxonomyLink
from writer_service.domain.errors import NotFound
from writer_service.tenancy.context import TenantContext
from writer_service.tenancy.scoping import scoped

RECOUNT_BATCH = 500


async def recount(session: AsyncSession, term_ids: Iterable[int]) -> None:
    """Set each term's `count` to the number of live (not soft-deleted) contents linked to it.

    One UPDATE per batch of terms; terms already loaded in the session see their new count.
    """
    ids = sorted({int(i) for i in term_ids})
    live_links = (
        select(func.count())
        .select_from(ContentTaxonomyLink)
        .join(Content, Content.id == ContentTaxonomyLink.content_id)
        .where(ContentTaxonomyLink.taxonomy_id == ContentTaxonomy.id, Content.delete_time.is_(None))
        .scalar_subquery()
    )
    identity_map = session.sync_session.identity_map
    for start in range(0, len(ids), RECOUNT_BATCH):
        batch = ids[start:start + RECOUNT_BATCH]
        stmt = (
            update(ContentTaxonomy)
            .where(ContentTaxonomy.id.in_(batch))
            .values(count=live_links)
            .returning(ContentTaxonomy.id, ContentTaxonomy.count)
            .execution_options(synchronize_session=False)
        )
        for term_id, count in (await session.execute(stmt)).all():
            loaded = identity_map.get(session.sync_session.identity_key(ContentTaxonomy, term_id))
            if loaded is not None:
                set_committed_value(loaded, "count", count)


async def terms_for_site(
    session: AsyncSession, tenant: TenantContext, *, site_id: int, term_ids: Sequence[int]
) -> list[ContentTaxonomy]:
    """The terms of `term_ids` (duplicates dropped, order kept), each visible to the caller and of
    site `site_id`; NOT_FOUND naming every id that is missing, out of scope or of another site."""
    ids = list(dict.fromkeys(int(i) for i in term_ids))
    if not ids:
        return []
    stmt = scoped(select(ContentTaxonomy).where(ContentTaxonomy.id.in_(ids)), ContentTaxonomy, tenant)
    found = {t.id: t for t in (await session.execute(stmt)).scalars() if t.site_id == site_id}
    missing = [i for i in ids if i not in found]
    if missing:
        raise _missing_terms(missing)
    terms = [found[i] for i in ids]
    return terms


def _missing_terms(ids: Sequence[int]) -> NotFound:
    error = NotFound.of("ContentTaxonomy", ",".join(map(str, ids)))
    error.metadata["missing_ids"] = ",".join(map(str, ids))
    return error
