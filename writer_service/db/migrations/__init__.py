"""Alembic migrations of the writer service; run them through writer_service.db.migrate."""
