"""Tenant isolation across every RPC of the tasks, content, images, taxonomy and planner services.

The RPCs are discovered from the service descriptors, so a new one fails the suite until the table
below has a request for it. Each request aims at rows of one tenant (the owner); it is then sent by
callers who must not reach them: an owner of another account, the owner narrowed by headers to
another site or to another sector, a viewer of the owner's account (reads only) and a caller
without a key. Each gets its status (NOT_FOUND with ResourceInfo outside the scope, an empty page
from a List, PERMISSION_DENIED for a viewer writing, UNAUTHENTICATED without a key; the public
GetImageFile streams the file to anyone), and the database shows that no row of either account
changed or appeared (no job, no ledger row, no AI log) and no media file was written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
import pytest_asyncio
from google.protobuf import descriptor, field_mask_pb2, message
from google.rpc import error_details_pb2

from igny8.writer.v1 import common_pb2, content_pb2, images_pb2, planner_pb2, tasks_pb2, taxonomy_pb2
from tests.conftest import unique
from tests.factories.images import image_bytes, upload_messages
from tests.factories.tenant_rows import TenantRows
from tests.isolation import CALLERS, METHODS, OUTSIDERS, World, access, attempt, is_list, make_world
from tests.rich import RichError
from writer_service.db.database import Database

Code = grpc.StatusCode
POST, ARTICLE = common_pb2.CONTENT_TYPE_POST, common_pb2.CONTENT_STRUCTURE_ARTICLE


def rows_in(answer: message.Message) -> Iterator[tuple[int, int]]:
    """(id, sector_id) of every tenant-owned resource anywhere in a message."""
    present = {field.name: value for field, value in answer.ListFields()}
    if "id" in present and "sector_id" in present:
        yield present["id"], present["sector_id"]
    for field, value in answer.ListFields():
        if field.message_type is None or field.message_type.GetOptions().map_entry:
            continue
        for item in value if field.is_repeated else [value]:
            yield from rows_in(item)


def carries_owner_rows(rows: TenantRows, answers: list[Any]) -> bool:
    """The answer holds at least one of the owner's rows."""
    return any(sector == rows.owner.sector_id for answer in answers for _, sector in rows_in(answer))


def validates_the_content(rows: TenantRows, answers: list[Any]) -> bool:
    """A ValidateContent answer about the owner's content, which is publishable."""
    return bool(answers[0].checks) and answers[0].publishable


def streams_the_file(rows: TenantRows, answers: list[Any]) -> bool:
    """A GetImageFile answer: the bytes of the owner's file."""
    return b"".join(chunk.data for chunk in answers) == rows.file_bytes


@dataclass(frozen=True)
class Case:
    """How to aim one RPC at the owner's rows, what an outsider may be told is not found, and what
    a caller entitled to an answer gets."""

    build: Callable[[TenantRows], Any]
    hidden: frozenset[str] = frozenset()
    served: Callable[[TenantRows, list[Any]], bool] = carries_owner_rows


def case(build: Callable[[TenantRows], Any], *hidden: str,
         served: Callable[[TenantRows, list[Any]], bool] = carries_owner_rows) -> Case:
    """A table entry."""
    return Case(build, frozenset(hidden), served)


def mask(*paths: str) -> field_mask_pb2.FieldMask:
    """An update mask."""
    return field_mask_pb2.FieldMask(paths=list(paths))


def listing(r: TenantRows) -> dict[str, Any]:
    """List arguments naming the owner's site and sector, deleted rows included."""
    return {"site_id": r.owner.site_id, "sector_id": r.owner.sector_id, "show_deleted": True}


