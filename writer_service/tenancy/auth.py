"""API keys and the resolution of a call's tenant from its metadata, with a short-lived cache.

A call's key and headers are checked on every call; the rows behind them (key -> user, site ->
account, sector -> site) are cached for a few seconds so a call costs no extra query.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import select

from writer_service.db.database import Database
from writer_service.db.models.tenancy import ApiKey, Sector, Site, User
from writer_service.domain.errors import InvalidArgument, NotFound, PermissionDenied, Unauthenticated
from writer_service.tenancy.context import Principal, TenantContext

KEY_PREFIX = "wsk_"

K = TypeVar("K")
V = TypeVar("V")


def new_api_key() -> str:
    """A fresh random API key; it is shown once and only its hash is stored."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    """The SHA-256 (hex) under which a key is stored."""
    return hashlib.sha256(key.encode()).hexdigest()


class TtlCache(Generic[K, V]):
    """A small time-bounded cache; stale entries are dropped when read."""

    def __init__(self, ttl_seconds: float, max_entries: int = 10_000) -> None:
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self._items: dict[K, tuple[float, V]] = {}

    def get(self, key: K) -> V | None:
        """The cached value, or None when absent or expired."""
        item = self._items.get(key)
        if item is None:
            return None
        expires, value = item
        if expires < time.monotonic():
            self._items.pop(key, None)
            return None
        return value

    def put(self, key: K, value: V) -> None:
        """Remember a value for the cache's lifetime."""
        if len(self._items) >= self.max_entries:
            self._items.clear()
        self._items[key] = (time.monotonic() + self.ttl, value)

    def clear(self) -> None:
        """Forget everything."""
        self._items.clear()


@dataclass(frozen=True)
class _SiteRow:
    account_id: int
    is_active: bool


@dataclass(frozen=True)
class _SectorRow:
    account_id: int
    site_id: int
    is_active: bool


class Authenticator:
    """Turns a call's metadata into a Principal and a TenantContext."""

    def __init__(self, db: Database, *, cache_seconds: float = 30.0) -> None:
        self.db = db
        self._keys: TtlCache[str, Principal] = TtlCache(cache_seconds)
        self._sites: TtlCache[int, _SiteRow] = TtlCache(cache_seconds)
        self._sectors: TtlCache[int, _SectorRow] = TtlCache(cache_seconds)

    async def authenticate(self, metadata: Mapping[str, str]) -> TenantContext:
        """The tenant context of a call, or a domain error saying why there is none."""
        principal = await self.principal(metadata.get("authorization"))
        account_id = _header_id(metadata, "x-account-id")
        site_id = _header_id(metadata, "x-site-id")
        sector_id = _header_id(metadata, "x-sector-id")
        return await self.tenant(principal, account_id=account_id, site_id=site_id, sector_id=sector_id)

    async def principal(self, authorization: str | None) -> Principal:
        """The user behind `authorization: Bearer <key>`."""
        if not authorization:
            raise Unauthenticated(message="missing authorization metadata: send 'Bearer <api key>'",
                                  reason="API_KEY_MISSING")
        scheme, _, key = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise Unauthenticated(message="authorization must be 'Bearer <api key>'", reason="API_KEY_MALFORMED")
        key_hash = hash_api_key(key.strip())
        cached = self._keys.get(key_hash)
        if cached is not None:
            return cached
        async with self.db.read() as session:
            row = (
                await session.execute(
                    select(User.id, User.role, User.account_id, User.active_site_id, User.is_active)
                    .join(ApiKey, ApiKey.user_id == User.id)
                    .where(ApiKey.key_hash == key_hash, ApiKey.revoke_time.is_(None))
                )
            ).one_or_none()
        if row is None or not row.is_active:
            raise Unauthenticated(message="unknown or revoked API key", reason="API_KEY_INVALID")
        principal = Principal(user_id=row.id, role=row.role, account_id=row.account_id,
                              active_site_id=row.active_site_id)
        self._keys.put(key_hash, principal)
        return principal

    async def tenant(
        self, principal: Principal, *, account_id: int | None, site_id: int | None, sector_id: int | None
    ) -> TenantContext:
        """Check that the named account, site and sector belong together and to the caller."""
        if principal.is_platform:
            effective_account = account_id
        else:
            if account_id is not None and account_id != principal.account_id:
                raise PermissionDenied(
                    message="an account role may act only in its own account",
                    reason="ACCOUNT_MISMATCH",
                    metadata={"x-account-id": str(account_id)},
                )
            effective_account = principal.account_id
        if sector_id is not None:
            sector = await self._sector(sector_id)
            if sector is None or (site_id is not None and sector.site_id != site_id) or (
                effective_account is not None and sector.account_id != effective_account
            ):
                raise NotFound.of("Sector", sector_id)
            site_id = sector.site_id
        if site_id is not None:
            site = await self._site(site_id)
            if site is None or (effective_account is not None and site.account_id != effective_account):
                raise NotFound.of("Site", site_id)
            effective_account = site.account_id
        return TenantContext(principal=principal, account_id=effective_account, site_id=site_id,
                             sector_id=sector_id)

    async def _site(self, site_id: int) -> _SiteRow | None:
        cached = self._sites.get(site_id)
        if cached is not None:
            return cached
        async with self.db.read() as session:
            row = (await session.execute(
                select(Site.account_id, Site.is_active).where(Site.id == site_id)
            )).one_or_none()
        if row is None or not row.is_active:
            return None
        site = _SiteRow(account_id=row.account_id, is_active=row.is_active)
        self._sites.put(site_id, site)
        return site

    async def _sector(self, sector_id: int) -> _SectorRow | None:
        cached = self._sectors.get(sector_id)
        if cached is not None:
            return cached
        async with self.db.read() as session:
            row = (await session.execute(
                select(Sector.account_id, Sector.site_id, Sector.is_active).where(Sector.id == sector_id)
            )).one_or_none()
        if row is None or not row.is_active:
            return None
        sector = _SectorRow(account_id=row.account_id, site_id=row.site_id, is_active=row.is_active)
        self._sectors.put(sector_id, sector)
        return sector


def _header_id(metadata: Mapping[str, str], name: str) -> int | None:
    raw = metadata.get(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        value = int(raw.strip())
    except ValueError:
        raise InvalidArgument.of(name, f"must be a positive integer id, got {raw!r}") from None
    if value <= 0:
        raise InvalidArgument.of(name, f"must be a positive integer id, got {raw!r}")
    return value
