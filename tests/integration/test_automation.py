"""AutomationService stage 3 (ideas -> queued tasks), the runs it leaves, request_id retries and the
errors every Run* call answers before its first event, through the real gRPC stack."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, TypeAlias

import grpc
import pytest
from google.rpc import error_details_pb2
from sqlalchemy import func, select

from igny8.writer.v1 import automation_pb2 as pb
from igny8.writer.v1 import automation_pb2_grpc, planner_pb2, tasks_pb2
from tests.conftest import Tenant, TenantFactory
from tests.factories.planner import make_cluster, make_idea, planner_stub
from tests.factories.tasks import make_task, tasks_stub
from tests.rich import expect_error
from writer_service.db.database import Database
from writer_service.db.models import Task
from writer_service.services.automation import ideas as automation_ideas
from writer_service.services.automation import runner

pytestmark = pytest.mark.asyncio(loop_scope="session")

Channel: TypeAlias = grpc.aio.Channel
Events: TypeAlias = list[pb.AutomationEvent]
REQUESTS: dict[str, Any] = {
    "RunTaskCreationStage": pb.RunTaskCreationStageRequest,
    "RunContentGenerationStage": pb.RunContentGenerationStageRequest,
    "RunImagePromptStage": pb.RunImagePromptStageRequest,
    "RunImageGenerationStage": pb.RunImageGenerationStageRequest,
    "RunPipeline": pb.RunPipelineRequest,
}
TASK_CREATION = pb.AUTOMATION_STAGE_TASK_CREATION
SUCCEEDED = pb.AUTOMATION_RUN_STATE_SUCCEEDED


def automation_stub(channel: Channel) -> automation_pb2_grpc.AutomationServiceStub:
    """An AutomationService client."""
    return automation_pb2_grpc.AutomationServiceStub(channel)


def start(channel: Channel, tenant: Tenant, method: str, *, metadata: Any = None, timeout: float | None = None,
          **fields: Any) -> grpc.aio.UnaryStreamCall:
    """A Run* call (not read yet), with a deadline `timeout` seconds away if given."""
    call = getattr(automation_stub(channel), method)
    return call(REQUESTS[method](**fields), metadata=tenant.metadata() if metadata is None else metadata,  # type: ignore[no-any-return]
                timeout=timeout)


async def run(channel: Channel, tenant: Tenant, method: str, **fields: Any) -> Events:
    """Every event of a Run* call, read to its end."""
    return [event async for event in start(channel, tenant, method, **fields)]


def of(events: Events, kind: str) -> list[Any]:
    """The `kind` parts (item_started, item_succeeded, ..., summary) of the events that are one."""
    return [getattr(e, kind) for e in events if e.WhichOneof("event") == kind]


def summaries(events: Events) -> dict[int, pb.StageSummary]:
    """The summaries of a run, by stage."""
    return {e.stage: e.summary for e in events if e.WhichOneof("event") == "summary"}


def check_item_order(events: Events) -> None:
    """Every item: started, then one outcome, then a progress with counts that add up (stage 3:
    one progress after each batch of ideas; the other stages: one after each item)."""
    outcomes = ("item_succeeded", "item_failed", "item_skipped")
    open_items: set[tuple[int, int]] = set()
    ended_since_progress = 0
    for event in events:
        kind = event.WhichOneof("event")
        if kind == "item_started":
            key = (event.stage, event.item_started.item_id)
            assert key not in open_items
            open_items.add(key)
        elif kind in outcomes:
            key = (event.stage, getattr(event, kind).item_id)
            assert key in open_items, f"{kind} of {key} without item_started"
            open_items.discard(key)
            ended_since_progress += 1
            assert event.stage == TASK_CREATION or ended_since_progress == 1, "an item ended without a progress"
        elif kind == "progress":
            assert ended_since_progress, "progress without an item ending"
            ended_since_progress = 0
            progress = event.progress
            assert progress.items_done + progress.items_failed + progress.items_skipped <= progress.items_total
        elif kind == "summary":
            assert not ended_since_progress, "a stage summary before the progress of its last items"
    assert events[-1].WhichOneof("event") == "summary"


async def count_tasks(db: Database, tenant: Tenant) -> int:
    """Tasks of the tenant's account, deleted ones too."""
    async with db.read() as session:
        return int(await session.scalar(
            select(func.count()).select_from(Task).where(Task.account_id == tenant.account_id)) or 0)