T, C, I, X, P = tasks_pb2, content_pb2, images_pb2, taxonomy_pb2, planner_pb2  # noqa: E741
CASES: dict[str, Case] = {
    "TasksService.CreateTask": case(lambda r: T.CreateTaskRequest(task=T.Task(
        title=unique("task"), cluster_id=r.cluster, content_type=POST, content_structure=ARTICLE)), "Cluster"),
    "TasksService.GetTask": case(lambda r: T.GetTaskRequest(id=r.task), "Task"),
    "TasksService.UpdateTask": case(lambda r: T.UpdateTaskRequest(
        task=T.Task(id=r.task, title="renamed"), update_mask=mask("title")), "Task"),
    "TasksService.DeleteTask": case(lambda r: T.DeleteTaskRequest(id=r.task), "Task"),
    "TasksService.UndeleteTask": case(lambda r: T.UndeleteTaskRequest(id=r.deleted_task), "Task"),
    "TasksService.ListTasks": case(lambda r: T.ListTasksRequest(filter=f"cluster_id = {r.cluster}", **listing(r))),
    "TasksService.BatchDeleteTasks": case(lambda r: T.BatchDeleteTasksRequest(ids=[r.task]), "Task"),
    "TasksService.BatchUpdateTaskStatus": case(lambda r: T.BatchUpdateTaskStatusRequest(
        ids=[r.task], status=T.TASK_STATUS_COMPLETED), "Task"),
    "TasksService.AutoGenerateContent": case(lambda r: T.AutoGenerateContentRequest(task_ids=[r.task]), "Task"),
    "ContentService.CreateContent": case(lambda r: C.CreateContentRequest(content=C.Content(
        title=unique("content"), content_type=POST, task_id=r.task)), "Task"),
    "ContentService.GetContent": case(lambda r: C.GetContentRequest(id=r.content), "Content"),
    "ContentService.UpdateContent": case(lambda r: C.UpdateContentRequest(
        content=C.Content(id=r.content, title="renamed"), update_mask=mask("title")), "Content"),
    "ContentService.DeleteContent": case(lambda r: C.DeleteContentRequest(id=r.content), "Content"),
    "ContentService.UndeleteContent": case(lambda r: C.UndeleteContentRequest(id=r.deleted_content), "Content"),
    "ContentService.ListContents": case(lambda r: C.ListContentsRequest(
        filter=f"cluster_id = {r.cluster}", **listing(r))),
    "ContentService.SubmitContentForReview": case(lambda r: C.SubmitContentForReviewRequest(id=r.content),
                                                  "Content"),
    "ContentService.PublishContent": case(lambda r: C.PublishContentRequest(id=r.review_content), "Content"),
    "ContentService.ReturnContentToDraft": case(lambda r: C.ReturnContentToDraftRequest(id=r.review_content),
                                                "Content"),
    "ContentService.SetContentTaxonomy": case(lambda r: C.SetContentTaxonomyRequest(
        id=r.content, taxonomy_term_ids=[r.term]), "Content"),
    "ContentService.ValidateContent": case(lambda r: C.ValidateContentRequest(content_id=r.content), "Content",
                                           served=validates_the_content),
    "ImagesService.CreateImage": case(lambda r: I.CreateImageRequest(image=I.Image(
        content_id=r.content, image_type=I.IMAGE_TYPE_IN_ARTICLE, prompt="a roof")), "Content"),
    "ImagesService.GetImage": case(lambda r: I.GetImageRequest(id=r.image), "Image"),
    "ImagesService.UpdateImage": case(lambda r: I.UpdateImageRequest(
        image=I.Image(id=r.image, alt_text="renamed"), update_mask=mask("alt_text")), "Image"),
    "ImagesService.DeleteImage": case(lambda r: I.DeleteImageRequest(id=r.image), "Image"),
    "ImagesService.UndeleteImage": case(lambda r: I.UndeleteImageRequest(id=r.deleted_image), "Image"),
    "ImagesService.ListImages": case(lambda r: I.ListImagesRequest(filter=f"content_id = {r.content}", **listing(r))),
    "ImagesService.BatchDeleteImages": case(lambda r: I.BatchDeleteImagesRequest(ids=[r.image]), "Image"),
    "ImagesService.ListImagesGroupedByContent": case(lambda r: I.ListImagesGroupedByContentRequest(
        filter=f"content_id = {r.content}", **listing(r))),
    "ImagesService.GetImageFile": case(lambda r: I.GetImageFileRequest(image_id=r.file_image),
                                       served=streams_the_file),
    "ImagesService.UploadImageFile": case(lambda r: upload_messages(r.image, image_bytes("PNG", (4, 3))), "Image"),
    "ImagesService.GenerateImagePrompts": case(lambda r: I.GenerateImagePromptsRequest(content_ids=[r.content]),
                                               "Content"),
    "ImagesService.GenerateImages": case(lambda r: I.GenerateImagesRequest(image_ids=[r.image]), "Image"),
    "TaxonomyService.CreateTaxonomyTerm": case(lambda r: X.CreateTaxonomyTermRequest(taxonomy_term=X.TaxonomyTerm(
        name=unique("Term"), taxonomy_type=X.TAXONOMY_TYPE_CATEGORY, parent_id=r.term)), "ContentTaxonomy"),
    "TaxonomyService.GetTaxonomyTerm": case(lambda r: X.GetTaxonomyTermRequest(id=r.term), "ContentTaxonomy"),
    "TaxonomyService.UpdateTaxonomyTerm": case(lambda r: X.UpdateTaxonomyTermRequest(
        taxonomy_term=X.TaxonomyTerm(id=r.term, name="renamed"), update_mask=mask("name")), "ContentTaxonomy"),
    "TaxonomyService.DeleteTaxonomyTerm": case(lambda r: X.DeleteTaxonomyTermRequest(id=r.term), "ContentTaxonomy"),
    "TaxonomyService.ListTaxonomyTerms": case(lambda r: X.ListTaxonomyTermsRequest(
        filter=f'slug = "{r.term_slug}"', site_id=r.owner.site_id, sector_id=r.owner.sector_id)),
    "PlannerService.CreateCluster": case(lambda r: P.CreateClusterRequest(
        cluster=P.Cluster(name=unique("cluster")), site_id=r.owner.site_id, sector_id=r.owner.sector_id),
        "Site", "Sector"),
    "PlannerService.GetCluster": case(lambda r: P.GetClusterRequest(id=r.cluster), "Cluster"),
    "PlannerService.UpdateCluster": case(lambda r: P.UpdateClusterRequest(
        cluster=P.Cluster(id=r.cluster, name="renamed"), update_mask=mask("name")), "Cluster"),
    "PlannerService.DeleteCluster": case(lambda r: P.DeleteClusterRequest(id=r.cluster), "Cluster"),
    "PlannerService.UndeleteCluster": case(lambda r: P.UndeleteClusterRequest(id=r.deleted_cluster), "Cluster"),
    "PlannerService.ListClusters": case(lambda r: P.ListClustersRequest(search=r.cluster_name, **listing(r))),
    "PlannerService.CreateContentIdea": case(lambda r: P.CreateContentIdeaRequest(content_idea=P.ContentIdea(
        cluster_id=r.cluster, title=unique("idea"))), "Cluster"),
    "PlannerService.GetContentIdea": case(lambda r: P.GetContentIdeaRequest(id=r.idea), "ContentIdea"),
    "PlannerService.UpdateContentIdea": case(lambda r: P.UpdateContentIdeaRequest(
        content_idea=P.ContentIdea(id=r.idea, title="renamed"), update_mask=mask("title")), "ContentIdea"),
    "PlannerService.DeleteContentIdea": case(lambda r: P.DeleteContentIdeaRequest(id=r.idea), "ContentIdea"),
    "PlannerService.UndeleteContentIdea": case(lambda r: P.UndeleteContentIdeaRequest(id=r.deleted_idea),
                                               "ContentIdea"),
    "PlannerService.ListContentIdeas": case(lambda r: P.ListContentIdeasRequest(
        filter=f"cluster_id = {r.cluster}", **listing(r))),
}


