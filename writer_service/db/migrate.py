"""Alembic migrations, configured in code: no alembic.ini.

Apply, inspect, check (URL defaults to WRITER_DATABASE_URL, else the embedded SQLite file)::

    python -m writer_service.db.migrate upgrade [REVISION] [--url URL]
    python -m writer_service.db.migrate downgrade REVISION [--url URL]
    python -m writer_service.db.migrate current [--url URL]
    python -m writer_service.db.migrate check [--url URL]      # exit 1 if models and schema differ

New revision, after changing the models::

    python -m writer_service.db.migrate revision "add summary to contents"

autogenerates versions/0002_add_summary_to_contents.py by comparing the models with a scratch SQLite
database upgraded to head (pass --url to compare with a real database at head instead). Review the
file, then run the migration tests: they upgrade SQLite and PostgreSQL and require an empty diff.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.autogenerate.api import AutogenContext
from alembic.config import Config
from alembic.operations.ops import MigrationScript
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, MetaData, event
from sqlalchemy.pool import NullPool

from writer_service.db import models  # noqa: F401  (registers every table on Base.metadata)
from writer_service.db.base import Base, UtcDateTime
from writer_service.db.engine import create_sync_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# alembic_version.version_num is VARCHAR(32).
_MAX_REV_ID = 32
# Any fixed number: replicas starting together on PostgreSQL migrate one after the other.
_PG_MIGRATION_LOCK = 0x57524954  # "WRIT"


def target_metadata() -> MetaData:
    """The metadata migrations are compared against: every model of the service."""
    return Base.metadata


def _render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | bool:
    # Migrations stay self-contained: the UTC decorator is a plain timezone-aware DateTime in DDL.
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def migration_options() -> dict[str, Any]:
    """What env.py passes to context.configure, and what `pending_changes` compares with."""
    return {
        "target_metadata": target_metadata(),
        "compare_type": True,
        # SQLite can only ALTER by copying the table: later revisions use batch operations.
        "render_as_batch": True,
        "render_item": _render_item,
    }


def make_config(connection: Connection | None = None) -> Config:
    """An Alembic Config pointing at the bundled migrations, sharing `connection` with env.py."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    config.set_main_option("file_template", "%%(rev)s")
    if importlib.util.find_spec("ruff") is not None:
        # New revisions come out sorted and formatted like the rest of the code.
        hooks = {
            "hooks": "ruff_fix, ruff_format",
            "ruff_fix.type": "module",
            "ruff_fix.module": "ruff",
            "ruff_fix.options": "check --fix --quiet REVISION_SCRIPT_FILENAME",
            "ruff_format.type": "module",
            "ruff_format.module": "ruff",
            "ruff_format.options": "format --quiet REVISION_SCRIPT_FILENAME",
        }
        for key, value in hooks.items():
            config.set_section_option("post_write_hooks", key, value)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@contextmanager
def _connect(database_url: str, *, migrating: bool = False) -> Iterator[Connection]:
    engine = create_sync_engine(database_url, poolclass=NullPool)
    if migrating and engine.dialect.name == "sqlite":
        _sqlite_migration_mode(engine)
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def _sqlite_migration_mode(engine: Engine) -> None:
    """Foreign keys off, and DDL inside the transaction (pysqlite would otherwise autocommit it)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Runs after engine.py's pragmas. Batch migrations copy and drop tables: with foreign keys
        # on, dropping a parent would cascade. The pragma is ignored inside a transaction.
        dbapi_connection.execute("PRAGMA foreign_keys=OFF")
        dbapi_connection.isolation_level = None  # pysqlite stops managing transactions...

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN")  # ...and SQLAlchemy's begin starts a real one


@contextmanager
def _migration_connection(database_url: str) -> Iterator[Connection]:
    """A connection in one transaction for the whole migration: all of it applies, or none."""
    with _connect(database_url, migrating=True) as connection, connection.begin():
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")
        yield connection
        if connection.dialect.name == "sqlite":
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"migration left dangling foreign keys: {broken[:10]}")


def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrate the database up to `revision` (all the way by default)."""
    with _migration_connection(database_url) as connection:
        command.upgrade(make_config(connection), revision)


