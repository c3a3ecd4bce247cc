"""Taxonomy terms: the categories and tags of a site, their uniqueness, hierarchy and content count.

Terms are unique per site by (slug, taxonomy_type) and by (external_taxonomy, external_id). The
checks below give a clear ALREADY_EXISTS; the unique constraints settle races, and their
IntegrityError is turned into the same error. Deleting is for good: the foreign keys unassign the
term from content (CASCADE) and clear the parent of its children and the target of tasks and ideas
(SET NULL).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from writer_service.db.database import Database
from writer_service.db.models import Content, ContentTaxonomy, ContentTaxonomyLink
from writer_service.domain import changes
from writer_service.domain.errors import AlreadyExists, InvalidArgument, NotFound
from writer_service.domain.slugs import slugify
from writer_service.domain.vocabulary import SYNC_STATUSES, TAXONOMY_TYPES
from writer_service.services.idempotency import create_once
from writer_service.services.listing import FilterField, ListQuery, ListSpec, Page, list_page
from writer_service.tenancy.context import TenantContext
from writer_service.tenancy.scoping import get_scoped, resolve_placement, scoped

T = TypeVar("T")

RESOURCE = "ContentTaxonomy"
PREFIX = "taxonomy_term."
RECOUNT_BATCH = 500
MAX_EXTERNAL_TAXONOMY = 64
MAX_PARENT_DEPTH = 100
SLUG_PATTERN = re.compile(r"[a-z0-9-]+")
LIMITS = {"name": changes.MAX_NAME, "slug": changes.MAX_SLUG, "external_taxonomy": MAX_EXTERNAL_TAXONOMY,
          "external_id": changes.MAX_EXTERNAL_ID, "description": changes.MAX_DESCRIPTION}
CREATABLE = ("name", "slug", "taxonomy_type", "parent_id", "external_taxonomy", "external_id", "sync_status",
             "description", "metadata")
UPDATABLE = ("name", "slug", "parent_id", "external_taxonomy", "external_id", "sync_status", "description",
             "metadata")
READ_ONLY = ("id", "account_id", "site_id", "sector_id", "count", "etag", "create_time", "update_time")

LIST_SPEC = ListSpec(
    model=ContentTaxonomy,
    filters={
        "taxonomy_type": FilterField(ContentTaxonomy.taxonomy_type, "enum", TAXONOMY_TYPES),
        "parent_id": FilterField(ContentTaxonomy.parent_id, "id"),
        "sync_status": FilterField(ContentTaxonomy.sync_status, "enum", SYNC_STATUSES),
        "external_taxonomy": FilterField(ContentTaxonomy.external_taxonomy, "str"),
        "external_id": FilterField(ContentTaxonomy.external_id, "str"),
        "slug": FilterField(ContentTaxonomy.slug, "str"),
        "create_time": FilterField(ContentTaxonomy.create_time, "time"),
        "update_time": FilterField(ContentTaxonomy.update_time, "time"),
    },
    order_fields={"name": ContentTaxonomy.name, "slug": ContentTaxonomy.slug, "count": ContentTaxonomy.count,
                  "create_time": ContentTaxonomy.create_time, "update_time": ContentTaxonomy.update_time},
    search_columns=(ContentTaxonomy.name, ContentTaxonomy.slug),
    default_order="name",
)


async def create_term(
    db: Database, tenant: TenantContext, *, values: dict[str, Any], site_id: int = 0, sector_id: int = 0,
    request_id: str = "",
) -> ContentTaxonomy:
    """A new category or tag in the request's (or the caller's) site and sector."""
    changes.require_fields(values, ("name", "taxonomy_type"), prefix=PREFIX)
    changes.check_lengths(values, LIMITS, prefix=PREFIX)
    changes.parse_request_id(request_id)
    fields = _fields(values, name=values["name"])
    fields.setdefault("sync_status", "imported" if fields.get("external_id") else "native")
    _check_external_pair(fields.get("external_taxonomy"), fields.get("external_id"))
    placed: dict[str, int] = {}

    async def create(session: AsyncSession) -> ContentTaxonomy:
        placement = await resolve_placement(session, tenant, site_id=site_id, sector_id=sector_id,
                                            fall_back_to_active_site=True)
        placed["site_id"] = placement.site_id
        if fields.get("parent_id"):
            await _check_parent(session, tenant, site_id=placement.site_id, taxonomy_type=fields["taxonomy_type"],
                                parent_id=fields["parent_id"])
        await _refuse_conflict(session, placement.site_id, fields)
        term = ContentTaxonomy(account_id=placement.account_id, site_id=placement.site_id,
                               sector_id=placement.sector_id, **fields)
        session.add(term)
        await session.flush()
        return term

    async def load(session: AsyncSession, term_id: int) -> ContentTaxonomy:
        return await get_scoped(session, ContentTaxonomy, term_id, tenant)

    return await _settling_races(
        db, placed, fields, None,
        lambda: create_once(db, tenant, method="CreateTaxonomyTerm", request_id=request_id, create=create,
                            load=load),
    )


async def get_term(db: Database, tenant: TenantContext, *, term_id: int) -> ContentTaxonomy:
    """One term the caller may see."""
    _require_id(term_id)
    async with db.read() as session:
        return await get_scoped(session, ContentTaxonomy, term_id, tenant)


async def update_term(
    db: Database, tenant: TenantContext, *, term_id: int, values: dict[str, Any], paths: Iterable[str],
    etag: str = "",
) -> ContentTaxonomy:
    """The term with the masked fields changed; its keys stay unique and its parents acyclic."""
    _require_id(term_id)
    masked = changes.mask_paths(paths, updatable=UPDATABLE, read_only=READ_ONLY)
    changed = {path: values.get(path) for path in masked}
    if "name" in changed and not changed["name"]:
        raise InvalidArgument.of(PREFIX + "name", "is required")
    if "sync_status" in changed and changed["sync_status"] is None:
        raise InvalidArgument.of(PREFIX + "sync_status", "must be set")
    changes.check_lengths(changed, LIMITS, prefix=PREFIX)
    placed: dict[str, int] = {}
    keys: dict[str, Any] = {}

    async def update() -> ContentTaxonomy:
        async with db.transaction() as session:
            term = await get_scoped(session, ContentTaxonomy, term_id, tenant)
            changes.check_etag(etag, term.version, resource=RESOURCE, resource_id=term.id)
            placed["site_id"] = term.site_id
            fields = _fields(changed, name=changed.get("name") or term.name)
            if fields.get("parent_id"):
                await _check_parent(session, tenant, site_id=term.site_id, taxonomy_type=term.taxonomy_type,
                                    parent_id=fields["parent_id"], term_id=term.id)
            # Checked before the row changes: a query would autoflush a change that breaks a unique key.
            keys.update({key: fields.get(key, getattr(term, key))
                         for key in ("slug", "taxonomy_type", "external_taxonomy", "external_id")})
            _check_external_pair(keys["external_taxonomy"], keys["external_id"])
            await _refuse_conflict(session, term.site_id, keys, exclude_id=term.id)
            for name, value in fields.items():
                setattr(term, name, value)
            await session.flush()
            return term

    return await _settling_races(db, placed, keys, term_id, update)


async def delete_term(db: Database, tenant: TenantContext, *, term_id: int, etag: str = "") -> None:
    """Remove the term for good; the foreign keys unassign it and clear references to it."""
    _require_id(term_id)
    async with db.transaction() as session:
        term = await get_scoped(session, ContentTaxonomy, term_id, tenant)
        changes.check_etag(etag, term.version, resource=RESOURCE, resource_id=term.id)
        await session.delete(term)


async def list_terms(db: Database, tenant: TenantContext, *, query: ListQuery) -> Page:
    """One page of the terms the caller may see, as the List request asks."""
    async with db.read() as session:
        return await list_page(session, LIST_SPEC, tenant, query)


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
        error = NotFound.of(RESOURCE, ",".join(map(str, missing)))
        error.metadata["missing_ids"] = ",".join(map(str, missing))
        raise error
    return [found[i] for i in ids]


def _require_id(term_id: int) -> None:
    if term_id <= 0:
        raise InvalidArgument.of("id", "is required")


def _fields(values: dict[str, Any], *, name: str) -> dict[str, Any]:
    """Model attributes of the request's values: slug derived or checked, empty external keys NULL."""
    fields = {k: v for k, v in values.items() if k not in ("metadata", "slug", "parent_id")}
    if "metadata" in values:
        fields["term_metadata"] = values["metadata"] or {}
    if "slug" in values:
        fields["slug"] = _slug(values["slug"], name)
    elif "taxonomy_type" in values:  # a create that named no slug
        fields["slug"] = _slug("", name)
    if "parent_id" in values:
        fields["parent_id"] = values["parent_id"] or None
        if fields["parent_id"] is not None and fields["parent_id"] < 0:
            raise InvalidArgument.of(PREFIX + "parent_id", "must be a term id or 0")
    for key in ("external_taxonomy", "external_id"):
        if key in fields:
            fields[key] = fields[key] or None
    return fields


