"""The automation pipeline as it runs in production: server and Celery worker as processes on
PostgreSQL and Redis. Twenty ideas in two clusters become twenty illustrated articles in review,
whose image files open as images and whose credits add up in the summary, the AI logs, the ledger
and the balance; a second run does nothing; a run cancelled mid-stage is finished by the next one
without duplicates."""

from __future__ import annotations

import io
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import grpc
import pytest
from PIL import Image as PILImage
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from igny8.writer.v1 import automation_pb2 as pb
from igny8.writer.v1 import (
    automation_pb2_grpc,
    billing_pb2,
    billing_pb2_grpc,
    common_pb2,
    images_pb2,
    images_pb2_grpc,
    planner_pb2,
    planner_pb2_grpc,
)
from tests.conftest import require_or_skip
from tests.db_urls import postgres_available, temporary_postgres_database
from tests.e2e.books import balance, reading
from tests.e2e.brokers import redis_available, redis_broker
from tests.e2e.process import Owner, bootstrap, cli, running_server, running_worker, service_env
from tests.integration.test_automation import check_item_order, of, summaries
from writer_service.db.models import AIRequestLog, Content, CreditTransaction, Image, Job, JobItem, Task

pytestmark = pytest.mark.e2e

CREDITS = 5000
RUN_TIMEOUT_SECONDS = 120
# Every image of twenty articles in one stage: max_items bounds each stage, and 50 is its default.
MAX_ITEMS = 200
# Smaller than the defaults so that two worker processes draw a hundred images in seconds.
SIZES = {"featured": (640, 400), "in_article": (400, 400)}
STAGES = [pb.AUTOMATION_STAGE_TASK_CREATION, pb.AUTOMATION_STAGE_CONTENT_GENERATION,
          pb.AUTOMATION_STAGE_IMAGE_PROMPTS, pb.AUTOMATION_STAGE_IMAGE_GENERATION]
PIPELINE = pb.AUTOMATION_STAGE_PIPELINE
SUCCEEDED, CANCELLED = pb.AUTOMATION_RUN_STATE_SUCCEEDED, pb.AUTOMATION_RUN_STATE_CANCELLED
Events = list[pb.AutomationEvent]


@dataclass(frozen=True)
class Stack:
    """A migrated database, a server and a Celery worker on Redis, and a channel to the server."""

    env: dict[str, str]
    database_url: str
    channel: grpc.Channel


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One server and one worker (two processes) for every test of this module; each test has its
    own account."""
    require_or_skip(postgres_available(), "PostgreSQL")
    require_or_skip(redis_available(), "Redis")
    directory = tmp_path_factory.mktemp("pipeline")
    sizes = {f"WRITER_{kind.upper()}_IMAGE_SIZE": f"{w}x{h}" for kind, (w, h) in SIZES.items()}
    with temporary_postgres_database() as database_url, redis_broker() as broker_url:
        env = service_env(directory / "var", database_url=database_url, broker_url=broker_url, **sizes)
        cli(env, "migrate")
        with (running_server(env, directory / "server.log") as server,
              running_worker(env, directory / "worker.log", pool="prefork", concurrency=2),
              grpc.insecure_channel(server.address) as channel):
            yield Stack(env=env, database_url=database_url, channel=channel)


def seed_ideas(channel: grpc.Channel, owner: Owner, *, clusters: int, per_cluster: int) -> list[int]:
    """`clusters` clusters with `per_cluster` new ideas each, made through PlannerService; the ideas' ids."""
    stub = planner_pb2_grpc.PlannerServiceStub(channel)
    ids = []
    for c in range(clusters):
        cluster = stub.CreateCluster(planner_pb2.CreateClusterRequest(cluster=planner_pb2.Cluster(
            name=f"trail running {c + 1} {uuid.uuid4().hex[:6]}", keywords="trail running, shoes")),
            metadata=owner.metadata(), timeout=10)
        for n in range(per_cluster):
            idea = planner_pb2.ContentIdea(
                cluster_id=cluster.id, title=f"Trail running, cluster {c + 1}, idea {n + 1}",
                description="What a beginner should know", target_keywords="trail running shoes, grip",
                content_type=common_pb2.CONTENT_TYPE_POST, content_structure=common_pb2.CONTENT_STRUCTURE_ARTICLE,
                estimated_word_count=500)
            ids.append(stub.CreateContentIdea(planner_pb2.CreateContentIdeaRequest(content_idea=idea),
                                              metadata=owner.metadata(), timeout=10).id)
    return ids


