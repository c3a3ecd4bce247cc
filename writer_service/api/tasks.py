"""TasksService: proto in, service call, proto out."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

import grpc

from igny8.writer.v1 import tasks_pb2, tasks_pb2_grpc
from writer_service.api.convert import from_proto, list_query, present, to_proto
from writer_service.api.jobs import job_with_items
from writer_service.services import generation, tasks
from writer_service.tenancy.context import current_tenant

if TYPE_CHECKING:
    from writer_service.api.server import Runtime

Context: TypeAlias = grpc.aio.ServicerContext


def task_message(view: tasks.TaskView) -> tasks_pb2.Task:
    """A Task message; the names the table does not hold are mapped here."""
    return to_proto(tasks_pb2.Task, view.task, cluster_name=view.cluster_name, sector_name=view.sector_name)


class TasksServicer(tasks_pb2_grpc.TasksServiceServicer):
    """Each method turns its request into plain arguments and its answer into a message."""

    def __init__(self, runtime: Runtime) -> None:
        self.db = runtime.db
        self.generation = runtime.generation

    async def CreateTask(self, request: tasks_pb2.CreateTaskRequest, context: Context) -> tasks_pb2.Task:  # noqa: N802
        view = await tasks.create_task(
            self.db, current_tenant(), values=present(from_proto(request.task, tasks.CREATE_FIELDS)),
            site_id=request.site_id, sector_id=request.sector_id, request_id=request.request_id,
        )
        return task_message(view)

    async def GetTask(self, request: tasks_pb2.GetTaskRequest, context: Context) -> tasks_pb2.Task:  # noqa: N802
        return task_message(await tasks.get_task(self.db, current_tenant(), task_id=request.id))

    async def UpdateTask(self, request: tasks_pb2.UpdateTaskRequest, context: Context) -> tasks_pb2.Task:  # noqa: N802
        view = await tasks.update_task(
            self.db, current_tenant(), task_id=request.task.id, etag=request.task.etag,
            paths=list(request.update_mask.paths), values=from_proto(request.task, tasks.UPDATABLE),
        )
        return task_message(view)

    async def DeleteTask(self, request: tasks_pb2.DeleteTaskRequest, context: Context) -> tasks_pb2.Task:  # noqa: N802
        return task_message(await tasks.delete_task(self.db, current_tenant(), task_id=request.id, etag=request.etag))

    async def UndeleteTask(  # noqa: N802
        self, request: tasks_pb2.UndeleteTaskRequest, context: Context
    ) -> tasks_pb2.Task:
        view = await tasks.undelete_task(self.db, current_tenant(), task_id=request.id, etag=request.etag)
        return task_message(view)

    async def ListTasks(  # noqa: N802
        self, request: tasks_pb2.ListTasksRequest, context: Context
    ) -> tasks_pb2.ListTasksResponse:
        views, token = await tasks.list_tasks(self.db, current_tenant(), query=list_query(request))
        return tasks_pb2.ListTasksResponse(tasks=[task_message(v) for v in views], next_page_token=token)

    async def BatchDeleteTasks(  # noqa: N802
        self, request: tasks_pb2.BatchDeleteTasksRequest, context: Context
    ) -> tasks_pb2.BatchDeleteTasksResponse:
        views = await tasks.batch_delete_tasks(self.db, current_tenant(), ids=list(request.ids))
        return tasks_pb2.BatchDeleteTasksResponse(tasks=[task_message(v) for v in views])

    async def BatchUpdateTaskStatus(  # noqa: N802
        self, request: tasks_pb2.BatchUpdateTaskStatusRequest, context: Context
    ) -> tasks_pb2.BatchUpdateTaskStatusResponse:
        status = from_proto(request, ["status"])["status"]
        views = await tasks.batch_update_task_status(self.db, current_tenant(), ids=list(request.ids), status=status)
        return tasks_pb2.BatchUpdateTaskStatusResponse(tasks=[task_message(v) for v in views])

    async def AutoGenerateContent(  # noqa: N802
        self, request: tasks_pb2.AutoGenerateContentRequest, context: Context
    ) -> tasks_pb2.AutoGenerateContentResponse:
        job = await generation.auto_generate_content(
            self.generation, current_tenant(), task_ids=list(request.task_ids), request_id=request.request_id,
            wait=request.wait,
        )
        return tasks_pb2.AutoGenerateContentResponse(job=job_with_items(job))