def _slug(given: str, name: str) -> str:
    if not given:
        derived = slugify(name)
        if not derived:
            raise InvalidArgument.of(PREFIX + "slug", "cannot be derived from the name: give one")
        return derived
    if not SLUG_PATTERN.fullmatch(given):
        raise InvalidArgument.of(PREFIX + "slug", "may hold only lowercase letters, digits and hyphens")
    return given


def _check_external_pair(external_taxonomy: str | None, external_id: str | None) -> None:
    if external_id and not external_taxonomy:
        raise InvalidArgument.of(PREFIX + "external_taxonomy", "is required when external_id is set")


async def _check_parent(
    session: AsyncSession, tenant: TenantContext, *, site_id: int, taxonomy_type: str, parent_id: int,
    term_id: int | None = None,
) -> None:
    """The parent is a category of the same site and not the term itself or one of its descendants."""
    field = PREFIX + "parent_id"
    if taxonomy_type != "category":
        raise InvalidArgument.of(field, "only categories have parents")
    parent = await get_scoped(session, ContentTaxonomy, parent_id, tenant)
    if parent.site_id != site_id or parent.taxonomy_type != "category":
        raise InvalidArgument.of(field, f"must be a category of site {site_id}")
    if term_id is None:
        return
    # The parent's ancestors all live in this site (each parent was checked so when it was set).
    link = select(ContentTaxonomy.id, ContentTaxonomy.parent_id)
    ancestors = link.where(ContentTaxonomy.id == parent_id).cte("ancestors", recursive=True)
    ancestors = ancestors.union(link.join(ancestors, ContentTaxonomy.id == ancestors.c.parent_id))
    if await session.scalar(select(func.count()).select_from(ancestors).where(ancestors.c.id == term_id)):
        raise InvalidArgument.of(field, f"term {parent_id} is this term or one of its descendants: no cycles")


