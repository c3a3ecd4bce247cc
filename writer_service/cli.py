"""`writer-service serve | worker | migrate | admin ...`: the service's command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

from writer_service.config import Settings
from writer_service.db.database import Database
from writer_service.domain.errors import DomainError
from writer_service.domain.vocabulary import USER_ROLES
from writer_service.services import accounts


def configure_logging(settings: Settings) -> None:
    """One log format for every command."""
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    # Alembic announces each of its plugins at INFO on every start; the upgrades it runs stay visible.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


def migrate(settings: Settings) -> None:
    """Bring the database schema to the latest revision."""
    from writer_service.db.migrate import upgrade

    upgrade(settings.resolved_database_url())


def migrate_if_embedded(settings: Settings) -> None:
    """The embedded SQLite database migrates itself; a shared one is migrated on purpose."""
    if settings.auto_migrate and settings.is_embedded_database():
        migrate(settings)


def prepare_database(settings: Settings) -> bool:
    """Migrate the embedded database, or check that a shared one is migrated and answers. When it is
    not, say why on stderr as one JSON object (the command then exits 2) rather than fail later on a
    missing table."""
    from sqlalchemy.exc import OperationalError

    from writer_service.db.migrate import schema_behind

    # Reading the revision makes Alembic announce its context at INFO on every start: not news.
    announcer = logging.getLogger("alembic.runtime.migration")
    try:
        migrate_if_embedded(settings)
        level = announcer.level
        announcer.setLevel(logging.WARNING)
        try:
            behind = schema_behind(settings.resolved_database_url())
        finally:
            announcer.setLevel(level)
    except OperationalError as error:
        _refuse("DATABASE_UNAVAILABLE", f"cannot reach the database: {str(error.orig or error).strip()}")
        return False
    if behind is not None:
        _refuse("SCHEMA_NOT_MIGRATED", f"{behind}: run `writer-service migrate` first")
        return False
    return True


def _refuse(reason: str, message: str) -> None:
    print(json.dumps({"error": reason, "message": message}), file=sys.stderr)


def _serve(settings: Settings, _args: argparse.Namespace) -> int:
    from writer_service.api.server import serve

    if not prepare_database(settings):
        return 2
    asyncio.run(serve(settings))
    return 0


def _worker(settings: Settings, args: argparse.Namespace) -> int:
    from writer_service.worker.app import QUEUE, create_celery

    if not settings.broker_url:
        _refuse("BROKER_REQUIRED", "set WRITER_BROKER_URL (redis://... or amqp://...) to run workers")
        return 2
    if not prepare_database(settings):
        return 2
    app = create_celery(settings)
    concurrency = args.concurrency or settings.worker_concurrency
    app.worker_main([
        "worker", f"--loglevel={settings.log_level}", f"--concurrency={concurrency}", f"--pool={args.pool}",
        "-Q", QUEUE, "--without-gossip", "--without-mingle",
    ])
    return 0


def _migrate(settings: Settings, _args: argparse.Namespace) -> int:
    migrate(settings)
    print(json.dumps({"migrated": True}))
    return 0


def _admin(settings: Settings, args: argparse.Namespace) -> int:
    # An admin command's output is its JSON; migrating the embedded database on the way is not news.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    if not prepare_database(settings):
        return 2
    action: Callable[[Database, argparse.Namespace], Awaitable[dict[str, Any]]] = args.admin_action

    args.settings = settings

    async def run() -> dict[str, Any]:
        db = Database.from_url(settings.resolved_database_url(), pool_size=2)
        try:
            return await action(db, args)
        finally:
            await db.close()

    try:
        result = asyncio.run(run())
    except DomainError as error:
        _refuse(error.reason, error.message)
        return 1
    print(json.dumps(result))
    return 0


async def _bootstrap(db: Database, args: argparse.Namespace) -> dict[str, Any]:
    made = await accounts.bootstrap(db, name=args.name, credits_amount=args.credits, email=args.email)
    return asdict(made)


async def _create_account(db: Database, args: argparse.Namespace) -> dict[str, Any]:
    account = await accounts.create_account(db, name=args.name, credits_amount=args.credits)
    return {"account_id": account.id, "name": account.name, "slug": account.slug, "credits": args.credits}


async def _create_site(db: Database, args: argparse.Namespace) -> dict[str, Any]:
    site = await accounts.create_site(db, account_id=args.account_id, name=args.name, domain=args.domain)
    return {"site_id": site.id, "account_id": site.account_id, "name": site.name, "domain": site.domain}


async def _create_sector(db: Database, args: argparse.Namespace) -> dict[str, Any]:
    sector = await accounts.create_sector(db, site_id=args.site_id, name=args.name)
    return {"sector_id": sector.id, "site_id": sector.site_id, "account_id": sector.account_id,
            "name": sector.name, "slug": sector.slug}


async def _create_user(db: Database, args: argparse.Namespace) -> dict[str, Any]:
    user = await accounts.create_user(db, email=args.email, role=args.role, account_id=args.account_id,
                                      name=args.name, active_site_id=args.active_site_id)
    return {"user_id": user.id, "email": user.email, "role": user.role, "account_id": user.account_id}


async def _create_api_key(db: Database, args: argparse.Namespace) -> dict[str, Any]:
    key = await accounts.create_api_key(db, user_id=args.user_id, name=args.name)
    return {"user_id": args.user_id, "api_key": key}


async def _add_credits(db: Database, args: argparse.Namespace) -> dict[str, Any]:
    balance = await accounts.add_credits(db, account_id=args.account_id, amount=args.amount,
                                         description=args.description)
    return {"account_id": args.account_id, "credits": balance}


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    parser = argparse.ArgumentParser(prog="writer-service", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("serve", help="run the gRPC server").set_defaults(run=_serve)
    commands.add_parser("migrate", help="migrate the database to the latest schema").set_defaults(run=_migrate)
    worker = commands.add_parser("worker", help="run a Celery worker for generation jobs (WRITER_BROKER_URL)")
    worker.add_argument("--concurrency", type=int, default=0, help="processes (default WRITER_WORKER_CONCURRENCY)")
    worker.add_argument("--pool", default="prefork", choices=["prefork", "solo", "threads"])
    worker.set_defaults(run=_worker)

    admin = commands.add_parser("admin", help="provision accounts, sites, sectors, users, keys, credits")
    admin.set_defaults(run=_admin)
    actions = admin.add_subparsers(dest="admin_command", required=True)

    p = actions.add_parser("bootstrap", help="account + site + sector + owner + API key, as one JSON object")
    p.add_argument("--name", required=True)
    p.add_argument("--credits", type=int, default=0)
    p.add_argument("--email")
    p.set_defaults(admin_action=_bootstrap)

    p = actions.add_parser("create-account", help="a new account with an initial credit grant")
    p.add_argument("--name", required=True)
    p.add_argument("--credits", type=int, default=0)
    p.set_defaults(admin_action=_create_account)

    p = actions.add_parser("create-site", help="a new site of an account")
    p.add_argument("--account-id", type=int, required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--domain")
    p.set_defaults(admin_action=_create_site)

    p = actions.add_parser("create-sector", help="a new sector of a site")
    p.add_argument("--site-id", type=int, required=True)
    p.add_argument("--name", required=True)
    p.set_defaults(admin_action=_create_sector)

    p = actions.add_parser("create-user", help="a new user with a role")
    p.add_argument("--email", required=True)
    p.add_argument("--role", required=True, choices=USER_ROLES)
    p.add_argument("--account-id", type=int)
    p.add_argument("--active-site-id", type=int)
    p.add_argument("--name", default="")
    p.set_defaults(admin_action=_create_user)

    p = actions.add_parser("create-api-key", help="a new API key for a user (shown once)")
    p.add_argument("--user-id", type=int, required=True)
    p.add_argument("--name", default="")
    p.set_defaults(admin_action=_create_api_key)

    p = actions.add_parser("add-credits", help="grant credits to an account")
    p.add_argument("--account-id", type=int, required=True)
    p.add_argument("--amount", type=int, required=True)
    p.add_argument("--description", default="")
    p.set_defaults(admin_action=_add_credits)

    p = actions.add_parser("sweep-media", help="remove media files no image refers to (left by a process that died)")
    p.add_argument("--older-than-hours", type=float, default=24.0,
                   help="only files last written this long ago (default 24; writes in flight take seconds)")
    p.add_argument("--dry-run", action="store_true", help="count them, remove nothing")
    p.set_defaults(admin_action=_sweep_media)
    return parser


async def _sweep_media(db: Database, args: argparse.Namespace) -> dict[str, Any]:
    from writer_service.services.media_sweep import sweep_media
    from writer_service.storage.local import LocalMediaStorage

    storage = LocalMediaStorage(args.settings.resolved_media_root())
    swept = await sweep_media(db, storage, older_than_seconds=args.older_than_hours * 3600, dry_run=args.dry_run)
    return asdict(swept)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `writer-service` command."""
    args = build_parser().parse_args(argv)
    settings = Settings()
    configure_logging(settings)
    return int(args.run(settings, args))


if __name__ == "__main__":
    raise SystemExit(main())
