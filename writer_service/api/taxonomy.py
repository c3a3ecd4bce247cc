"""TaxonomyService: the categories and tags of a site."""

from __future__ import annotations

from typing import TYPE_CHECKING

import grpc
from google.protobuf import empty_pb2

from igny8.writer.v1 import taxonomy_pb2, taxonomy_pb2_grpc
from writer_service.api.convert import from_proto, list_query, present, to_proto
from writer_service.db.models import ContentTaxonomy
from writer_service.services import taxonomy
from writer_service.tenancy.context import current_tenant

if TYPE_CHECKING:
    from writer_service.api.server import Runtime


def term_proto(row: ContentTaxonomy) -> taxonomy_pb2.TaxonomyTerm:
    """The TaxonomyTerm message of a row (the model keeps `metadata` as `term_metadata`)."""
    return to_proto(taxonomy_pb2.TaxonomyTerm, row, metadata=row.term_metadata)


class TaxonomyServicer(taxonomy_pb2_grpc.TaxonomyServiceServicer):
    """Proto in, service call, proto out."""

    def __init__(self, runtime: Runtime) -> None:
        self.db = runtime.db

    async def CreateTaxonomyTerm(  # noqa: N802 - gRPC method name
        self, request: taxonomy_pb2.CreateTaxonomyTermRequest, context: grpc.aio.ServicerContext
    ) -> taxonomy_pb2.TaxonomyTerm:
        values = present(from_proto(request.taxonomy_term, taxonomy.CREATABLE))
        row = await taxonomy.create_term(self.db, current_tenant(), values=values, site_id=request.site_id,
                                         sector_id=request.sector_id, request_id=request.request_id)
        return term_proto(row)

    async def GetTaxonomyTerm(  # noqa: N802 - gRPC method name
        self, request: taxonomy_pb2.GetTaxonomyTermRequest, context: grpc.aio.ServicerContext
    ) -> taxonomy_pb2.TaxonomyTerm:
        return term_proto(await taxonomy.get_term(self.db, current_tenant(), term_id=request.id))

    async def UpdateTaxonomyTerm(  # noqa: N802 - gRPC method name
        self, request: taxonomy_pb2.UpdateTaxonomyTermRequest, context: grpc.aio.ServicerContext
    ) -> taxonomy_pb2.TaxonomyTerm:
        term = request.taxonomy_term
        row = await taxonomy.update_term(self.db, current_tenant(), term_id=term.id, etag=term.etag,
                                         values=from_proto(term, taxonomy.UPDATABLE),
                                         paths=request.update_mask.paths)
        return term_proto(row)

    async def DeleteTaxonomyTerm(  # noqa: N802 - gRPC method name
        self, request: taxonomy_pb2.DeleteTaxonomyTermRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        await taxonomy.delete_term(self.db, current_tenant(), term_id=request.id, etag=request.etag)
        return empty_pb2.Empty()

    async def ListTaxonomyTerms(  # noqa: N802 - gRPC method name
        self, request: taxonomy_pb2.ListTaxonomyTermsRequest, context: grpc.aio.ServicerContext
    ) -> taxonomy_pb2.ListTaxonomyTermsResponse:
        page = await taxonomy.list_terms(self.db, current_tenant(), query=list_query(request))
        return taxonomy_pb2.ListTaxonomyTermsResponse(
            taxonomy_terms=[term_proto(row) for row in page.items], next_page_token=page.next_page_token
        )
