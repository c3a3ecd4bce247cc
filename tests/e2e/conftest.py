"""Fixtures of the end-to-end tests, which run on PostgreSQL as production does."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import require_or_skip
from tests.db_urls import postgres_available, temporary_postgres_database


@pytest.fixture
def database_url() -> Iterator[str]:
    """A throwaway PostgreSQL database of this test (not yet migrated)."""
    require_or_skip(postgres_available(), "PostgreSQL")
    with temporary_postgres_database() as url:
        yield url
