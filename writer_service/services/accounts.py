"""Provisioning: accounts, sites, sectors, users and API keys (the `writer-service admin` commands)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from writer_service.db.database import Database
from writer_service.db.models import Account, ApiKey, Sector, Site, User
from writer_service.domain.errors import AlreadyExists, InvalidArgument, NotFound
from writer_service.domain.slugs import slugify
from writer_service.domain.vocabulary import ACCOUNT_ROLES, PLATFORM_ROLES, USER_ROLES
from writer_service.services import credits
from writer_service.tenancy.auth import hash_api_key, new_api_key


@dataclass(frozen=True)
class Bootstrap:
    """What `admin bootstrap` made; `api_key` is shown this once."""

    account_id: int
    site_id: int
    sector_id: int
    user_id: int
    api_key: str
    credits: int


def _require_name(value: str, field: str) -> str:
    value = value.strip()
    if not value:
        raise InvalidArgument.of(field, "must not be empty")
    if len(value) > 255:
        raise InvalidArgument.of(field, "must be at most 255 characters")
    return value


async def _add_account(session: AsyncSession, *, name: str, credits_amount: int) -> Account:
    name = _require_name(name, "name")
    slug = slugify(name) or "account"
    if await session.scalar(select(Account.id).where(Account.slug == slug)) is not None:
        raise AlreadyExists(message=f"an account with slug {slug!r} exists", resource_type="Account",
                            resource_name=slug, reason="ACCOUNT_EXISTS", metadata={"slug": slug})
    account = Account(name=name, slug=slug, credits=0)
    session.add(account)
    await session.flush()
    if credits_amount:
        await credits.grant(session, account_id=account.id, amount=credits_amount, description="initial credits")
    return account


async def _add_site(session: AsyncSession, *, account_id: int, name: str, domain: str | None) -> Site:
    if await session.get(Account, account_id) is None:
        raise NotFound.of("Account", account_id)
    site = Site(account_id=account_id, name=_require_name(name, "name"), domain=domain)
    session.add(site)
    await session.flush()
    return site


async def _add_sector(session: AsyncSession, *, site_id: int, name: str) -> Sector:
    site = await session.get(Site, site_id)
    if site is None:
        raise NotFound.of("Site", site_id)
    name = _require_name(name, "name")
    sector = Sector(account_id=site.account_id, site_id=site.id, name=name, slug=slugify(name) or "sector")
    session.add(sector)
    await session.flush()
    if site.default_sector_id is None:
        site.default_sector_id = sector.id
    return sector


async def _add_user(
    session: AsyncSession, *, email: str, role: str, account_id: int | None, name: str, active_site_id: int | None
) -> User:
    if role not in USER_ROLES:
        raise InvalidArgument.of("role", f"must be one of {', '.join(USER_ROLES)}")
    if role in ACCOUNT_ROLES and account_id is None:
        raise InvalidArgument.of("account_id", f"role {role!r} belongs to an account")
    if role in PLATFORM_ROLES and account_id is not None:
        raise InvalidArgument.of("account_id", f"platform role {role!r} belongs to no account")
    if account_id is not None and await session.get(Account, account_id) is None:
        raise NotFound.of("Account", account_id)
    user = User(email=_require_name(email, "email").lower(), role=role, account_id=account_id, name=name,
                active_site_id=active_site_id)
    session.add(user)
    try:
        await session.flush()
    except IntegrityError:
        raise AlreadyExists(message=f"a user with email {email!r} exists", resource_type="User",
                            resource_name=email, reason="USER_EXISTS", metadata={"email": email}) from None
    return user


async def _add_api_key(session: AsyncSession, *, user_id: int, name: str) -> str:
    if await session.get(User, user_id) is None:
        raise NotFound.of("User", user_id)
    key = new_api_key()
    session.add(ApiKey(user_id=user_id, name=name, prefix=key[:12], key_hash=hash_api_key(key)))
    await session.flush()
    return key


async def create_account(db: Database, *, name: str, credits_amount: int = 0) -> Account:
    """A new account, with an initial grant of credits on the ledger."""
    async with db.transaction() as session:
        return await _add_account(session, name=name, credits_amount=credits_amount)


async def create_site(db: Database, *, account_id: int, name: str, domain: str | None = None) -> Site:
    """A new site of an account."""
    async with db.transaction() as session:
        return await _add_site(session, account_id=account_id, name=name, domain=domain)


async def create_sector(db: Database, *, site_id: int, name: str) -> Sector:
    """A new sector of a site; the site's first sector becomes its default."""
    async with db.transaction() as session:
        return await _add_sector(session, site_id=site_id, name=name)


async def create_user(
    db: Database, *, email: str, role: str, account_id: int | None = None, name: str = "",
    active_site_id: int | None = None,
) -> User:
    """A new user: account roles need an account, platform roles have none."""
    async with db.transaction() as session:
        return await _add_user(session, email=email, role=role, account_id=account_id, name=name,
                               active_site_id=active_site_id)


async def create_api_key(db: Database, *, user_id: int, name: str = "") -> str:
    """A new API key for a user; the key is returned once and stored only as its hash."""
    async with db.transaction() as session:
        return await _add_api_key(session, user_id=user_id, name=name)


async def add_credits(db: Database, *, account_id: int, amount: int, description: str = "") -> int:
    """Grant credits to an account; returns the new balance."""
    async with db.transaction() as session:
        return await credits.grant(session, account_id=account_id, amount=amount,
                                   description=description or "credits added by an administrator")


async def bootstrap(db: Database, *, name: str, credits_amount: int, email: str | None = None) -> Bootstrap:
    """An account with a site, a sector, an owner and an API key, in one transaction."""
    async with db.transaction() as session:
        account = await _add_account(session, name=name, credits_amount=credits_amount)
        site = await _add_site(session, account_id=account.id, name=f"{account.name} site", domain=None)
        sector = await _add_sector(session, site_id=site.id, name="General")
        user = await _add_user(session, email=email or f"owner@{account.slug}.example", role="owner",
                               account_id=account.id, name=f"{account.name} owner", active_site_id=site.id)
        key = await _add_api_key(session, user_id=user.id, name="bootstrap")
        return Bootstrap(account_id=account.id, site_id=site.id, sector_id=sector.id, user_id=user.id,
                         api_key=key, credits=credits_amount)