async def _refuse_conflict(
    session: AsyncSession, site_id: int, keys: dict[str, Any], *, exclude_id: int | None = None
) -> None:
    conflict = await _conflict(session, site_id, keys, exclude_id)
    if conflict is not None:
        raise conflict


async def _conflict(
    session: AsyncSession, site_id: int, keys: dict[str, Any], exclude_id: int | None
) -> AlreadyExists | None:
    """ALREADY_EXISTS naming the term of the site that holds one of these unique keys, if any."""
    taken = [(ContentTaxonomy.slug == keys["slug"]) & (ContentTaxonomy.taxonomy_type == keys["taxonomy_type"])]
    if keys.get("external_taxonomy") and keys.get("external_id"):  # NULL external keys never collide
        taken.append((ContentTaxonomy.external_taxonomy == keys["external_taxonomy"])
                     & (ContentTaxonomy.external_id == keys["external_id"]))
    # The keys are unique per site, whatever sector the caller narrows to, so this looks at the site.
    stmt = select(ContentTaxonomy).where(ContentTaxonomy.site_id == site_id, or_(*taken))
    if exclude_id is not None:
        stmt = stmt.where(ContentTaxonomy.id != exclude_id)
    existing = (await session.execute(stmt.limit(1))).scalar_one_or_none()
    if existing is None:
        return None
    key, what = "external_taxonomy+external_id", f"term with {existing.external_taxonomy} id {existing.external_id!r}"
    if existing.slug == keys["slug"] and existing.taxonomy_type == keys["taxonomy_type"]:
        key, what = "slug+taxonomy_type", f"{existing.taxonomy_type} with slug {existing.slug!r}"
    return AlreadyExists(
        message=f"site {site_id} already has a {what} (term {existing.id})", reason="TAXONOMY_TERM_EXISTS",
        resource_type=RESOURCE, resource_name=str(existing.id),
        metadata={"key": key, "site_id": str(site_id), "existing_id": str(existing.id), "slug": existing.slug,
                  "taxonomy_type": existing.taxonomy_type},
    )


async def _settling_races(
    db: Database, placed: dict[str, int], keys: dict[str, Any], exclude_id: int | None,
    call: Callable[[], Awaitable[T]],
) -> T:
    """Run `call`; a unique violation (a concurrent write took the key) becomes ALREADY_EXISTS."""
    try:
        return await call()
    except IntegrityError:
        if "site_id" not in placed:
            raise
        async with db.read() as session:
            conflict = await _conflict(session, placed["site_id"], keys, exclude_id)
        if conflict is None:
            raise
        raise conflict from None
