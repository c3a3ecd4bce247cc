"""Generation as it runs in production: server and Celery worker as processes, PostgreSQL, and a
real broker (Redis, then RabbitMQ). Ten tasks in, ten drafts out, every credit accounted for."""

from __future__ import annotations

import time
from pathlib import Path

import grpc
import pytest

from igny8.writer.v1 import billing_pb2, billing_pb2_grpc, jobs_pb2, jobs_pb2_grpc, tasks_pb2, tasks_pb2_grpc
from tests.e2e.books import job_books, reading
from tests.e2e.brokers import broker
from tests.e2e.process import Owner, bootstrap, cli, create_tasks, running_server, running_worker, service_env

pytestmark = pytest.mark.e2e

JOB_TIMEOUT_SECONDS = 90


def credits_of(channel: grpc.Channel, owner: Owner) -> int:
    """The account's balance, as BillingService tells it."""
    stub = billing_pb2_grpc.BillingServiceStub(channel)
    return stub.GetCreditBalance(billing_pb2.GetCreditBalanceRequest(), metadata=owner.metadata(), timeout=10).credits


def watch_to_end(channel: grpc.Channel, owner: Owner, job_id: int) -> list[jobs_pb2.JobEvent]:
    """Every event WatchJob streams for the job, until it ends (bounded by a deadline)."""
    stream = jobs_pb2_grpc.JobsServiceStub(channel).WatchJob(
        jobs_pb2.WatchJobRequest(job_id=job_id), metadata=owner.metadata(), timeout=JOB_TIMEOUT_SECONDS)
    return list(stream)


@pytest.mark.parametrize("broker_name", ["redis", "rabbitmq"])
def test_ten_tasks_become_ten_drafts_through_a_celery_worker_and_every_credit_is_accounted_for(
    broker_name: str, database_url: str, tmp_path: Path
) -> None:
    with broker(broker_name) as broker_url:
        env = service_env(tmp_path / "var", database_url=database_url, broker_url=broker_url)
        cli(env, "migrate")
        owner = bootstrap(env, credits=1000)
        with (running_server(env, tmp_path / "server.log") as server,
              running_worker(env, tmp_path / "worker.log", pool="prefork", concurrency=2),
              grpc.insecure_channel(server.address) as channel):
            before = credits_of(channel, owner)
            task_ids = create_tasks(channel, owner, 10, word_count=800)
            started = time.monotonic()
            job = tasks_pb2_grpc.TasksServiceStub(channel).AutoGenerateContent(
                tasks_pb2.AutoGenerateContentRequest(task_ids=task_ids), metadata=owner.metadata(), timeout=30).job
            events = watch_to_end(channel, owner, job.id)
            elapsed = time.monotonic() - started
            after = credits_of(channel, owner)
            tasks = [tasks_pb2_grpc.TasksServiceStub(channel).GetTask(
                tasks_pb2.GetTaskRequest(id=i), metadata=owner.metadata(), timeout=10) for i in task_ids]

    final = events[-1].job
    print(f"{broker_name}: 10 items in {elapsed:.1f}s, {len(events)} events, {final.credits_charged} credits")
    assert events[0].type == jobs_pb2.JOB_EVENT_TYPE_SNAPSHOT
    assert events[-1].type == jobs_pb2.JOB_EVENT_TYPE_JOB_SUCCEEDED
    assert final.state == jobs_pb2.JOB_STATE_SUCCEEDED
    assert (final.total_items, final.succeeded_items, final.failed_items) == (10, 10, 0)
    assert all(item.result_content_id for item in final.items)
    assert {t.status for t in tasks} == {tasks_pb2.TASK_STATUS_COMPLETED}
    charged = final.credits_charged
    assert charged > 0
    assert final.credits_reserved == charged + final.credits_released
    assert before - after == charged

    with reading(database_url) as session:
        books = job_books(session, account_id=owner.account_id, job_id=job.id, task_ids=task_ids)
    assert books.content_task_ids == sorted(task_ids)
    assert books.content_statuses == {"draft"}
    assert books.task_statuses == {"completed"}
    assert books.ledger_rows_by_kind == {"reserve": 1, "settle": 10}
    assert books.settled_item_ids == sorted(item.id for item in final.items)
    assert books.ledger_sum == -charged
    assert books.ai_credits == charged
    assert books.ai_outcomes == {"success": 10}
