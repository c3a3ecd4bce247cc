"""Tenant isolation of references: a caller writing its own rows may not point them at another
tenant's rows, nor slip another tenant's ids into a batch beside its own.

Each request below is sent by the owner of another account, and by the owner narrowed to another
site and to another sector, each about rows of its own scope with one reference to the first
owner's rows. Each is NOT_FOUND naming the foreign resource, and nothing changes: not the caller's
rows, not the first owner's, no job and no ledger row.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
import pytest_asyncio
from google.protobuf import field_mask_pb2
from google.rpc import error_details_pb2

from igny8.writer.v1 import common_pb2, content_pb2, images_pb2, planner_pb2, tasks_pb2, taxonomy_pb2
from tests.conftest import unique
from tests.factories.tenant_rows import TenantRows
from tests.isolation import METHODS, OUTSIDERS, World, attempt, make_world
from writer_service.db.database import Database

T, C, I, X, P = tasks_pb2, content_pb2, images_pb2, taxonomy_pb2, planner_pb2  # noqa: E741
POST, ARTICLE = common_pb2.CONTENT_TYPE_POST, common_pb2.CONTENT_STRUCTURE_ARTICLE
Build = Callable[[TenantRows, TenantRows], Any]  # (the caller's own rows, the owner's rows) -> request


def mask(*paths: str) -> field_mask_pb2.FieldMask:
    """An update mask."""
    return field_mask_pb2.FieldMask(paths=list(paths))


def new_task(o: TenantRows, **fields: Any) -> tasks_pb2.Task:
    """A task of the caller's own cluster."""
    return T.Task(title=unique("task"), cluster_id=o.cluster, content_type=POST, content_structure=ARTICLE, **fields)


# The kinds of rows a request may point at, as NOT_FOUND names them.
RESOURCE = {"cluster": "Cluster", "idea": "ContentIdea", "term": "ContentTaxonomy", "task": "Task",
            "content": "Content", "image": "Image"}
