"""The one scoping helper: every query on tenant-owned rows goes through `scoped` or `get_scoped`.

Account roles see their account only; platform roles see every account unless the headers narrow
them. Site and sector headers narrow every role. A row outside the scope is NOT_FOUND, never the row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from writer_service.db.database import Database
from writer_service.db.models.tenancy import Sector, Site
from writer_service.domain.errors import FailedPrecondition, InvalidArgument, NotFound, PreconditionViolation
from writer_service.tenancy.context import TenantContext

M = TypeVar("M")
S = TypeVar("S", bound=Select)  # a select of any number of columns


SCOPE_PARAMS = {"account": "scope_account_id", "site": "scope_site_id", "sector": "scope_sector_id"}
RESOURCE_ID_PARAM = "resource_id"


@dataclass(frozen=True)
class ScopeShape:
    """Which of account, site and sector a caller's scope names, without their values. Conditions
    scoped by a shape hold bind parameters (SCOPE_PARAMS) that `scope_values` fills on each call."""

    account: bool
    site: bool
    sector: bool


def scope_shape(tenant: TenantContext) -> ScopeShape:
    """The shape of the caller's scope."""
    if tenant.account_id is None and not tenant.principal.is_platform:  # pragma: no cover - always has one
        raise FailedPrecondition(message="caller has no account", reason="ACCOUNT_REQUIRED")
    return ScopeShape(account=tenant.account_id is not None, site=tenant.site_id is not None,
                      sector=tenant.sector_id is not None)


def scope_values(tenant: TenantContext) -> dict[str, int]:
    """The bind parameters of a statement scoped by `scope_shape(tenant)`."""
    values = {"account": tenant.account_id, "site": tenant.site_id, "sector": tenant.sector_id}
    return {SCOPE_PARAMS[part]: value for part, value in values.items() if value is not None}


def scoped(stmt: S, model: type[Any], scope: TenantContext | ScopeShape, *, show_deleted: bool = False) -> S:
    """`stmt` narrowed to the caller's account, site and sector, and to live rows unless asked."""
    return stmt.where(*scope_conditions(model, scope, show_deleted=show_deleted))


def scope_conditions(model: type[Any], scope: TenantContext | ScopeShape, *, show_deleted: bool = False
                     ) -> list[ColumnElement[bool]]:
    """The conditions of `scoped`, for where a WHERE clause cannot hold them: the ON clause of an
    outer join that shows a related row's column only when the caller may see that row."""
    shape = scope if isinstance(scope, ScopeShape) else scope_shape(scope)

    def value(part: str) -> Any:  # a kept statement's parameter, or the caller's value
        return bindparam(SCOPE_PARAMS[part]) if isinstance(scope, ScopeShape) else getattr(scope, f"{part}_id")

    conditions: list[ColumnElement[bool]] = []
    if shape.account:
        conditions.append(model.account_id == value("account"))
    if shape.site and hasattr(model, "site_id"):
        conditions.append(model.site_id == value("site"))
    if shape.sector and hasattr(model, "sector_id"):
        conditions.append(model.sector_id == value("sector"))
    if not show_deleted and hasattr(model, "delete_time"):
        conditions.append(model.delete_time.is_(None))
    return conditions


class KeptSelect:
    """A scoped select built once per ScopeShape and kept, with the caller's values bound on each
    call: for the hot reads, where building a statement and its cache key costs more than running
    it. `build` makes the select and its joins from the shape alone, so no caller's values can be
    kept in it; the model's own scope (and, with `by_id`, its id) is added here."""

    def __init__(self, model: type[Any], build: Callable[[ScopeShape], Select[Any]], *, show_deleted: bool = False,
                 by_id: bool = False) -> None:
        self.model, self.build, self.show_deleted, self.by_id = model, build, show_deleted, by_id
        self._kept: dict[ScopeShape, Select[Any]] = {}

    def statement(self, tenant: TenantContext) -> tuple[Select[Any], dict[str, Any]]:
        """The statement for the caller's shape of scope, and the caller's values for it."""
        shape = scope_shape(tenant)
        stmt = self._kept.get(shape)
        if stmt is None:
            stmt = self.build(shape)
            if self.by_id:
                stmt = stmt.where(self.model.id == bindparam(RESOURCE_ID_PARAM))
            stmt = self._kept[shape] = scoped(stmt, self.model, shape, show_deleted=self.show_deleted)
        return stmt, scope_values(tenant)


