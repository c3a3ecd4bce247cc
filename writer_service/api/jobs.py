"""JobsService: get, list, watch and cancel generation jobs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, TypeAlias

import grpc

from igny8.writer.v1 import jobs_pb2, jobs_pb2_grpc
from writer_service.api.convert import list_query, to_proto
from writer_service.db.models import Job
from writer_service.services import jobs
from writer_service.services.job_events import watch
from writer_service.tenancy.context import current_tenant

if TYPE_CHECKING:
    from writer_service.api.server import Runtime

Context: TypeAlias = grpc.aio.ServicerContext


def _row(values: Any) -> Any:
    return SimpleNamespace(**values) if isinstance(values, Mapping) else values


def job_message(job: Any, items: Iterable[Any] = ()) -> jobs_pb2.Job:
    """A Job message from a row or a dict, with the given items."""
    return to_proto(jobs_pb2.Job, _row(job), items=[to_proto(jobs_pb2.JobItem, _row(i)) for i in items])


def job_with_items(job: Job) -> jobs_pb2.Job:
    """A Job message with its items (loaded with the job)."""
    return job_message(job, job.items)


class JobsServicer(jobs_pb2_grpc.JobsServiceServicer):
    """Proto in, service call, proto out."""

    def __init__(self, runtime: Runtime) -> None:
        self.db = runtime.db
        self.hub = runtime.hub

    async def GetJob(self, request: jobs_pb2.GetJobRequest, context: Context) -> jobs_pb2.Job:  # noqa: N802
        return job_with_items(await jobs.get_job(self.db, current_tenant(), job_id=request.id))

    async def ListJobs(  # noqa: N802
        self, request: jobs_pb2.ListJobsRequest, context: Context
    ) -> jobs_pb2.ListJobsResponse:
        page = await jobs.list_jobs(self.db, current_tenant(), query=list_query(request))
        return jobs_pb2.ListJobsResponse(jobs=[job_message(j) for j in page.items],
                                         next_page_token=page.next_page_token)

    async def WatchJob(  # noqa: N802
        self, request: jobs_pb2.WatchJobRequest, context: Context
    ) -> AsyncIterator[jobs_pb2.JobEvent]:
        async for event in watch(self.db, self.hub, current_tenant(), job_id=request.job_id):
            # Every watcher of a job gets the same event: its message is made once.
            message = event.shown.get("message")
            if message is None:
                message = event.shown["message"] = jobs_pb2.JobEvent(
                    sequence=event.sequence,
                    type=jobs_pb2.JobEventType.Value(f"JOB_EVENT_TYPE_{event.type.upper()}"),
                    job=job_message(event.job, event.items),
                    item=to_proto(jobs_pb2.JobItem, _row(event.item)) if event.item else None,
                )
            yield message

    async def CancelJob(self, request: jobs_pb2.CancelJobRequest, context: Context) -> jobs_pb2.Job:  # noqa: N802
        return job_with_items(await jobs.cancel_job(self.db, current_tenant(), job_id=request.id))