# (label, RPC, request builder, which of the owner's rows it points at: the one NOT_FOUND names)
REFERENCES: list[tuple[str, str, Build, str]] = [
    ("idea", "TasksService.CreateTask", lambda o, r: T.CreateTaskRequest(task=new_task(o, idea_id=r.idea)),
     "idea"),
    ("term", "TasksService.CreateTask",
     lambda o, r: T.CreateTaskRequest(task=new_task(o, taxonomy_term_id=r.term)), "term"),
    ("cluster", "TasksService.UpdateTask", lambda o, r: T.UpdateTaskRequest(
        task=T.Task(id=o.task, cluster_id=r.cluster), update_mask=mask("cluster_id")), "cluster"),
    ("idea", "TasksService.UpdateTask", lambda o, r: T.UpdateTaskRequest(
        task=T.Task(id=o.task, idea_id=r.idea), update_mask=mask("idea_id")), "idea"),
    ("term", "TasksService.UpdateTask", lambda o, r: T.UpdateTaskRequest(
        task=T.Task(id=o.task, taxonomy_term_id=r.term), update_mask=mask("taxonomy_term_id")), "term"),
    ("mixed ids", "TasksService.BatchDeleteTasks",
     lambda o, r: T.BatchDeleteTasksRequest(ids=[o.task, r.task]), "task"),
    ("mixed ids", "TasksService.BatchUpdateTaskStatus", lambda o, r: T.BatchUpdateTaskStatusRequest(
        ids=[o.task, r.task], status=T.TASK_STATUS_COMPLETED), "task"),
    ("mixed ids", "TasksService.AutoGenerateContent",
     lambda o, r: T.AutoGenerateContentRequest(task_ids=[o.task, r.task], wait=True), "task"),
    ("cluster", "ContentService.CreateContent", lambda o, r: C.CreateContentRequest(
        content=C.Content(title=unique("content"), content_type=POST, cluster_id=r.cluster)), "cluster"),
    ("terms", "ContentService.CreateContent", lambda o, r: C.CreateContentRequest(
        content=C.Content(title=unique("content"), content_type=POST), taxonomy_term_ids=[o.term, r.term]),
     "term"),
    ("cluster", "ContentService.UpdateContent", lambda o, r: C.UpdateContentRequest(
        content=C.Content(id=o.content, cluster_id=r.cluster), update_mask=mask("cluster_id")), "cluster"),
    ("terms", "ContentService.SetContentTaxonomy",
     lambda o, r: C.SetContentTaxonomyRequest(id=o.content, taxonomy_term_ids=[o.term, r.term]), "term"),
    ("task", "ImagesService.CreateImage", lambda o, r: I.CreateImageRequest(
        image=I.Image(task_id=r.task, image_type=I.IMAGE_TYPE_IN_ARTICLE)), "task"),
    ("own content, foreign task", "ImagesService.CreateImage", lambda o, r: I.CreateImageRequest(
        image=I.Image(content_id=o.content, task_id=r.task, image_type=I.IMAGE_TYPE_IN_ARTICLE)), "task"),
    ("mixed ids", "ImagesService.BatchDeleteImages",
     lambda o, r: I.BatchDeleteImagesRequest(ids=[o.image, r.image]), "image"),
    ("mixed ids", "ImagesService.GenerateImagePrompts",
     lambda o, r: I.GenerateImagePromptsRequest(content_ids=[o.content, r.content], wait=True), "content"),
    ("mixed image ids", "ImagesService.GenerateImages",
     lambda o, r: I.GenerateImagesRequest(image_ids=[o.image, r.image], wait=True), "image"),
    ("mixed content ids", "ImagesService.GenerateImages",
     lambda o, r: I.GenerateImagesRequest(content_ids=[o.content, r.content], wait=True), "content"),
    ("parent", "TaxonomyService.UpdateTaxonomyTerm", lambda o, r: X.UpdateTaxonomyTermRequest(
        taxonomy_term=X.TaxonomyTerm(id=o.term, parent_id=r.term), update_mask=mask("parent_id")), "term"),
    ("term", "PlannerService.CreateContentIdea", lambda o, r: P.CreateContentIdeaRequest(content_idea=P.ContentIdea(
        cluster_id=o.cluster, title=unique("idea"), taxonomy_term_id=r.term)), "term"),
    ("cluster", "PlannerService.UpdateContentIdea", lambda o, r: P.UpdateContentIdeaRequest(
        content_idea=P.ContentIdea(id=o.idea, cluster_id=r.cluster), update_mask=mask("cluster_id")), "cluster"),
    ("term", "PlannerService.UpdateContentIdea", lambda o, r: P.UpdateContentIdeaRequest(
        content_idea=P.ContentIdea(id=o.idea, taxonomy_term_id=r.term), update_mask=mask("taxonomy_term_id")),
     "term"),
]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(channel: grpc.aio.Channel, db: Database, media_root: Path) -> World:
    """The owner's rows, and rows of every kind in each outsider's own scope, made once per backend."""
    return await make_world(channel, db, media_root, with_own_rows=True)


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.parametrize("caller", OUTSIDERS)
@pytest.mark.parametrize(("label", "name", "build", "foreign"),
                         [pytest.param(*ref, id=f"{ref[1]}-{ref[0]}") for ref in REFERENCES])
async def test_own_row_pointed_at_another_tenants_row_is_not_found_and_changes_nothing(
    world: World, channel: grpc.aio.Channel, db: Database, caller: str, label: str, name: str, build: Build,
    foreign: str,
) -> None:
    request = build(world.own_rows[caller], world.rows)
    answers, error = await attempt(channel, METHODS[name], request, world.callers[caller])
    changed = await world.changes(db)

    assert error is not None, f"{name} ({label}) by {caller} went through: {answers}"
    assert error.code == grpc.StatusCode.NOT_FOUND, f"{name} ({label}) by {caller}: {error.code} {error.message}"
    info = error.detail(error_details_pb2.ResourceInfo)
    assert (info.resource_type, info.resource_name) == (RESOURCE[foreign], str(getattr(world.rows, foreign)))
    assert not changed, f"{name} ({label}) by {caller} changed rows: {changed}"

