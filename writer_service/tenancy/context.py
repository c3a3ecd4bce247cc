"""The caller's tenant context: who calls, with which role, in which account, site and sector."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from writer_service.domain.errors import FailedPrecondition, PreconditionViolation, Unauthenticated
from writer_service.domain.vocabulary import ACCOUNT_ROLES, PLATFORM_ROLES, USER_ROLES

__all__ = ["ACCOUNT_ROLES", "PLATFORM_ROLES", "USER_ROLES", "Principal", "TenantContext", "current_tenant"]


@dataclass(frozen=True)
class Principal:
    """An authenticated API key's user."""

    user_id: int
    role: str
    account_id: int | None
    active_site_id: int | None = None

    @property
    def is_platform(self) -> bool:
        """Platform roles act across accounts."""
        return self.role in PLATFORM_ROLES

    @property
    def can_write(self) -> bool:
        """Viewers read only; every other role may write."""
        return self.role != "viewer"


@dataclass(frozen=True)
class TenantContext:
    """The scope a call runs in. `account_id` is None only for a platform role naming no account."""

    principal: Principal
    account_id: int | None
    site_id: int | None = None
    sector_id: int | None = None

    @property
    def user_id(self) -> int:
        """The calling user's id."""
        return self.principal.user_id

    @property
    def role(self) -> str:
        """The calling user's role."""
        return self.principal.role

    def require_account(self) -> int:
        """The account the call acts in; platform callers must name one with `x-account-id`."""
        if self.account_id is None:
            raise FailedPrecondition(
                message="this call needs an account: send the x-account-id header",
                reason="ACCOUNT_REQUIRED",
                violations=[
                    PreconditionViolation("ACCOUNT", "x-account-id", "a platform role must name an account")
                ],
            )
        return self.account_id


_current: ContextVar[TenantContext | None] = ContextVar("writer_tenant", default=None)


def current_tenant() -> TenantContext:
    """The tenant context the interceptor put in place for this call."""
    tenant = _current.get()
    if tenant is None:
        raise Unauthenticated(message="this call carries no authenticated caller", reason="NO_CALLER")
    return tenant


def set_tenant(tenant: TenantContext | None) -> object:
    """Put the tenant context of this call in place; returns a token for `reset_tenant`."""
    return _current.set(tenant)


def reset_tenant(token: object) -> None:
    """Restore the context that was in place before `set_tenant`."""
    _current.reset(token)  # type: ignore[arg-type]