async def get_scoped(
    session: AsyncSession,
    model: type[M],
    resource_id: int,
    tenant: TenantContext,
    *,
    show_deleted: bool = False,
    for_update: bool = False,
    options: Sequence[Any] = (),
) -> M:
    """The row with this id if the caller may see it; NOT_FOUND otherwise."""
    id_column: InstrumentedAttribute[int] = model.id  # type: ignore[attr-defined]
    stmt = scoped(select(model).where(id_column == resource_id), model, tenant, show_deleted=show_deleted)
    if options:
        stmt = stmt.options(*options)
    if for_update:
        stmt = stmt.with_for_update()
    row = (await session.execute(stmt)).scalar_one_or_none()
    if row is None:
        raise NotFound.of(model.__name__, resource_id)
    return row


async def get_scoped_row(db: Database, kept: KeptSelect, resource_id: int, tenant: TenantContext
                         ) -> dict[str, Any]:
    """The row (a dict of its columns) of a `by_id` KeptSelect whose id is this, if the caller may
    see it; NOT_FOUND otherwise. A hot read (Database.fetch)."""
    stmt, values = kept.statement(tenant)
    row = (await db.fetch(stmt, {**values, RESOURCE_ID_PARAM: resource_id})).one_or_none()
    if row is None:
        raise NotFound.of(kept.model.__name__, resource_id)
    return row


async def get_many_scoped(
    session: AsyncSession,
    model: type[M],
    ids: Sequence[int],
    tenant: TenantContext,
    *,
    show_deleted: bool = False,
    for_update: bool = False,
) -> list[M]:
    """Every row of `ids` the caller may see, in the order of `ids`; NOT_FOUND naming any missing."""
    id_column = model.id  # type: ignore[attr-defined]
    stmt = scoped(select(model).where(id_column.in_(list(ids))), model, tenant, show_deleted=show_deleted)
    if for_update:
        stmt = stmt.with_for_update()
    rows = {row.id: row for row in (await session.execute(stmt)).scalars()}  # type: ignore[attr-defined]
    missing = [i for i in ids if i not in rows]
    if missing:
        error = NotFound.of(model.__name__, ",".join(map(str, missing)))
        error.metadata["missing_ids"] = ",".join(map(str, missing))
        raise error
    return [rows[i] for i in ids]


@dataclass(frozen=True)
class Placement:
    """Where a new row goes: an account, a site of it and a sector of that site."""

    account_id: int
    site_id: int
    sector_id: int


async def resolve_placement(
    session: AsyncSession,
    tenant: TenantContext,
    *,
    site_id: int = 0,
    sector_id: int = 0,
    fall_back_to_active_site: bool = False,
) -> Placement:
    """The site and sector a create goes to: from the request, else the headers, else (if allowed)
    the caller's active site and its default sector. They must belong together and to the account."""
    site_id = site_id or tenant.site_id or 0
    sector_id = sector_id or tenant.sector_id or 0
    if tenant.site_id and site_id != tenant.site_id:
        raise NotFound.of("Site", site_id)
    if tenant.sector_id and sector_id != tenant.sector_id:
        raise NotFound.of("Sector", sector_id)
    if not site_id and sector_id:
        sector_site = await session.scalar(select(Sector.site_id).where(Sector.id == sector_id))
        site_id = sector_site or 0
    if not site_id and fall_back_to_active_site and tenant.principal.active_site_id:
        site_id = tenant.principal.active_site_id
    if not site_id:
        raise InvalidArgument.of("site_id", "a site is required: set site_id or send x-site-id")
    site = await session.get(Site, site_id)
    if site is None or not site.is_active or (
        tenant.account_id is not None and site.account_id != tenant.account_id
    ):
        raise NotFound.of("Site", site_id)
    if not sector_id and fall_back_to_active_site:
        sector_id = site.default_sector_id or 0
    if not sector_id:
        raise InvalidArgument.of("sector_id", "a sector is required: set sector_id or send x-sector-id")
    sector = await session.get(Sector, sector_id)
    if sector is None or not sector.is_active or sector.account_id != site.account_id:
        raise NotFound.of("Sector", sector_id)
    if sector.site_id != site.id:
        raise InvalidArgument.of("sector_id", f"sector {sector_id} does not belong to site {site.id}")
    return Placement(account_id=site.account_id, site_id=site.id, sector_id=sector.id)


def require_same_tenant(parent: Any, placement: Placement) -> None:
    """A child must live where its parent lives (an image with its content or task)."""
    if (parent.account_id, parent.site_id, parent.sector_id) != (
        placement.account_id, placement.site_id, placement.sector_id
    ):
        raise FailedPrecondition(
            message="the parent resources belong to different sites or sectors",
            reason="TENANCY_MISMATCH",
            violations=[PreconditionViolation("TENANCY", type(parent).__name__, "site/sector differ")],
        )
