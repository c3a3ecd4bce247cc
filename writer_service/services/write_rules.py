"""Write rules every resource service shares: field masks with required fields, numeric bounds,
references to rows of the same site and sector, bulk id lists, and soft delete / undelete."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from writer_service.db.base import utcnow
from writer_service.domain.changes import check_etag, mask_paths, require_fields
from writer_service.domain.errors import FailedPrecondition, FieldViolation, InvalidArgument, PreconditionViolation
from writer_service.tenancy.context import TenantContext
from writer_service.tenancy.scoping import Placement, get_scoped

M = TypeVar("M")
INT32_MAX = 2**31 - 1  # the database's INTEGER columns hold no more, whatever the proto's type
COMMON_READ_ONLY = ("id", "account_id", "site_id", "sector_id", "etag", "create_time", "update_time", "delete_time")


def check_bounds(values: Mapping[str, Any], bounds: Mapping[str, tuple[int, int]], *, prefix: str) -> None:
    """INVALID_ARGUMENT naming every number outside its [low, high] range."""
    violations = [FieldViolation(f"{prefix}{name}", f"must be between {low} and {high}")
                  for name, (low, high) in bounds.items()
                  if values.get(name) is not None and not low <= values[name] <= high]
    if violations:
        raise InvalidArgument(message="; ".join(f"{v.field} {v.description}" for v in violations),
                              violations=violations)


def masked_changes(values: Mapping[str, Any], paths: Iterable[str], *, updatable: Sequence[str],
                   read_only: Sequence[str], required: Sequence[str], prefix: str) -> dict[str, Any]:
    """The values an update mask selects; the required ones among them may not be emptied."""
    changes = {path: values.get(path) for path in mask_paths(paths, updatable=updatable, read_only=read_only)}
    require_fields(changes, [name for name in required if name in changes], prefix=prefix)
    return changes


def nullable_ids(values: dict[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """Id fields where 0 means "none", as the database stores them (NULL)."""
    return {**values, **{name: values[name] or None for name in names if name in values}}


async def load_reference(session: AsyncSession, tenant: TenantContext, model: type[M], ref_id: int, *,
                         place: Placement, field: str, for_update: bool = False) -> M:
    """A row a write points at: NOT_FOUND when the caller cannot see it (or it is deleted),
    INVALID_ARGUMENT when it lives in another site or sector than the row being written."""
    row: Any = await get_scoped(session, model, ref_id, tenant, for_update=for_update)
    if (row.site_id, row.sector_id) != (place.site_id, place.sector_id):
        raise InvalidArgument.of(field, f"{model.__name__} {ref_id} is in another site or sector",
                                 reason="REFERENCE_OUT_OF_PLACEMENT")
    return row  # type: ignore[no-any-return]


def place_of(row: Any) -> Placement:
    """Where an existing row lives."""
    return Placement(account_id=row.account_id, site_id=row.site_id, sector_id=row.sector_id)


def soft_delete(row: Any, etag: str) -> None:
    """Mark a live row deleted, if the caller's etag is current."""
    check_etag(etag, row.version, resource=type(row).__name__, resource_id=row.id)
    row.delete_time = utcnow()


def undelete(row: Any, etag: str) -> None:
    """Restore a soft-deleted row; FAILED_PRECONDITION when it is not deleted."""
    name = type(row).__name__
    check_etag(etag, row.version, resource=name, resource_id=row.id)
    if row.delete_time is None:
        raise FailedPrecondition(
            message=f"{name} {row.id} is not deleted", reason="NOT_DELETED",
            violations=[PreconditionViolation("STATE", f"{name.lower()}/{row.id}", "is not deleted")],
            metadata={"resource_type": name, "id": str(row.id)},
        )
    row.delete_time = None


def check_batch_ids(ids: Sequence[int], *, limit: int, field: str = "ids") -> None:
    """1 to `limit` distinct positive ids, or INVALID_ARGUMENT."""
    if not ids:
        raise InvalidArgument.of(field, "is required: name at least one id")
    if len(ids) > limit:
        raise InvalidArgument.of(field, f"at most {limit} ids per call, got {len(ids)}")
    bad = sorted({i for i in ids if i <= 0})
    if bad:
        raise InvalidArgument.of(field, f"ids must be positive: {', '.join(map(str, bad))}")
    repeated = sorted(i for i, n in Counter(ids).items() if n > 1)
    if repeated:
        raise InvalidArgument.of(field, f"duplicated ids: {', '.join(map(str, repeated))}")
