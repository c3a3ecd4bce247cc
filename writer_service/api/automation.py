"""AutomationService: each Run* call relays its run's events as AutomationEvent messages."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, TypeAlias

import grpc

from igny8.writer.v1 import automation_pb2 as pb
from igny8.writer.v1 import automation_pb2_grpc
from writer_service.api.convert import list_query, to_proto
from writer_service.db.models import AutomationRun
from writer_service.services.automation import events, runs
from writer_service.tenancy.context import current_tenant

if TYPE_CHECKING:
    from writer_service.api.server import Runtime

Context: TypeAlias = grpc.aio.ServicerContext

STAGES = {events.PIPELINE: pb.AUTOMATION_STAGE_PIPELINE, events.TASK_CREATION: pb.AUTOMATION_STAGE_TASK_CREATION,
          events.CONTENT_GENERATION: pb.AUTOMATION_STAGE_CONTENT_GENERATION,
          events.IMAGE_PROMPTS: pb.AUTOMATION_STAGE_IMAGE_PROMPTS,
          events.IMAGE_GENERATION: pb.AUTOMATION_STAGE_IMAGE_GENERATION}
# Event class -> (its field in the AutomationEvent oneof, its message).
ONEOF: dict[type[Any], tuple[str, type[Any]]] = {
    events.ItemStarted: ("item_started", pb.ItemStarted),
    events.ItemSucceeded: ("item_succeeded", pb.ItemSucceeded),
    events.ItemFailed: ("item_failed", pb.ItemFailed),
    events.ItemSkipped: ("item_skipped", pb.ItemSkipped),
    events.StageProgress: ("progress", pb.StageProgress),
    events.StageSummary: ("summary", pb.StageSummary),
}


def event_message(event: events.Event) -> pb.AutomationEvent:
    """An AutomationEvent of a run's event (kinds and states by name, stages by number)."""
    field, message = ONEOF[type(event)]
    return pb.AutomationEvent(run_id=event.run_id, stage=STAGES[event.stage],
                              **{field: to_proto(message, event)})


def run_message(run: AutomationRun) -> pb.AutomationRun:
    """An AutomationRun message; the stored stage number becomes its enum."""
    message = to_proto(pb.AutomationRun, run)
    message.stage = STAGES[run.stage]
    return message


class AutomationServicer(automation_pb2_grpc.AutomationServiceServicer):
    """Each Run* method turns its request into a run's arguments and streams the run's events."""

    def __init__(self, runtime: Runtime) -> None:
        self.db = runtime.db
        self.automation = runtime.automation

    async def _run(self, stage: int, request: Any) -> AsyncIterator[pb.AutomationEvent]:
        async for event in self.automation.run(
            current_tenant(), stage=stage, site_id=request.site_id, sector_id=request.sector_id,
            max_items=request.max_items, cluster_id=request.cluster_id, request_id=request.request_id,
        ):
            yield event_message(event)

    def RunTaskCreationStage(  # noqa: N802
        self, request: pb.RunTaskCreationStageRequest, context: Context
    ) -> AsyncIterator[pb.AutomationEvent]:
        return self._run(events.TASK_CREATION, request)

    def RunContentGenerationStage(  # noqa: N802
        self, request: pb.RunContentGenerationStageRequest, context: Context
    ) -> AsyncIterator[pb.AutomationEvent]:
        return self._run(events.CONTENT_GENERATION, request)

    def RunImagePromptStage(  # noqa: N802
        self, request: pb.RunImagePromptStageRequest, context: Context
    ) -> AsyncIterator[pb.AutomationEvent]:
        return self._run(events.IMAGE_PROMPTS, request)

    def RunImageGenerationStage(  # noqa: N802
        self, request: pb.RunImageGenerationStageRequest, context: Context
    ) -> AsyncIterator[pb.AutomationEvent]:
        return self._run(events.IMAGE_GENERATION, request)

    def RunPipeline(self, request: pb.RunPipelineRequest, context: Context) -> AsyncIterator[pb.AutomationEvent]:  # noqa: N802
        return self._run(events.PIPELINE, request)

    async def GetAutomationRun(  # noqa: N802
        self, request: pb.GetAutomationRunRequest, context: Context
    ) -> pb.AutomationRun:
        return run_message(await runs.get_run(self.db, current_tenant(), run_id=request.id))

    async def ListAutomationRuns(  # noqa: N802
        self, request: pb.ListAutomationRunsRequest, context: Context
    ) -> pb.ListAutomationRunsResponse:
        page = await runs.list_runs(self.db, current_tenant(), query=list_query(request))
        return pb.ListAutomationRunsResponse(automation_runs=[run_message(r) for r in page.items],
                                             next_page_token=page.next_page_token)
