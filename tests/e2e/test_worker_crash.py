"""A worker killed with SIGKILL in the middle of a job, and another started: the job still ends
SUCCEEDED, with one content per task and one charge per item.

The worker writes through SlowTemplateWriter (one second per article), so the kill lands while
items run. Their messages were never acknowledged (late acks): RabbitMQ hands them back as soon as
the dead worker's connection drops, Redis once the visibility timeout (five seconds here) has
passed. The rerun claims the item again (attempt 2) and writes what the first run never committed.
"""

from __future__ import annotations

import time
from pathlib import Path

import grpc
import pytest

from igny8.writer.v1 import jobs_pb2, jobs_pb2_grpc, tasks_pb2, tasks_pb2_grpc
from tests.e2e.books import balance, job_books, reading
from tests.e2e.brokers import broker
from tests.e2e.process import Owner, bootstrap, cli, create_tasks, running_server, running_worker, service_env

pytestmark = pytest.mark.e2e

TASKS = 8
JOB_TIMEOUT_SECONDS = 90
VISIBILITY_TIMEOUT_SECONDS = 5
SLOW_WORKER = ("-m", "tests.e2e.slow_worker")
RUNNING = jobs_pb2.JOB_ITEM_STATE_RUNNING


def mid_job(event: jobs_pb2.JobEvent) -> bool:
    """Some items have succeeded and at least one is running: the moment to crash the worker."""
    return event.job.succeeded_items >= 2 and any(item.state == RUNNING for item in event.job.items)


def get_job(channel: grpc.Channel, owner: Owner, job_id: int) -> jobs_pb2.Job:
    """The job as the database has it now."""
    return jobs_pb2_grpc.JobsServiceStub(channel).GetJob(jobs_pb2.GetJobRequest(id=job_id),
                                                          metadata=owner.metadata(), timeout=10)


@pytest.mark.parametrize("broker_name", ["redis", "rabbitmq"])
def test_a_job_survives_its_worker_killed_mid_item_with_one_content_per_task_and_one_charge_per_item(
    broker_name: str, database_url: str, tmp_path: Path
) -> None:
    with broker(broker_name) as broker_url:
        env = service_env(tmp_path / "var", database_url=database_url, broker_url=broker_url,
                          WRITER_WORKER_VISIBILITY_TIMEOUT_SECONDS=str(VISIBILITY_TIMEOUT_SECONDS))
        cli(env, "migrate")
        owner = bootstrap(env, credits=1000)
        with (running_server(env, tmp_path / "server.log") as server,
              grpc.insecure_channel(server.address) as channel):
            task_ids = create_tasks(channel, owner, TASKS, word_count=600)
            with running_worker(env, tmp_path / "worker-1.log", concurrency=2, launcher=SLOW_WORKER) as first:
                job = tasks_pb2_grpc.TasksServiceStub(channel).AutoGenerateContent(
                    tasks_pb2.AutoGenerateContentRequest(task_ids=task_ids), metadata=owner.metadata(),
                    timeout=30).job
                # One stream for the whole job: it must carry on across the crash.
                stream = jobs_pb2_grpc.JobsServiceStub(channel).WatchJob(
                    jobs_pb2.WatchJobRequest(job_id=job.id), metadata=owner.metadata(), timeout=JOB_TIMEOUT_SECONDS)
                events = []
                for event in stream:
                    events.append(event)
                    if mid_job(event):
                        break
                assert events and mid_job(events[-1]), "the job ended before the worker could be killed"
                first.kill()
                killed_at = time.monotonic()
            at_crash = get_job(channel, owner, job.id)
            interrupted = sorted(item.id for item in at_crash.items if item.state == RUNNING)
            with running_worker(env, tmp_path / "worker-2.log", concurrency=2, launcher=SLOW_WORKER):
                events += list(stream)
                recovered_in = time.monotonic() - killed_at
            with reading(database_url) as session:
                books = job_books(session, account_id=owner.account_id, job_id=job.id, task_ids=task_ids)
                left = balance(session, owner.account_id)

    final = events[-1].job
    print(f"{broker_name}: killed with {at_crash.succeeded_items} items done and items {interrupted} running; "
          f"the job ended {recovered_in:.1f}s later")
    assert interrupted, "no item was running when the worker died"
    assert events[-1].type == jobs_pb2.JOB_EVENT_TYPE_JOB_SUCCEEDED
    assert (final.state, final.succeeded_items, final.failed_items) == (jobs_pb2.JOB_STATE_SUCCEEDED, TASKS, 0)
    attempts = {item.id: item.attempts for item in final.items}
    assert all(attempts[i] >= 2 for i in interrupted), attempts
    assert [e.sequence for e in events[1:]] == list(range(events[0].sequence + 1, events[-1].sequence + 1))

    assert books.content_task_ids == sorted(task_ids)
    assert books.task_statuses == {"completed"}
    assert books.ledger_rows_by_kind == {"reserve": 1, "settle": TASKS}
    assert books.settled_item_ids == sorted(item.id for item in final.items)
    charged = final.credits_charged
    assert charged == sum(item.credits_charged for item in final.items) > 0
    assert books.ledger_sum == -charged
    assert 1000 - left == charged
    assert books.ai_outcomes == {"success": TASKS}
    assert books.ai_credits == charged