def expected_code(method: descriptor.MethodDescriptor, caller: str) -> grpc.StatusCode:
    """What the contract promises this caller of this RPC aimed at the owner's rows."""
    kind = access(method)
    if kind == common_pb2.METHOD_ACCESS_PUBLIC:
        return Code.OK
    if caller == "no key":
        return Code.UNAUTHENTICATED
    if caller == "viewer":
        return Code.OK if kind == common_pb2.METHOD_ACCESS_READ else Code.PERMISSION_DENIED
    return Code.OK if is_list(method) else Code.NOT_FOUND


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(channel: grpc.aio.Channel, db: Database, media_root: Path) -> World:
    """One owner's rows and the callers who must not reach them, made once per backend."""
    return await make_world(channel, db, media_root)


def test_the_table_has_a_request_for_every_rpc_of_the_five_services() -> None:
    assert sorted(CASES) == sorted(METHODS)


@pytest.mark.asyncio(loop_scope="session")
@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("name", list(METHODS))
async def test_caller_outside_the_owners_scope_gets_its_status_and_changes_no_row(
    world: World, channel: grpc.aio.Channel, db: Database, name: str, caller: str
) -> None:
    method, entry = METHODS[name], CASES[name]
    expected = expected_code(method, caller)
    answers, error = await attempt(channel, method, entry.build(world.rows), world.callers[caller])
    changed = await world.changes(db)

    code = error.code if error else Code.OK
    assert code == expected, f"{name} by {caller}: {code} {error.message if error else answers}"
    assert not changed, f"{name} by {caller} changed rows: {changed}"
    if error is None:
        check_answer(world.rows, method, entry, caller, answers)
    else:
        check_error(entry, error)


def check_answer(rows: TenantRows, method: descriptor.MethodDescriptor, entry: Case, caller: str,
                 answers: list[Any]) -> None:
    """The viewer (and, for the public file, anyone) gets the owner's rows; a List of an outsider is
    an empty page."""
    if caller in OUTSIDERS and access(method) != common_pb2.METHOD_ACCESS_PUBLIC:
        assert all(answer == type(answer)() for answer in answers), f"{method.name} by {caller}: {answers}"
    else:
        assert entry.served(rows, answers), f"{method.name} by {caller} did not get the owner's rows"


def check_error(entry: Case, error: RichError) -> None:
    """NOT_FOUND names one of the resources aimed at; the others say why the caller was refused."""
    if error.code == Code.NOT_FOUND:
        assert error.detail(error_details_pb2.ResourceInfo).resource_type in entry.hidden
    elif error.code == Code.PERMISSION_DENIED:
        assert error.info.reason == "READ_ONLY_ROLE"
    else:
        assert error.info.reason == "API_KEY_MISSING"
