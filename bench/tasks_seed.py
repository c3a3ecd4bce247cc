"""The reads benchmark's data: a throwaway PostgreSQL database, one tenant, clusters and many tasks.

Tasks go in with one COPY (no ORM), the table's secondary indexes built after it, then VACUUM
ANALYZE gives the planner statistics and sets hint bits and the visibility map, as on a table that
has lived for a while.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg import sql

from writer_service.db.database import Database
from writer_service.db.driver_reads import libpq_conninfo
from writer_service.services import accounts, listing
from writer_service.tenancy.context import Principal, TenantContext

CLUSTERS = 200
CHUNK_ROWS = 20_000
TYPES = ("post", "page", "product", "service")
STRUCTURES = ("article", "listicle", "how_to", "comparison", "review", "guide")
TASK_COLUMNS = ("account_id", "site_id", "sector_id", "title", "description", "cluster_id", "content_type",
                "content_structure", "keywords", "word_count", "status", "create_time", "update_time", "version")


@dataclass(frozen=True)
class Seeded:
    """The tenant the benchmark calls as, and the ids of the tasks made for it."""

    account_id: int
    site_id: int
    sector_id: int
    user_id: int
    api_key: str
    cluster_id: int
    first_task_id: int
    last_task_id: int

    def metadata(self) -> tuple[tuple[str, str], ...]:
        """Call metadata of the tenant: key, account, site and sector."""
        return (("authorization", f"Bearer {self.api_key}"), ("x-account-id", str(self.account_id)),
                ("x-site-id", str(self.site_id)), ("x-sector-id", str(self.sector_id)))

    def tenant(self) -> TenantContext:
        """The TenantContext the service resolves from `metadata()`."""
        principal = Principal(user_id=self.user_id, role="owner", account_id=self.account_id,
                              active_site_id=self.site_id)
        return TenantContext(principal=principal, account_id=self.account_id, site_id=self.site_id,
                             sector_id=self.sector_id)


async def _bootstrap(url: str) -> accounts.Bootstrap:
    db = Database.from_url(url, pool_size=1)
    try:
        return await accounts.bootstrap(db, name=f"bench {uuid.uuid4().hex[:8]}", credits_amount=1000)
    finally:
        await db.close()


def _task_rows(made: accounts.Bootstrap, cluster_ids: list[int], start: int, stop: int,
               base: datetime) -> Iterator[str]:
    # Two tasks per second of creation time: equal create_times exercise the id tie-breaker.
    scope = f"{made.account_id}\t{made.site_id}\t{made.sector_id}"
    for i in range(start, stop):
        created = (base + timedelta(seconds=i // 2)).isoformat()
        kind, shape = TYPES[i % len(TYPES)], STRUCTURES[i % len(STRUCTURES)]
        yield (f"{scope}\tHow to choose garden tool number {i} for a small yard\t"
               f"A practical guide to garden tool {i}: what to look for, what it costs, how to keep it. "
               f"Cover the common mistakes and answer the questions buyers ask most.\t"
               f"{cluster_ids[i % len(cluster_ids)]}\t{kind}\t{shape}\t"
               f"garden tool {i}, best garden tools, small yard tools\t{800 + (i % 12) * 100}\t"
               f"{'completed' if i % 5 == 0 else 'queued'}\t{created}\t{created}\t1\n")


def _copy_tasks(connection: psycopg.Connection, made: accounts.Bootstrap, cluster_ids: list[int],
                count: int) -> None:
    base = datetime(2024, 1, 1, tzinfo=UTC)
    columns = sql.SQL(", ").join(map(sql.Identifier, TASK_COLUMNS))
    with connection.cursor() as cursor, cursor.copy(sql.SQL("COPY tasks ({}) FROM STDIN").format(columns)) as copy:
        for start in range(0, count, CHUNK_ROWS):
            copy.write("".join(_task_rows(made, cluster_ids, start, min(count, start + CHUNK_ROWS), base)))


def seed(url: str, tasks: int, *, log: bool = True) -> Seeded:
    """One bootstrapped tenant with CLUSTERS clusters and `tasks` tasks, analysed."""
    began = time.perf_counter()
    made = asyncio.run(_bootstrap(url))
    with psycopg.connect(libpq_conninfo(url)) as connection:
        # The rows are built valid: skip the per-row foreign-key triggers (superuser, this session only).
        connection.execute("SET session_replication_role = replica")
        now = datetime.now(UTC)
        cluster_ids = [row[0] for row in connection.execute(
            "INSERT INTO clusters (account_id, site_id, sector_id, name, description, keywords, status, "
            "search_volume, keyword_count, create_time, update_time, version) "
            "SELECT %s, %s, %s, 'cluster ' || n, '', '', 'active', n * 10, 5, %s, %s, 1 "
            "FROM generate_series(1, %s) AS n RETURNING id",
            (made.account_id, made.site_id, made.sector_id, now, now, CLUSTERS),
        )]
        # Building the indexes once after the COPY is several times faster than keeping them up to
        # date row by row; the constraints' own indexes (primary key, unique idea_id) stay.
        indexes = connection.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = 'tasks' "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = 'tasks'::regclass)"
        ).fetchall()
        for name, _ in indexes:
            connection.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
        _copy_tasks(connection, made, cluster_ids, tasks)
        connection.execute("SET maintenance_work_mem = '256MB'")
        for _, definition in indexes:
            connection.execute(definition)
        connection.commit()
        first, last = connection.execute("SELECT min(id), max(id) FROM tasks").fetchone() or (0, 0)
    copied = time.perf_counter()
    with psycopg.connect(libpq_conninfo(url), autocommit=True) as connection:
        connection.execute("VACUUM (ANALYZE) tasks")
        connection.execute("VACUUM (ANALYZE) clusters")
    if log:
        print(f"seeded {tasks:,} tasks: COPY and indexes {copied - began:.1f} s, VACUUM ANALYZE "
              f"{time.perf_counter() - copied:.1f} s", flush=True)
    return Seeded(account_id=made.account_id, site_id=made.site_id, sector_id=made.sector_id,
                  user_id=made.user_id, api_key=made.api_key, cluster_id=cluster_ids[0], first_task_id=first,
                  last_task_id=last)


def deep_page_token(url: str, seeded: Seeded, depth: int) -> str:
    """The ListTasks page token that starts after the `depth`-th task of the default order, built
    the way the service builds its tokens (the fingerprint of the same query and tenant)."""
    with psycopg.connect(libpq_conninfo(url)) as connection:
        row = connection.execute(
            "SELECT create_time, id FROM tasks WHERE account_id = %s AND site_id = %s AND sector_id = %s "
            "AND delete_time IS NULL ORDER BY create_time DESC, id DESC OFFSET %s LIMIT 1",
            (seeded.account_id, seeded.site_id, seeded.sector_id, depth - 1),
        ).fetchone()
    if row is None:
        raise ValueError(f"fewer than {depth} tasks")
    fingerprint = listing._fingerprint(listing.ListQuery(), seeded.tenant())
    return listing.encode_token(fingerprint, [row[0].astimezone(UTC), row[1]])
