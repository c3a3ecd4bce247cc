"""Taxonomy terms made through the real TaxonomyService, for any test that needs a category or tag."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import grpc
from google.protobuf import struct_pb2

from igny8.writer.v1 import taxonomy_pb2, taxonomy_pb2_grpc

if TYPE_CHECKING:
    from tests.conftest import Tenant

CATEGORY = taxonomy_pb2.TAXONOMY_TYPE_CATEGORY
TAG = taxonomy_pb2.TAXONOMY_TYPE_TAG


def term_message(**fields: Any) -> taxonomy_pb2.TaxonomyTerm:
    """A TaxonomyTerm message: a category with a unique name unless `fields` say otherwise."""
    fields.setdefault("name", f"Term {uuid.uuid4().hex[:10]}")
    fields.setdefault("taxonomy_type", CATEGORY)
    metadata = fields.pop("metadata", None)
    term = taxonomy_pb2.TaxonomyTerm(**fields)
    if metadata is not None:
        struct = struct_pb2.Struct()
        struct.update(metadata)
        term.metadata.CopyFrom(struct)
    return term


async def make_term(channel: grpc.aio.Channel, tenant: Tenant, **fields: Any) -> taxonomy_pb2.TaxonomyTerm:
    """Create a term in the tenant's site and sector (or `site_id` / `sector_id` / `request_id` given
    among `fields`); the other fields are TaxonomyTerm fields, `metadata` a dict."""
    placement = {k: fields.pop(k) for k in ("site_id", "sector_id", "request_id") if k in fields}
    stub = taxonomy_pb2_grpc.TaxonomyServiceStub(channel)
    request = taxonomy_pb2.CreateTaxonomyTermRequest(taxonomy_term=term_message(**fields), **placement)
    response: taxonomy_pb2.TaxonomyTerm = await stub.CreateTaxonomyTerm(request, metadata=tenant.metadata())
    return response