def start_pipeline(channel: grpc.Channel, owner: Owner) -> grpc.Call:
    """A RunPipeline call over the owner's site and sector, not read yet."""
    stub = automation_pb2_grpc.AutomationServiceStub(channel)
    return stub.RunPipeline(pb.RunPipelineRequest(max_items=MAX_ITEMS), metadata=owner.metadata(),  # type: ignore[no-any-return]
                            timeout=RUN_TIMEOUT_SECONDS)


def run_pipeline(channel: grpc.Channel, owner: Owner) -> Events:
    """Every event of a RunPipeline call, read to its end."""
    return list(start_pipeline(channel, owner))


def credits_of(channel: grpc.Channel, owner: Owner) -> int:
    """The account's balance, as BillingService tells it."""
    stub = billing_pb2_grpc.BillingServiceStub(channel)
    return stub.GetCreditBalance(billing_pb2.GetCreditBalanceRequest(), metadata=owner.metadata(), timeout=10).credits


def image_file(channel: grpc.Channel, image_id: int) -> tuple[str, bytes]:
    """The MIME type and the bytes GetImageFile streams for an image (no metadata, as anyone reads it)."""
    chunks = list(images_pb2_grpc.ImagesServiceStub(channel).GetImageFile(
        images_pb2.GetImageFileRequest(image_id=image_id), timeout=30))
    assert [c.offset for c in chunks] == [sum(len(c.data) for c in chunks[:i]) for i in range(len(chunks))]
    data = b"".join(c.data for c in chunks)
    assert chunks[0].total_size == len(data)
    return chunks[0].content_type, data


def ended_run(channel: grpc.Channel, owner: Owner, run_id: int) -> pb.AutomationRun:
    """The run once it has left the running state (a run goes on after its caller went away)."""
    stub = automation_pb2_grpc.AutomationServiceStub(channel)
    deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        found = stub.GetAutomationRun(pb.GetAutomationRunRequest(id=run_id), metadata=owner.metadata(), timeout=10)
        if found.state != pb.AUTOMATION_RUN_STATE_RUNNING:
            return found
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} still running after {RUN_TIMEOUT_SECONDS}s")


@dataclass(frozen=True)
class Books:
    """What the tables hold for an account after its runs."""

    task_idea_ids: Counter[int]  # idea id -> tasks made from it
    task_statuses: set[str]
    content_task_ids: Counter[int]  # task id -> contents written for it
    content_statuses: dict[int, str]
    images: dict[int, list[Image]]  # content id -> its live images, featured first
    settles_per_item: Counter[int]  # job item id -> settle rows
    succeeded_items: set[int]


def read_books(session: Session, account_id: int) -> Books:
    """Read the account's tasks, contents, images and the settlements of its job items."""
    tasks = session.execute(select(Task.idea_id, Task.status).where(Task.account_id == account_id)).all()
    contents = session.execute(select(Content.id, Content.task_id, Content.status)
                               .where(Content.account_id == account_id)).all()
    images: dict[int, list[Image]] = {}
    for image in session.scalars(select(Image).where(Image.account_id == account_id, Image.delete_time.is_(None))
                                 .order_by(Image.content_id, Image.position, Image.id)):
        images.setdefault(image.content_id or 0, []).append(image)
    settles = session.scalars(select(CreditTransaction.job_item_id).where(
        CreditTransaction.account_id == account_id, CreditTransaction.kind == "settle"))
    succeeded = session.scalars(select(JobItem.id).join(Job, Job.id == JobItem.job_id).where(
        Job.account_id == account_id, JobItem.state == "succeeded"))
    return Books(
        task_idea_ids=Counter(r.idea_id for r in tasks), task_statuses={r.status for r in tasks},
        content_task_ids=Counter(r.task_id for r in contents), content_statuses={r.id: r.status for r in contents},
        images=images, settles_per_item=Counter(i or 0 for i in settles), succeeded_items=set(succeeded))


def run_ledger(session: Session, run_id: int) -> int:
    """What the ledger rows of the run's jobs moved, together (reserves, settlements and releases)."""
    jobs = select(Job.id).where(Job.automation_run_id == run_id)
    return int(session.scalar(select(func.coalesce(func.sum(CreditTransaction.amount), 0))
                              .where(CreditTransaction.job_id.in_(jobs))) or 0)


