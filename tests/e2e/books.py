"""What the service's own tables say after an end-to-end run, read straight from PostgreSQL."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from writer_service.db.models import Account, AIRequestLog, Content, CreditTransaction, Task


@contextmanager
def reading(database_url: str) -> Iterator[Session]:
    """A session on the test's database (sync psycopg), its engine disposed afterwards."""
    engine = create_engine(database_url, pool_size=1)
    try:
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()


@dataclass(frozen=True)
class JobBooks:
    """A job's content, tasks, ledger rows and AI calls."""

    content_task_ids: list[int]
    content_statuses: set[str]
    task_statuses: set[str]
    ledger_by_kind: dict[str, int]
    ledger_rows_by_kind: Counter[str]
    settled_item_ids: list[int]
    ai_credits: int
    ai_outcomes: Counter[str]

    @property
    def ledger_sum(self) -> int:
        """What the job's reservation, settlements and releases moved, together."""
        return sum(self.ledger_by_kind.values())


def job_books(session: Session, *, account_id: int, job_id: int, task_ids: Sequence[int]) -> JobBooks:
    """Read the books of one job."""
    contents = session.execute(select(Content.task_id, Content.status).where(Content.account_id == account_id)).all()
    ledger = session.execute(select(CreditTransaction.kind, CreditTransaction.amount, CreditTransaction.job_item_id)
                             .where(CreditTransaction.job_id == job_id)).all()
    logs = session.execute(select(AIRequestLog.credits, AIRequestLog.outcome)
                           .where(AIRequestLog.job_id == job_id)).all()
    by_kind: Counter[str] = Counter()
    for row in ledger:
        by_kind[row.kind] += row.amount
    return JobBooks(
        content_task_ids=sorted(r.task_id for r in contents),
        content_statuses={r.status for r in contents},
        task_statuses=set(session.scalars(select(Task.status).where(Task.id.in_(list(task_ids))))),
        ledger_by_kind=dict(by_kind),
        ledger_rows_by_kind=Counter(r.kind for r in ledger),
        settled_item_ids=sorted(r.job_item_id for r in ledger if r.kind == "settle"),
        ai_credits=sum(r.credits for r in logs),
        ai_outcomes=Counter(r.outcome for r in logs),
    )


def balance(session: Session, account_id: int) -> int:
    """The account's balance in the table."""
    return int(session.scalar(select(Account.credits).where(Account.id == account_id)) or 0)


def ledger_total(session: Session, account_id: int) -> int:
    """The sum of every ledger row of the account (grants included)."""
    return int(session.scalar(select(func.coalesce(func.sum(CreditTransaction.amount), 0))
                              .where(CreditTransaction.account_id == account_id)) or 0)


def ledger_chain(session: Session, account_id: int) -> list[tuple[int, int]]:
    """The account's ledger rows in the order they were written: (amount, balance_after)."""
    rows = session.execute(select(CreditTransaction.amount, CreditTransaction.balance_after)
                           .where(CreditTransaction.account_id == account_id).order_by(CreditTransaction.id)).all()
    return [(r.amount, r.balance_after) for r in rows]
