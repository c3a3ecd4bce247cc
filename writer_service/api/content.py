"""ContentService: proto in, service call, proto out."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, TypeAlias

import grpc

from igny8.writer.v1 import content_pb2, content_pb2_grpc, taxonomy_pb2
from writer_service.api.convert import db_to_enum, from_proto, list_query, present, to_proto
from writer_service.domain.seo import Report
from writer_service.services import content, content_queries, content_workflow, validation
from writer_service.tenancy.context import current_tenant

if TYPE_CHECKING:
    from writer_service.api.server import Runtime

Context: TypeAlias = grpc.aio.ServicerContext
Message: TypeAlias = content_pb2.Content


def content_message(view: content_queries.ContentView) -> content_pb2.Content:
    """A Content message; the derived fields the table does not hold are mapped here."""
    return to_proto(
        content_pb2.Content, view.content, cluster_name=view.cluster_name, sector_name=view.sector_name,
        task_title=view.task_title,
        categories=[to_proto(taxonomy_pb2.TaxonomyTermSummary, t) for t in view.categories],
        tags=[to_proto(taxonomy_pb2.TaxonomyTermSummary, t) for t in view.tags],
        image_status=content_pb2.ImageStatusFlags(**asdict(view.image_status)),
    )


def validation_message(report: Report) -> content_pb2.ValidateContentResponse:
    """The checks of a validation report, outcomes as enum values."""
    outcome = content_pb2.ValidationOutcome.DESCRIPTOR
    checks = [content_pb2.ValidationCheck(code=c.code, title=c.title, outcome=db_to_enum(outcome, c.outcome),
                                          message=c.message) for c in report.checks]
    return content_pb2.ValidateContentResponse(checks=checks, publishable=report.publishable, score=report.score)


class ContentServicer(content_pb2_grpc.ContentServiceServicer):
    """Each method turns its request into plain arguments and its answer into a message."""

    def __init__(self, runtime: Runtime) -> None:
        self.db = runtime.db

    async def CreateContent(self, request: content_pb2.CreateContentRequest, context: Context) -> Message:  # noqa: N802
        view = await content.create_content(
            self.db, current_tenant(), values=present(from_proto(request.content, content.CREATE_FIELDS)),
            site_id=request.site_id, sector_id=request.sector_id, term_ids=list(request.taxonomy_term_ids),
            request_id=request.request_id,
        )
        return content_message(view)

    async def GetContent(self, request: content_pb2.GetContentRequest, context: Context) -> Message:  # noqa: N802
        return content_message(await content_queries.get_content(self.db, current_tenant(), content_id=request.id))

    async def UpdateContent(self, request: content_pb2.UpdateContentRequest, context: Context) -> Message:  # noqa: N802
        view = await content.update_content(
            self.db, current_tenant(), content_id=request.content.id, etag=request.content.etag,
            paths=list(request.update_mask.paths), values=from_proto(request.content, content.UPDATABLE),
        )
        return content_message(view)

    async def DeleteContent(self, request: content_pb2.DeleteContentRequest, context: Context) -> Message:  # noqa: N802
        view = await content.delete_content(self.db, current_tenant(), content_id=request.id, etag=request.etag)
        return content_message(view)

    async def UndeleteContent(self, request: content_pb2.UndeleteContentRequest, context: Context) -> Message:  # noqa: N802
        view = await content.undelete_content(self.db, current_tenant(), content_id=request.id, etag=request.etag)
        return content_message(view)

    async def ListContents(  # noqa: N802
        self, request: content_pb2.ListContentsRequest, context: Context
    ) -> content_pb2.ListContentsResponse:
        views, token = await content_queries.list_contents(self.db, current_tenant(), query=list_query(request))
        return content_pb2.ListContentsResponse(contents=[content_message(v) for v in views], next_page_token=token)

    async def SubmitContentForReview(  # noqa: N802
        self, request: content_pb2.SubmitContentForReviewRequest, context: Context
    ) -> Message:
        view = await content_workflow.submit_for_review(self.db, current_tenant(), content_id=request.id,
                                                        etag=request.etag)
        return content_message(view)

    async def PublishContent(self, request: content_pb2.PublishContentRequest, context: Context) -> Message:  # noqa: N802
        view = await content_workflow.publish(self.db, current_tenant(), content_id=request.id, etag=request.etag)
        return content_message(view)

    async def ReturnContentToDraft(  # noqa: N802
        self, request: content_pb2.ReturnContentToDraftRequest, context: Context
    ) -> Message:
        view = await content_workflow.return_to_draft(self.db, current_tenant(), content_id=request.id,
                                                      etag=request.etag)
        return content_message(view)

    async def SetContentTaxonomy(  # noqa: N802
        self, request: content_pb2.SetContentTaxonomyRequest, context: Context
    ) -> Message:
        view = await content.set_content_taxonomy(self.db, current_tenant(), content_id=request.id,
                                                  term_ids=list(request.taxonomy_term_ids), etag=request.etag)
        return content_message(view)

    async def ValidateContent(  # noqa: N802
        self, request: content_pb2.ValidateContentRequest, context: Context
    ) -> content_pb2.ValidateContentResponse:
        report = await validation.validate_content(self.db, current_tenant(), content_id=request.content_id)
        return validation_message(report)