def run_logs(session: Session, run_id: int) -> int:
    """Credits of the run's AI request logs."""
    return int(session.scalar(select(func.coalesce(func.sum(AIRequestLog.credits), 0))
                              .where(AIRequestLog.automation_run_id == run_id)) or 0)


def check_illustrated(channel: grpc.Channel, books: Books, content_ids: list[int]) -> None:
    """Each content has one featured image and in-article images at positions 1..n, all generated,
    with no duplicates, and each file streams as an image of its recorded size and format."""
    for content_id in content_ids:
        images = books.images.get(content_id, [])
        kinds = [i.image_type for i in images]
        assert kinds[:1] == ["featured"] and kinds.count("featured") == 1, (content_id, kinds)
        assert [i.position for i in images if i.image_type == "in_article"] == list(range(1, len(images))), content_id
        assert len(images) > 1, f"content {content_id} has no in-article image"
        assert all(i.status == "generated" and i.prompt for i in images), content_id
        for image in images:
            content_type, data = image_file(channel, image.id)
            with PILImage.open(io.BytesIO(data)) as picture:
                picture.load()
                assert picture.size == (image.width, image.height) == SIZES[image.image_type]
                assert (picture.format or "").lower() == image.format == "png" and content_type == "image/png"
            assert image.file_size == len(data)


@dataclass(frozen=True)
class FirstRun:
    """An account's twenty ideas, the events of its first pipeline run, and its balance around it."""

    owner: Owner
    idea_ids: list[int]
    events: Events
    before: int
    after: int


@pytest.fixture(scope="module")
def first_run(stack: Stack) -> FirstRun:
    """Twenty ideas in two clusters taken through the pipeline, its stream read to the end."""
    owner = bootstrap(stack.env, credits=CREDITS)
    idea_ids = seed_ideas(stack.channel, owner, clusters=2, per_cluster=10)
    before = credits_of(stack.channel, owner)
    started = time.monotonic()
    events = run_pipeline(stack.channel, owner)
    print(f"pipeline: 20 ideas in {time.monotonic() - started:.1f}s, {len(events)} events")
    return FirstRun(owner=owner, idea_ids=idea_ids, events=events, before=before,
                    after=credits_of(stack.channel, owner))


def test_the_pipeline_turns_twenty_ideas_into_twenty_illustrated_contents_in_review(
    stack: Stack, first_run: FirstRun
) -> None:
    events = first_run.events
    check_item_order(events)
    by_stage = summaries(events)
    assert list(by_stage) == [*STAGES, PIPELINE]
    assert {s.state for s in by_stage.values()} == {SUCCEEDED}
    assert all(s.items_failed == s.items_skipped == 0 for s in by_stage.values())
    assert [by_stage[s].items_done for s in STAGES[:3]] == [20, 20, 20]
    with reading(stack.database_url) as session:
        books = read_books(session, first_run.owner.account_id)
    images = sum(len(i) for i in books.images.values())
    assert by_stage[pb.AUTOMATION_STAGE_IMAGE_GENERATION].items_done == images
    assert by_stage[PIPELINE].items_done == 60 + images

    assert books.task_idea_ids == Counter(dict.fromkeys(first_run.idea_ids, 1))
    assert books.task_statuses == {"completed"}
    assert len(books.content_task_ids) == 20 and set(books.content_task_ids.values()) == {1}
    assert set(books.content_statuses.values()) == {"review"}
    stage4 = [s for s in of(events, "item_succeeded") if s.result_kind == pb.AUTOMATION_ITEM_KIND_CONTENT]
    reviewed = [e.item_succeeded.result_id for e in events if e.stage == pb.AUTOMATION_STAGE_IMAGE_GENERATION
                and e.WhichOneof("event") == "item_succeeded" and e.item_succeeded.result_id]
    assert sorted(reviewed) == sorted(books.content_statuses) == sorted({s.result_id for s in stage4})
    check_illustrated(stack.channel, books, sorted(books.content_statuses))


def test_the_pipeline_uses_the_credits_of_its_logs_which_the_ledger_and_the_balance_agree_with(
    stack: Stack, first_run: FirstRun
) -> None:
    final = summaries(first_run.events)[PIPELINE]
    run_id = first_run.events[0].run_id
    with reading(stack.database_url) as session:
        ledger, logs = run_ledger(session, run_id), run_logs(session, run_id)
        books = read_books(session, first_run.owner.account_id)
        left = balance(session, first_run.owner.account_id)
    assert final.credits_used > 0
    assert final.credits_used == logs == -ledger == first_run.before - first_run.after
    assert left == first_run.after
    assert final.credits_used == sum(summaries(first_run.events)[s].credits_used for s in STAGES)
    assert set(books.settles_per_item.values()) == {1}
    assert set(books.settles_per_item) == books.succeeded_items


