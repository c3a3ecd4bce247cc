"""Shared fixtures: a database per backend (SQLite, PostgreSQL), an in-process server on port 0,
and small factories that make the tenants a test needs."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
import pytest_asyncio

from tests.db_urls import postgres_available, temporary_postgres_database
from writer_service.api.server import WriterServer, create_server
from writer_service.config import Settings
from writer_service.db.database import Database
from writer_service.db.migrate import upgrade
from writer_service.services import accounts

REQUIRE_SERVICES = os.environ.get("WRITER_TEST_REQUIRE_SERVICES") == "1"


def require_or_skip(available: bool, what: str) -> None:
    """Skip a test whose server is not running, or fail in CI, where it must be."""
    if available:
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"{what} is required (WRITER_TEST_REQUIRE_SERVICES=1) but does not answer")
    pytest.skip(f"{what} does not answer")


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated, empty database of each backend, for the whole session."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'writer.db'}"
        upgrade(url)
        yield url
        return
    require_or_skip(postgres_available(), "PostgreSQL")
    with temporary_postgres_database() as url:
        upgrade(url)
        yield url


@pytest.fixture(scope="session")
def media_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The media directory of the test server."""
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def settings(database_url: str, media_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings of the in-process test server."""
    return Settings(
        listen_address="127.0.0.1:0",
        database_url=database_url,
        data_dir=tmp_path_factory.mktemp("data"),
        media_root=media_root,
        auth_cache_seconds=1.0,
        shutdown_grace_seconds=2.0,
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def writer(settings: Settings) -> AsyncIterator[WriterServer]:
    """The writer service, started in this process on a free port."""
    server, _port = await create_server(settings)
    await server.server.start()
    yield server
    await server.stop(1.0)


@pytest.fixture(scope="session")
def db(writer: WriterServer) -> Database:
    """The test server's database."""
    return writer.runtime.db


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def channel(writer: WriterServer) -> AsyncIterator[grpc.aio.Channel]:
    """A client channel to the test server."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{writer.port}") as ch:
        yield ch


@dataclass(frozen=True)
class Tenant:
    """An account with a site, a sector and a user of a role, and that user's API key."""

    account_id: int
    site_id: int
    sector_id: int
    user_id: int
    api_key: str
    role: str

    def metadata(self, *, site: bool = True, sector: bool = True, **extra: str) -> tuple[tuple[str, str], ...]:
        """Call metadata: the key, the account and (by default) the site and sector."""
        md = [("authorization", f"Bearer {self.api_key}"), ("x-account-id", str(self.account_id))]
        if site:
            md.append(("x-site-id", str(self.site_id)))
        if sector:
            md.append(("x-sector-id", str(self.sector_id)))
        md.extend((k.replace("_", "-"), v) for k, v in extra.items())
        return tuple(md)


def unique(prefix: str) -> str:
    """A name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


class TenantFactory:
    """Makes accounts, sites, sectors and users straight through the provisioning services."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def account(self, *, credits: int = 1000, role: str = "owner") -> Tenant:
        """A fresh account with one site, one sector and a user of `role`."""
        made = await accounts.bootstrap(self.db, name=unique("acct"), credits_amount=credits)
        if role == "owner":
            return Tenant(made.account_id, made.site_id, made.sector_id, made.user_id, made.api_key, "owner")
        return await self.user(
            Tenant(made.account_id, made.site_id, made.sector_id, made.user_id, made.api_key, "owner"), role
        )

    async def user(self, tenant: Tenant, role: str) -> Tenant:
        """Another user of `role` in the same account (no account for platform roles)."""
        platform = role in ("admin", "developer", "system")
        user = await accounts.create_user(
            self.db, email=f"{unique(role)}@example.test", role=role,
            account_id=None if platform else tenant.account_id,
        )
        key = await accounts.create_api_key(self.db, user_id=user.id)
        return Tenant(tenant.account_id, tenant.site_id, tenant.sector_id, user.id, key, role)

    async def site(self, tenant: Tenant) -> Tenant:
        """A second site (with its own sector) in the same account, same user."""
        site = await accounts.create_site(self.db, account_id=tenant.account_id, name=unique("site"))
        sector = await accounts.create_sector(self.db, site_id=site.id, name=unique("sector"))
        return Tenant(tenant.account_id, site.id, sector.id, tenant.user_id, tenant.api_key, tenant.role)

    async def sector(self, tenant: Tenant) -> Tenant:
        """A second sector in the same site, same user."""
        sector = await accounts.create_sector(self.db, site_id=tenant.site_id, name=unique("sector"))
        return Tenant(tenant.account_id, tenant.site_id, sector.id, tenant.user_id, tenant.api_key, tenant.role)


@pytest.fixture
def tenants(db: Database) -> TenantFactory:
    """Factory of tenants on the test server's database."""
    return TenantFactory(db)