def downgrade(database_url: str, revision: str) -> None:
    """Migrate the database down to `revision` ("base" removes every table)."""
    with _migration_connection(database_url) as connection:
        command.downgrade(make_config(connection), revision)


def current(database_url: str) -> str | None:
    """The revision the database is at, or None if it was never migrated."""
    with _connect(database_url) as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head() -> str | None:
    """The newest revision among the bundled migrations."""
    return ScriptDirectory.from_config(make_config()).get_current_head()


def schema_behind(database_url: str) -> str | None:
    """Why the database's schema is too old for this code (never migrated, or at a revision older
    than the bundled head), or None when it is current. A revision this code does not know is a newer
    release's (a rolling deploy) and passes."""
    at, newest = current(database_url), head()
    if at == newest:
        return None
    if at is None:
        return f"the database was never migrated (this release needs revision {newest})"
    script = ScriptDirectory.from_config(make_config())
    try:
        script.get_revision(at)
    except CommandError:  # alembic's word for a revision it has no script of
        return None
    return f"the database is at revision {at}; this release needs {newest}"


def pending_changes(database_url: str) -> list[Any]:
    """The differences autogenerate sees between the models and the database (empty when in sync)."""
    with _connect(database_url) as connection:
        options = migration_options()
        context = MigrationContext.configure(
            connection, opts={k: v for k, v in options.items() if k != "target_metadata"}
        )
        return list(compare_metadata(context, options["target_metadata"]))


def _next_rev_id(config: Config, message: str) -> str:
    numbers = [
        int(match.group(1))
        for script in ScriptDirectory.from_config(config).walk_revisions()
        if (match := re.match(r"(\d+)_", script.revision))
    ]
    slug = re.sub(r"[^a-z0-9]+", "_", message.lower()).strip("_") or "revision"
    return f"{max(numbers, default=0) + 1:04d}_{slug}"[:_MAX_REV_ID].rstrip("_")


def _skip_empty(context: MigrationContext, revision: Any, directives: list[MigrationScript]) -> None:
    if directives and all(ops.is_empty() for ops in directives[0].upgrade_ops_list):
        directives[:] = []


def revision(database_url: str | None, message: str) -> str | None:
    """Autogenerate a revision from the models; returns its path, or None when nothing changed.

    With no URL the comparison runs against a scratch SQLite database upgraded to head.
    """
    with tempfile.TemporaryDirectory() as scratch:
        if database_url is None:
            database_url = f"sqlite:///{Path(scratch) / 'scratch.db'}"
            upgrade(database_url)
        with _migration_connection(database_url) as connection:
            config = make_config(connection)
            script = command.revision(
                config,
                message=message,
                autogenerate=True,
                rev_id=_next_rev_id(config, message),
                process_revision_directives=_skip_empty,
            )
    scripts = script if isinstance(script, list) else [script]
    return scripts[0].path if scripts and scripts[0] is not None else None


def _default_url() -> str:
    from writer_service.config import Settings

    return Settings().resolved_database_url()


def main(argv: list[str] | None = None) -> int:
    """`python -m writer_service.db.migrate ...`: see the module docstring."""
    parser = argparse.ArgumentParser(prog="python -m writer_service.db.migrate")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("upgrade", "downgrade", "current", "check", "revision"):
        cmd = sub.add_parser(name)
        cmd.add_argument("--url", default=None, help="database URL (default: from the settings)")
        if name == "upgrade":
            cmd.add_argument("target", nargs="?", default="head")
        elif name == "downgrade":
            cmd.add_argument("target")
        elif name == "revision":
            cmd.add_argument("message")
    args = parser.parse_args(argv)

    if args.command == "revision":
        path = revision(args.url, args.message)
        print(path or "no changes: models and migrations agree")
        return 0
    url = args.url or _default_url()
    if args.command == "upgrade":
        upgrade(url, args.target)
    elif args.command == "downgrade":
        downgrade(url, args.target)
    elif args.command == "current":
        print(current(url) or "(none)")
    else:
        changes = pending_changes(url)
        for change in changes:
            print(change)
        return 1 if changes else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