def test_a_second_pipeline_run_creates_nothing_and_charges_nothing(stack: Stack, first_run: FirstRun) -> None:
    with reading(stack.database_url) as session:
        earlier = read_books(session, first_run.owner.account_id)
    events = run_pipeline(stack.channel, first_run.owner)

    by_stage = summaries(events)
    assert list(by_stage) == [*STAGES, PIPELINE]
    final = by_stage[PIPELINE]
    assert (final.items_done, final.items_failed, final.items_skipped, final.credits_used, final.state) == (
        0, 0, 0, 0, SUCCEEDED)
    assert of(events, "item_started") == []
    assert credits_of(stack.channel, first_run.owner) == first_run.after
    with reading(stack.database_url) as session:
        now = read_books(session, first_run.owner.account_id)
        assert run_logs(session, events[0].run_id) == run_ledger(session, events[0].run_id) == 0
    assert (now.task_idea_ids, now.content_task_ids, now.content_statuses, now.settles_per_item) == (
        earlier.task_idea_ids, earlier.content_task_ids, earlier.content_statuses, earlier.settles_per_item)
    assert {c: [i.id for i in images] for c, images in now.images.items()} == {
        c: [i.id for i in images] for c, images in earlier.images.items()}


def read_until_content_written(call: grpc.Call) -> Events:
    """The events of a pipeline call up to the first content stage 4 wrote."""
    events = []
    for event in call:
        events.append(event)
        if event.stage == pb.AUTOMATION_STAGE_CONTENT_GENERATION and event.WhichOneof("event") == "item_succeeded":
            return events
    raise AssertionError("the pipeline ended before stage 4 wrote anything")


def test_a_pipeline_cancelled_mid_stage_is_finished_by_the_next_run_without_duplicates(stack: Stack) -> None:
    owner = bootstrap(stack.env, credits=CREDITS)
    idea_ids = seed_ideas(stack.channel, owner, clusters=1, per_cluster=12)  # two batches in stage 4
    call = start_pipeline(stack.channel, owner)
    seen = read_until_content_written(call)
    call.cancel()
    run_id = seen[0].run_id
    kept = ended_run(stack.channel, owner, run_id)
    with reading(stack.database_url) as session:
        cut = read_books(session, owner.account_id)
        cut_credits = run_logs(session, run_id)
        assert cut_credits == -run_ledger(session, run_id)
    assert kept.state == CANCELLED and kept.credits_used == cut_credits
    assert sum(cut.task_idea_ids.values()) == 12
    assert 1 <= len(cut.content_task_ids) < 12, "the cancel did not land mid-stage"
    assert cut.images == {}  # stages 5 and 6 never started
    assert credits_of(stack.channel, owner) == CREDITS - cut_credits

    rest = run_pipeline(stack.channel, owner)
    by_stage = summaries(rest)
    assert by_stage[PIPELINE].state == SUCCEEDED
    assert by_stage[pb.AUTOMATION_STAGE_TASK_CREATION].items_done == 0
    assert by_stage[pb.AUTOMATION_STAGE_CONTENT_GENERATION].items_done == 12 - len(cut.content_task_ids)
    assert by_stage[pb.AUTOMATION_STAGE_IMAGE_PROMPTS].items_done == 12
    with reading(stack.database_url) as session:
        books = read_books(session, owner.account_id)
        rest_credits = run_logs(session, rest[0].run_id)
        assert rest_credits == -run_ledger(session, rest[0].run_id) == by_stage[PIPELINE].credits_used
    assert books.task_idea_ids == Counter(dict.fromkeys(idea_ids, 1))
    assert len(books.content_task_ids) == 12 and set(books.content_task_ids.values()) == {1}
    assert set(books.content_statuses.values()) == {"review"}
    check_illustrated(stack.channel, books, sorted(books.content_statuses))
    assert len({i.image_path for images in books.images.values() for i in images}) == sum(
        len(images) for images in books.images.values())
    assert set(books.settles_per_item.values()) == {1}
    assert set(books.settles_per_item) == books.succeeded_items
    assert credits_of(stack.channel, owner) == CREDITS - cut_credits - rest_credits