async def ideas_of(channel: Channel, tenant: Tenant, count: int, **fields: Any) -> list[planner_pb2.ContentIdea]:
    """`count` ideas, oldest first, in one new cluster unless `cluster_id` is given."""
    if not fields.get("cluster_id"):
        fields["cluster_id"] = (await make_cluster(channel, tenant)).id
    return [await make_idea(channel, tenant, **fields) for _ in range(count)]


async def get_run(channel: Channel, tenant: Tenant, run_id: int) -> pb.AutomationRun:
    """GetAutomationRun."""
    return await automation_stub(channel).GetAutomationRun(pb.GetAutomationRunRequest(id=run_id),  # type: ignore[no-any-return]
                                                           metadata=tenant.metadata())


async def ended_run(channel: Channel, tenant: Tenant, run_id: int) -> pb.AutomationRun:
    """The run once it has left the running state (a run goes on after its caller went away)."""
    async with asyncio.timeout(30):
        while (found := await get_run(channel, tenant, run_id)).state == pb.AUTOMATION_RUN_STATE_RUNNING:  # noqa: ASYNC110 - polled from the database
            await asyncio.sleep(0.05)
    return found


async def test_task_creation_makes_one_queued_task_per_new_idea_with_the_ideas_fields(
    channel: Channel, tenants: TenantFactory, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(automation_ideas, "BATCH_SIZE", 2)
    owner = await tenants.account()
    ideas = await ideas_of(channel, owner, 3, target_keywords="trail shoes, grip", estimated_word_count=900,
                           description="what to wear on wet rock")
    events = await run(channel, owner, "RunTaskCreationStage")

    check_item_order(events)
    assert {e.run_id for e in events} == {events[0].run_id} and {e.stage for e in events} == {TASK_CREATION}
    assert [s.item_id for s in of(events, "item_started")] == [i.id for i in ideas]
    assert [s.title for s in of(events, "item_started")] == [i.title for i in ideas]
    succeeded = of(events, "item_succeeded")
    assert [s.item_id for s in succeeded] == [i.id for i in ideas]
    assert {(s.item_kind, s.result_kind, s.credits_used) for s in succeeded} == {
        (pb.AUTOMATION_ITEM_KIND_IDEA, pb.AUTOMATION_ITEM_KIND_TASK, 0)}
    assert [p.items_done for p in of(events, "progress")] == [2, 3]  # one progress per batch of two
    assert {p.items_total for p in of(events, "progress")} == {3}
    summary = of(events, "summary")[0]
    assert (summary.items_done, summary.items_failed, summary.items_skipped, summary.credits_used, summary.state) == (
        3, 0, 0, 0, SUCCEEDED)
    for idea, made in zip(ideas, succeeded, strict=True):
        task = await tasks_stub(channel).GetTask(tasks_pb2.GetTaskRequest(id=made.result_id), metadata=owner.metadata())
        assert (task.idea_id, task.cluster_id, task.title, task.description, task.keywords, task.word_count) == (
            idea.id, idea.cluster_id, idea.title, idea.description, idea.target_keywords, idea.estimated_word_count)
        assert (task.status, task.content_type, task.content_structure) == (
            tasks_pb2.TASK_STATUS_QUEUED, idea.content_type, idea.content_structure)
        assert (task.site_id, task.sector_id) == (owner.site_id, owner.sector_id)
        after = await planner_stub(channel).GetContentIdea(planner_pb2.GetContentIdeaRequest(id=idea.id),
                                                           metadata=owner.metadata())
        assert after.status == planner_pb2.CONTENT_IDEA_STATUS_QUEUED and after.etag != idea.etag


async def test_a_second_run_creates_no_task(channel: Channel, tenants: TenantFactory, db: Database) -> None:
    owner = await tenants.account()
    await ideas_of(channel, owner, 4)
    first = await run(channel, owner, "RunTaskCreationStage")
    second = await run(channel, owner, "RunTaskCreationStage")
    assert of(first, "summary")[0].items_done == 4
    assert of(second, "summary")[0].items_done == 0 and not of(second, "item_started")
    assert of(second, "summary")[0].state == SUCCEEDED
    assert await count_tasks(db, owner) == 4


async def test_concurrent_runs_make_one_task_per_idea_and_skip_what_the_other_took(
    channel: Channel, tenants: TenantFactory, db: Database
) -> None:
    owner = await tenants.account()
    ideas = await ideas_of(channel, owner, 12)
    results = await asyncio.gather(*(run(channel, owner, "RunTaskCreationStage") for _ in range(3)))
    done = [of(events, "summary")[0].items_done for events in results]
    assert sum(done) == len(ideas)
    made = sorted(s.item_id for events in results for s in of(events, "item_succeeded"))
    assert made == sorted(i.id for i in ideas)
    for events in results:
        check_item_order(events)
        summary = of(events, "summary")[0]
        skipped = of(events, "item_skipped")
        assert summary.items_skipped == len(skipped) and summary.items_failed == 0
        assert all(s.reason.split(":")[0] in ("IDEA_CHANGED", "IDEA_ALREADY_HAS_TASK") for s in skipped)
    assert await count_tasks(db, owner) == len(ideas)


async def test_cluster_and_max_items_limit_which_ideas_are_taken_oldest_first(
    channel: Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    wanted = await ideas_of(channel, owner, 3)
    other = await ideas_of(channel, owner, 2)
    first = await run(channel, owner, "RunTaskCreationStage", cluster_id=wanted[0].cluster_id, max_items=2)
    assert [s.item_id for s in of(first, "item_succeeded")] == [wanted[0].id, wanted[1].id]
    assert {p.items_total for p in of(first, "progress")} == {2}
    rest = await run(channel, owner, "RunTaskCreationStage", cluster_id=wanted[0].cluster_id)
    assert [s.item_id for s in of(rest, "item_succeeded")] == [wanted[2].id]
    everything = await run(channel, owner, "RunTaskCreationStage")
    assert [s.item_id for s in of(everything, "item_succeeded")] == [i.id for i in other]


async def test_deleted_and_already_planned_ideas_are_not_taken(
    channel: Channel, tenants: TenantFactory, db: Database
) -> None:
    owner = await tenants.account()
    new, deleted, queued, completed = await ideas_of(channel, owner, 4)
    planner = planner_stub(channel)
    await planner.DeleteContentIdea(planner_pb2.DeleteContentIdeaRequest(id=deleted.id), metadata=owner.metadata())
    for idea, status in ((queued, planner_pb2.CONTENT_IDEA_STATUS_QUEUED),
                         (completed, planner_pb2.CONTENT_IDEA_STATUS_COMPLETED)):
        await planner.UpdateContentIdea(planner_pb2.UpdateContentIdeaRequest(
            content_idea=planner_pb2.ContentIdea(id=idea.id, status=status),
            update_mask={"paths": ["status"]}), metadata=owner.metadata())
    events = await run(channel, owner, "RunTaskCreationStage")
    assert [s.item_id for s in of(events, "item_succeeded")] == [new.id]
    assert await count_tasks(db, owner) == 1


async def test_an_idea_marked_new_again_though_it_has_a_task_is_skipped_and_queued_again(
    channel: Channel, tenants: TenantFactory, db: Database
) -> None:
    owner = await tenants.account()
    [idea] = await ideas_of(channel, owner, 1)
    await make_task(channel, owner, cluster_id=idea.cluster_id, idea_id=idea.id)
    await planner_stub(channel).UpdateContentIdea(planner_pb2.UpdateContentIdeaRequest(
        content_idea=planner_pb2.ContentIdea(id=idea.id, status=planner_pb2.CONTENT_IDEA_STATUS_NEW),
        update_mask={"paths": ["status"]}), metadata=owner.metadata())
    events = await run(channel, owner, "RunTaskCreationStage")
    check_item_order(events)
    [skipped] = of(events, "item_skipped")
    assert skipped.item_id == idea.id and skipped.reason.startswith("IDEA_ALREADY_HAS_TASK")
    assert await count_tasks(db, owner) == 1
    after = await planner_stub(channel).GetContentIdea(planner_pb2.GetContentIdeaRequest(id=idea.id),
                                                       metadata=owner.metadata())
    assert after.status == planner_pb2.CONTENT_IDEA_STATUS_QUEUED
    assert not of(await run(channel, owner, "RunTaskCreationStage"), "item_started")


async def test_an_idea_asking_for_more_words_than_a_task_may_fails_and_the_stage_goes_on(
    channel: Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    cluster = await make_cluster(channel, owner)
    too_long = await make_idea(channel, owner, cluster_id=cluster.id, estimated_word_count=50_000)
    fine = await make_idea(channel, owner, cluster_id=cluster.id)
    events = await run(channel, owner, "RunTaskCreationStage")
    check_item_order(events)
    [failed] = of(events, "item_failed")
    assert failed.item_id == too_long.id and failed.reason.startswith("WORD_COUNT_TOO_LARGE")
    assert [s.item_id for s in of(events, "item_succeeded")] == [fine.id]
    summary = of(events, "summary")[0]
    assert (summary.items_done, summary.items_failed, summary.state) == (1, 1, SUCCEEDED)


async def test_site_and_sector_may_come_from_the_request_and_only_their_ideas_are_taken(
    channel: Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    elsewhere = await tenants.sector(owner)
    mine = await ideas_of(channel, owner, 1)
    await ideas_of(channel, elsewhere, 2)
    events = await run(channel, owner, "RunTaskCreationStage", metadata=owner.metadata(site=False, sector=False),
                       site_id=owner.site_id, sector_id=owner.sector_id)
    assert [s.item_id for s in of(events, "item_succeeded")] == [mine[0].id]


async def test_retry_with_the_same_request_id_starts_nothing_and_answers_the_first_summary(
    channel: Channel, tenants: TenantFactory, db: Database
) -> None:
    owner = await tenants.account()
    await ideas_of(channel, owner, 2)
    request_id = str(uuid.uuid4())
    first = await run(channel, owner, "RunTaskCreationStage", request_id=request_id)
    await ideas_of(channel, owner, 2)
    again = await run(channel, owner, "RunTaskCreationStage", request_id=request_id)
    assert len(again) == 1 and again[0].run_id == first[0].run_id
    assert again[0].summary == of(first, "summary")[0]
    assert await count_tasks(db, owner) == 2


async def test_the_run_is_kept_with_its_tallies_and_can_be_read_and_listed(
    channel: Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    stranger = await tenants.account()
    await ideas_of(channel, owner, 2)
    first = (await run(channel, owner, "RunTaskCreationStage"))[0].run_id
    second = (await run(channel, owner, "RunTaskCreationStage"))[0].run_id
    found = await get_run(channel, owner, first)
    assert (found.stage, found.state, found.items_done, found.items_failed, found.items_skipped) == (
        TASK_CREATION, SUCCEEDED, 2, 0, 0)
    assert (found.account_id, found.site_id, found.sector_id, found.created_by_user_id) == (
        owner.account_id, owner.site_id, owner.sector_id, owner.user_id)
    assert found.HasField("end_time") and found.end_time.ToDatetime() >= found.start_time.ToDatetime()
    await expect_error(get_run(channel, stranger, first), grpc.StatusCode.NOT_FOUND)

    stub = automation_stub(channel)
    listed = await stub.ListAutomationRuns(pb.ListAutomationRunsRequest(), metadata=owner.metadata())
    assert [r.id for r in listed.automation_runs] == [second, first]
    page = await stub.ListAutomationRuns(pb.ListAutomationRunsRequest(page_size=1, order_by="create_time"),
                                         metadata=owner.metadata())
    rest = await stub.ListAutomationRuns(pb.ListAutomationRunsRequest(
        page_size=1, order_by="create_time", page_token=page.next_page_token), metadata=owner.metadata())
    assert [r.id for r in (*page.automation_runs, *rest.automation_runs)] == [first, second]
    wanted = f'stage = 3 AND state = "succeeded" AND created_by_user_id = {owner.user_id}'
    filtered = await stub.ListAutomationRuns(pb.ListAutomationRunsRequest(filter=wanted), metadata=owner.metadata())
    assert len(filtered.automation_runs) == 2
    none = await stub.ListAutomationRuns(pb.ListAutomationRunsRequest(filter="stage = 0"), metadata=owner.metadata())
    assert not none.automation_runs
    theirs = await stub.ListAutomationRuns(pb.ListAutomationRunsRequest(), metadata=stranger.metadata())
    assert not theirs.automation_runs
    error = await expect_error(stub.ListAutomationRuns(pb.ListAutomationRunsRequest(order_by="title"),
                                                       metadata=owner.metadata()), grpc.StatusCode.INVALID_ARGUMENT)
    assert error.detail(error_details_pb2.BadRequest).field_violations[0].field == "order_by"


@pytest.mark.parametrize("method", list(REQUESTS))
async def test_bad_limits_are_invalid_before_any_event(channel: Channel, tenants: TenantFactory, method: str) -> None:
    owner = await tenants.account()
    for fields in ({"max_items": -1}, {"max_items": 501}, {"cluster_id": -3}, {"request_id": "again"}):
        error = await expect_error(run(channel, owner, method, **fields), grpc.StatusCode.INVALID_ARGUMENT)
        assert error.detail(error_details_pb2.BadRequest).field_violations[0].field == next(iter(fields))


@pytest.mark.parametrize("method", list(REQUESTS))
async def test_a_cluster_the_caller_cannot_see_in_that_sector_is_not_found(
    channel: Channel, tenants: TenantFactory, method: str
) -> None:
    owner = await tenants.account()
    other_sector = await tenants.sector(owner)
    stranger = await tenants.account()
    for cluster_id in (999_999_999, (await make_cluster(channel, other_sector)).id,
                       (await make_cluster(channel, stranger)).id):
        error = await expect_error(run(channel, owner, method, cluster_id=cluster_id), grpc.StatusCode.NOT_FOUND)
        assert error.detail(error_details_pb2.ResourceInfo).resource_type == "Cluster"


@pytest.mark.parametrize("method", list(REQUESTS))
async def test_site_and_sector_are_both_needed(channel: Channel, tenants: TenantFactory, method: str) -> None:
    owner = await tenants.account()
    for site, sector, field in ((False, False, "site_id"), (True, False, "sector_id")):
        error = await expect_error(run(channel, owner, method, metadata=owner.metadata(site=site, sector=sector)),
                                   grpc.StatusCode.INVALID_ARGUMENT)
        assert error.detail(error_details_pb2.BadRequest).field_violations[0].field == field


async def test_callers_who_may_not_run_are_refused(channel: Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    viewer = await tenants.user(owner, "viewer")
    admin = await tenants.user(owner, "admin")
    await expect_error(run(channel, viewer, "RunTaskCreationStage"), grpc.StatusCode.PERMISSION_DENIED)
    await expect_error(run(channel, owner, "RunTaskCreationStage", metadata=(("authorization", "Bearer nope"),)),
                       grpc.StatusCode.UNAUTHENTICATED)
    error = await expect_error(run(channel, admin, "RunTaskCreationStage",
                                   metadata=(("authorization", f"Bearer {admin.api_key}"),)),
                               grpc.StatusCode.FAILED_PRECONDITION)
    assert error.info.reason == "ACCOUNT_REQUIRED"
    other = await tenants.account()
    await expect_error(run(channel, owner, "RunTaskCreationStage", site_id=other.site_id,
                           sector_id=other.sector_id, metadata=owner.metadata(site=False, sector=False)),
                       grpc.StatusCode.NOT_FOUND)
    listed = await automation_stub(channel).ListAutomationRuns(pb.ListAutomationRunsRequest(),
                                                               metadata=viewer.metadata())
    assert not listed.automation_runs


async def test_concurrent_calls_with_one_request_id_start_one_run(
    channel: Channel, tenants: TenantFactory, db: Database
) -> None:
    owner = await tenants.account()
    await ideas_of(channel, owner, 3)
    request_id = str(uuid.uuid4())
    results = await asyncio.gather(*(run(channel, owner, "RunTaskCreationStage", request_id=request_id)
                                      for _ in range(3)))
    assert len({events[0].run_id for events in results}) == 1
    assert sum(of(events, "summary")[0].items_done for events in results if len(events) > 1) == 3
    assert await count_tasks(db, owner) == 3
    listed = await automation_stub(channel).ListAutomationRuns(pb.ListAutomationRunsRequest(),
                                                               metadata=owner.metadata())
    assert len(listed.automation_runs) == 1


async def test_a_run_that_breaks_ends_failed_with_a_summary_and_is_kept_failed(
    channel: Channel, tenants: TenantFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(ctx: Any) -> Any:
        raise RuntimeError("the database went away")

    monkeypatch.setitem(runner.STAGE_RUNNERS, 3, broken)
    owner = await tenants.account()
    events = await run(channel, owner, "RunTaskCreationStage")
    assert [e.WhichOneof("event") for e in events] == ["summary"]
    assert events[0].summary.state == pb.AUTOMATION_RUN_STATE_FAILED
    assert (await get_run(channel, owner, events[0].run_id)).state == pb.AUTOMATION_RUN_STATE_FAILED
