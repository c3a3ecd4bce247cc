"""The plans of the measured ListTasks pages: the statements the service runs, captured as it runs
them against the bench database and EXPLAINed there, so the figures come with the scans behind them."""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg

from bench.tasks_seed import Seeded
from writer_service.db.database import Database
from writer_service.db.driver_reads import libpq_conninfo
from writer_service.services import tasks
from writer_service.services.listing import ListQuery


async def _statements(url: str, seeded: Seeded, pages: dict[str, ListQuery]) -> dict[str, tuple[str, Any]]:
    db = Database.from_url(url, pool_size=1)
    ran: list[tuple[str, Any]] = []

    assert db.driver_reads is not None, "the benchmark runs on PostgreSQL"
    db.driver_reads.trace = lambda statement, parameters: ran.append((statement, parameters))
    try:
        statements = {}
        for label, query in pages.items():
            await tasks.list_tasks(db, seeded.tenant(), query=query)
            statements[label] = ran[-1]
        return statements
    finally:
        await db.close()


def page_plans(url: str, seeded: Seeded, deep_token: str, page_size: int) -> str:
    """For the first and the deep page: how the tasks table is read, and the execution time."""
    pages = {"first page": ListQuery(page_size=page_size),
             "deep page": ListQuery(page_size=page_size, page_token=deep_token)}
    lines = []
    with psycopg.connect(libpq_conninfo(url)) as connection:
        for label, (statement, parameters) in asyncio.run(_statements(url, seeded, pages)).items():
            plan = [row[0].strip() for row in connection.execute("EXPLAIN (ANALYZE) " + statement, parameters)]
            scan = next((line for line in plan if " on tasks" in line), "no scan of tasks?")
            condition = plan[plan.index(scan) + 1] if scan in plan and plan.index(scan) + 1 < len(plan) else ""
            lines.append(f"{label}: {scan.split('  (')[0]}; {condition}; {plan[-1]}")
    return "\n".join(lines)
