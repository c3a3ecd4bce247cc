"""Alembic environment: writer_service.db.migrate opens the connection and passes it in."""

from __future__ import annotations

from alembic import context

from writer_service.db.migrate import migration_options

connection = context.config.attributes.get("connection")
if context.is_offline_mode() or connection is None:
    raise RuntimeError(
        "run migrations through writer_service.db.migrate "
        "(python -m writer_service.db.migrate upgrade), which passes a connection"
    )

context.configure(connection=connection, **migration_options())
with context.begin_transaction():
    context.run_migrations()
