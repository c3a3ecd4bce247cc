"""TaxonomyService through the real gRPC stack, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import grpc
import pytest
from google.protobuf import field_mask_pb2
from google.rpc import error_details_pb2

from igny8.writer.v1 import common_pb2, content_pb2, content_pb2_grpc, taxonomy_pb2, taxonomy_pb2_grpc
from tests.conftest import Tenant, TenantFactory
from tests.factories.taxonomy import CATEGORY, TAG, make_term, term_message
from tests.rich import expect_error
from writer_service.db.database import Database
from writer_service.db.models import Cluster, Content, ContentIdea, ContentTaxonomy, ContentTaxonomyLink, Task
from writer_service.domain.errors import NotFound
from writer_service.services.taxonomy import recount, terms_for_site
from writer_service.tenancy.context import Principal, TenantContext

pytestmark = pytest.mark.asyncio(loop_scope="session")

INVALID = grpc.StatusCode.INVALID_ARGUMENT
EXISTS = grpc.StatusCode.ALREADY_EXISTS


def stub(channel: grpc.aio.Channel) -> taxonomy_pb2_grpc.TaxonomyServiceStub:
    return taxonomy_pb2_grpc.TaxonomyServiceStub(channel)


def create(channel: grpc.aio.Channel, tenant: Tenant, **fields: object) -> grpc.aio.UnaryUnaryCall:
    request = taxonomy_pb2.CreateTaxonomyTermRequest(taxonomy_term=term_message(**fields))
    return stub(channel).CreateTaxonomyTerm(request, metadata=tenant.metadata())


def update(channel: grpc.aio.Channel, tenant: Tenant, term: taxonomy_pb2.TaxonomyTerm,
           *paths: str) -> grpc.aio.UnaryUnaryCall:
    request = taxonomy_pb2.UpdateTaxonomyTermRequest(taxonomy_term=term,
                                                     update_mask=field_mask_pb2.FieldMask(paths=list(paths)))
    return stub(channel).UpdateTaxonomyTerm(request, metadata=tenant.metadata())


async def listing(channel: grpc.aio.Channel, tenant: Tenant, **query: object) -> list[str]:
    request = taxonomy_pb2.ListTaxonomyTermsRequest(**query)
    response = await stub(channel).ListTaxonomyTerms(request, metadata=tenant.metadata())
    return [t.name for t in response.taxonomy_terms]


def violated_fields(error: object) -> set[str]:
    return {v.field for v in error.detail(error_details_pb2.BadRequest).field_violations}  # type: ignore[attr-defined]


def context_of(tenant: Tenant) -> TenantContext:
    return TenantContext(Principal(tenant.user_id, tenant.role, tenant.account_id), tenant.account_id)


# Create


async def test_create_derives_the_slug_from_the_name_and_places_the_term_from_the_headers(
    channel: grpc.aio.Channel, tenants: TenantFactory
) -> None:
    t = await tenants.account()
    term = await make_term(channel, t, name="Running Shoes & Socks!", description="All about shoes",
                           metadata={"source": "test", "n": 2})
    assert term.slug == "running-shoes-socks"
    assert (term.account_id, term.site_id, term.sector_id) == (t.account_id, t.site_id, t.sector_id)
    assert term.taxonomy_type == CATEGORY and term.sync_status == common_pb2.SYNC_STATUS_NATIVE
    assert term.count == 0 and term.parent_id == 0 and term.etag and term.create_time.seconds
    assert term.description == "All about shoes" and dict(term.metadata) == {"source": "test", "n": 2}
    got = await stub(channel).GetTaxonomyTerm(taxonomy_pb2.GetTaxonomyTermRequest(id=term.id), metadata=t.metadata())
    assert got == term


async def test_create_without_headers_falls_back_to_the_active_site_and_its_default_sector(
    channel: grpc.aio.Channel, tenants: TenantFactory
) -> None:
    t = await tenants.account()
    request = taxonomy_pb2.CreateTaxonomyTermRequest(taxonomy_term=term_message())
    term = await stub(channel).CreateTaxonomyTerm(request, metadata=t.metadata(site=False, sector=False))
    assert (term.site_id, term.sector_id) == (t.site_id, t.sector_id)


async def test_create_requires_a_name_and_a_taxonomy_type(channel: grpc.aio.Channel, tenants: TenantFactory) -> None:
    t = await tenants.account()
    error = await expect_error(create(channel, t, name="", taxonomy_type=0), INVALID)
    assert violated_fields(error) == {"taxonomy_term.name", "taxonomy_term.taxonomy_type"}


@pytest.mark.parametrize("slug", ["Upper", "under_score", "sp ace", "é", "a" * 256])
async def test_create_rejects_a_malformed_or_too_long_slug(
    channel: grpc.aio.Channel, tenants: TenantFactory, slug: str
) -> None:
    t = await tenants.account()
    error = await expect_error(create(channel, t, slug=slug), INVALID)
    assert violated_fields(error) == {"taxonomy_term.slug"}


async def test_create_rejects_a_name_from_which_no_slug_can_be_derived(
    channel: grpc.aio.Channel, tenants: TenantFactory
) -> None:
    t = await tenants.account()
    error = await expect_error(create(channel, t, name="!!!"), INVALID)
    assert violated_fields(error) == {"taxonomy_term.slug"}
    assert (await make_term(channel, t, name="!!!", slug="bangs")).slug == "bangs"


async def test_create_rejects_every_field_over_its_limit(channel: grpc.aio.Channel, tenants: TenantFactory) -> None:
    t = await tenants.account()
    error = await expect_error(create(channel, t, name="n" * 256, description="d" * 5001,
                                      external_taxonomy="x" * 65, external_id="1" * 256), INVALID)
    assert violated_fields(error) == {f"taxonomy_term.{f}" for f in
                                      ("name", "description", "external_taxonomy", "external_id")}


async def test_an_external_id_needs_its_taxonomy_and_makes_the_term_imported_by_default(
    channel: grpc.aio.Channel, tenants: TenantFactory
) -> None:
    t = await tenants.account()
    error = await expect_error(create(channel, t, external_id="17"), INVALID)
    assert violated_fields(error) == {"taxonomy_term.external_taxonomy"}
    term = await make_term(channel, t, external_taxonomy="category", external_id="17")
    assert term.sync_status == common_pb2.SYNC_STATUS_IMPORTED
    pending = await make_term(channel, t, external_taxonomy="category", external_id="18",
                              sync_status=common_pb2.SYNC_STATUS_PENDING)
    assert pending.sync_status == common_pb2.SYNC_STATUS_PENDING


async def test_a_viewer_cannot_create_a_term(channel: grpc.aio.Channel, tenants: TenantFactory) -> None:
    viewer = await tenants.account(role="viewer")
    await expect_error(create(channel, viewer), grpc.StatusCode.PERMISSION_DENIED)
    assert await listing(channel, viewer) == []


# Uniqueness


async def test_slug_and_type_are_unique_in_the_site_across_its_sectors(
    channel: grpc.aio.Channel, tenants: TenantFactory
) -> None:
    t = await tenants.account()
    first = await make_term(channel, t, name="Shoes")
    error = await expect_error(create(channel, t, name="Other", slug="shoes"), EXISTS)
    info = error.detail(error_details_pb2.ResourceInfo)
    assert info.resource_name == str(first.id) and error.info.reason == "TAXONOMY_TERM_EXISTS"
    assert error.info.metadata["key"] == "slug+taxonomy_type"
    await expect_error(create(channel, await tenants.sector(t), name="Shoes"), EXISTS)
    assert (await make_term(channel, t, name="Shoes", taxonomy_type=TAG)).slug == "shoes"
    assert (await make_term(channel, await tenants.site(t), name="Shoes")).slug == "shoes"


async def test_external_taxonomy_and_id_are_unique_in_the_site(
    channel: grpc.aio.Channel, tenants: TenantFactory
) -> None:
    t = await tenants.account()
    first = await make_term(channel, t, external_taxonomy="category", external_id="7")
    error = await expect_error(create(channel, t, external_taxonomy="category", external_id="7"), EXISTS)
    assert error.detail(error_details_pb2.ResourceInfo).resource_name == str(first.id)
    assert error.info.metadata["key"] == "external_taxonomy+external_id"
    await make_term(channel, t, external_taxonomy="post_tag", external_id="7", taxonomy_type=TAG)
    await make_term(channel, await tenants.site(t), external_taxonomy="category", external_id="7")
    await make_term(channel, t)  # terms without external ids never collide
    await make_term(channel, t)


async def test_two_identical_creates_racing_make_one_term_and_one_already_exists(
    channel: grpc.aio.Channel, tenants: TenantFactory
) -> None:
    t = await tenants.account()
    for i in range(5):
        fields = {"name": f"Race {i}", "external_taxonomy": "category", "external_id": f"r{i}"}
        results = await asyncio.gather(create(channel, t, **fields), create(channel, t, **fields),
                                       return_exceptions=True)
        made = [r for r in results if isinstance(r, taxonomy_pb2.TaxonomyTerm)]
        failed = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
        assert len(made) == 1 and len(failed) == 1, results
        assert failed[0].code() == EXISTS
    assert len(await listing(channel, t)) == 5


async def test_a_create_retried_with_its_request_id_returns_the_first_term(
    channel: grpc.aio.Channel, tenants: TenantFactory
) -> None:
    t = await tenants.account()
    request_id = str(uuid.uuid4())
    first, second = await asyncio.gather(make_term(channel, t, name="Once", request_id=request_id),
                                         make_term(channel, t, name="Once", request_id=request_id))
    again = await make_term(channel, t, name="Once", request_id=request_id)
    assert first.id == second.id == again.id
    assert await listing(channel, t) == ["Once"]
    await expect_error(stub(channel).CreateTaxonomyTerm(
        taxonomy_pb2.CreateTaxonomyTermRequest(taxonomy_term=term_message(), request_id="nope"),
        metadata=t.metadata()), INVALID)


# Parents


async def test_the_parent_must_be_a_category_of_the_same_site(
    channel: grpc.aio.Channel, tenants: TenantFactory
) -> None:
    t = await tenants.account()
    category, tag = await make_term(channel, t), await make_term(channel, t, taxonomy_type=TAG)
    other_sector = await tenants.sector(t)
    request = taxonomy_pb2.CreateTaxonomyTermRequest(taxonomy_term=term_message(parent_id=category.id),
                                                     sector_id=other_sector.sector_id)
    child = await stub(channel).CreateTaxonomyTerm(request, metadata=t.metadata(sector=False))
    assert (child.parent_id, child.sector_id) == (category.id, other_sector.sector_id)
    # A caller narrowed to the other sector does not see the parent.
    await expect_error(create(channel, other_sector, parent_id=category.id), grpc.StatusCode.NOT_FOUND)
    error = await expect_error(create(channel, t, parent_id=tag.id), INVALID)
    assert violated_fields(error) == {"taxonomy_term.parent_id"}
    await expect_error(create(channel, t, parent_id=category.id, taxonomy_type=TAG), INVALID)
    other_site = await tenants.site(t)
    request = taxonomy_pb2.CreateTaxonomyTermRequest(taxonomy_term=term_message(parent_id=category.id),
                                                     site_id=other_site.site_id)
    await expect_error(stub(channel).CreateTaxonomyTerm(request, metadata=t.metadata(site=False, sector=False)),
                       INVALID)
    await expect_error(create(channel, t, parent_id=10**9), grpc.StatusCode.NOT_FOUND)
    foreign = await make_term(channel, await tenants.account())
    await expect_error(create(channel, t, parent_id=foreign.id), grpc.StatusCode.NOT_FOUND)


async def test_an_update_cannot_make_a_term_its_own_ancestor(channel: grpc.aio.Channel, tenants: TenantFactory) -> None:
    t = await tenants.account()
    root = await make_term(channel, t)
    middle = await make_term(channel, t, parent_id=root.id)
    leaf = await make_term(channel, t, parent_id=middle.id)
    for parent in (leaf.id, middle.id, root.id):
        error = await expect_error(update(channel, t, taxonomy_pb2.TaxonomyTerm(id=root.id, parent_id=parent),
                                          "parent_id"), INVALID)
        assert violated_fields(error) == {"taxonomy_term.parent_id"}
    moved = await update(channel, t, taxonomy_pb2.TaxonomyTerm(id=leaf.id, parent_id=root.id), "parent_id")
    assert moved.parent_id == root.id
    cleared = await update(channel, t, taxonomy_pb2.TaxonomyTerm(id=leaf.id), "parent_id")
    assert cleared.parent_id == 0


# Update


async def test_an_update_changes_only_the_masked_fields_and_renews_the_etag(
    channel: grpc.aio.Channel, tenants: TenantFactory
) -> None:
    t = await tenants.account()
    term = await make_term(channel, t, name="Old", description="keep me")
    changed = await update(channel, t, taxonomy_pb2.TaxonomyTerm(
        id=term.id, etag=term.etag, name="New name", description="ignored", sync_status=common_pb2.SYNC_STATUS_PENDING,
        external_taxonomy="category", external_id="99"), "name", "sync_status", "external_taxonomy", "external_id")
    assert (changed.name, changed.slug, changed.description) == ("New name", "old", "keep me")
    assert (changed.sync_status, changed.external_id) == (common_pb2.SYNC_STATUS_PENDING, "99")
    assert changed.etag != term.etag
    await expect_error(update(channel, t, taxonomy_pb2.TaxonomyTerm(id=term.id, etag=term.etag, name="x"), "name"),
                       grpc.StatusCode.ABORTED)
    rederived = await update(channel, t, taxonomy_pb2.TaxonomyTerm(id=term.id, slug=""), "slug")
    assert rederived.slug == "new-name"
    with_meta = term_message(id=term.id, metadata={"wp": {"count": 3}})
    assert dict(with_meta.metadata) == dict((await update(channel, t, with_meta, "metadata")).metadata)


@pytest.mark.parametrize("paths", [(), ("count",), ("taxonomy_type",), ("etag",), ("nope",)])
async def test_an_update_mask_must_name_updatable_fields(
    channel: grpc.aio.Channel, tenants: TenantFactory, paths: tuple[str, ...]
) -> None:
    t = await tenants.account()
    term = await make_term(channel, t)
    error = await expect_error(update(channel, t, taxonomy_pb2.TaxonomyTerm(id=term.id, count=5), *paths), INVALID)
    assert violated_fields(error) == {"update_mask"}


async def test_an_update_validates_the_values_it_sets(channel: grpc.aio.Channel, tenants: TenantFactory) -> None:
    t = await tenants.account()
    term = await make_term(channel, t)
    cases = [("name", taxonomy_pb2.TaxonomyTerm(name=""), "name"),
             ("slug", taxonomy_pb2.TaxonomyTerm(slug="Bad"), "slug"),
             ("description", taxonomy_pb2.TaxonomyTerm(description="d" * 5001), "description"),
             ("sync_status", taxonomy_pb2.TaxonomyTerm(), "sync_status"),
             ("external_id", taxonomy_pb2.TaxonomyTerm(external_id="5"), "external_taxonomy")]
    for path, message, field in cases:
        message.id = term.id
        error = await expect_error(update(channel, t, message, path), INVALID)
        assert violated_fields(error) == {f"taxonomy_term.{field}"}, path
    got = await stub(channel).GetTaxonomyTerm(taxonomy_pb2.GetTaxonomyTermRequest(id=term.id), metadata=t.metadata())
    assert got == term


async def test_an_update_into_a_taken_slug_or_external_id_is_already_exists(
    channel: grpc.aio.Channel, tenants: TenantFactory
) -> None:
    t = await tenants.account()
    taken = await make_term(channel, t, name="Taken", external_taxonomy="category", external_id="1")
    term = await make_term(channel, t, name="Free")
    error = await expect_error(update(channel, t, taxonomy_pb2.TaxonomyTerm(id=term.id, slug="taken"), "slug"), EXISTS)
    assert error.detail(error_details_pb2.ResourceInfo).resource_name == str(taken.id)
    await expect_error(update(channel, t, taxonomy_pb2.TaxonomyTerm(
        id=term.id, external_taxonomy="category", external_id="1"), "external_taxonomy", "external_id"), EXISTS)
    same = await update(channel, t, taxonomy_pb2.TaxonomyTerm(id=taken.id, slug="taken", name="Taken"), "slug", "name")
    assert same.slug == "taken"


async def test_two_updates_racing_into_the_same_slug_leave_one_already_exists(
    channel: grpc.aio.Channel, tenants: TenantFactory
) -> None:
    t = await tenants.account()
    for i in range(3):
        a, b = await make_term(channel, t), await make_term(channel, t)
        calls = [update(channel, t, taxonomy_pb2.TaxonomyTerm(id=x.id, slug=f"same-{i}"), "slug") for x in (a, b)]
        results = await asyncio.gather(*calls, return_exceptions=True)
        codes = sorted(r.code().name if isinstance(r, grpc.aio.AioRpcError) else "OK" for r in results)
        assert codes == ["ALREADY_EXISTS", "OK"], results


async def test_terms_of_another_account_site_or_sector_cannot_be_read_or_changed(
    channel: grpc.aio.Channel, tenants: TenantFactory
) -> None:
    t = await tenants.account()
    term = await make_term(channel, t)
    get = taxonomy_pb2.GetTaxonomyTermRequest(id=term.id)
    for other in (await tenants.account(), await tenants.site(t), await tenants.sector(t)):
        await expect_error(stub(channel).GetTaxonomyTerm(get, metadata=other.metadata()), grpc.StatusCode.NOT_FOUND)
        await expect_error(update(channel, other, taxonomy_pb2.TaxonomyTerm(id=term.id, name="x"), "name"),
                           grpc.StatusCode.NOT_FOUND)
        await expect_error(stub(channel).DeleteTaxonomyTerm(taxonomy_pb2.DeleteTaxonomyTermRequest(id=term.id),
                                                            metadata=other.metadata()), grpc.StatusCode.NOT_FOUND)
        assert term.name not in await listing(channel, other)
    await expect_error(stub(channel).GetTaxonomyTerm(taxonomy_pb2.GetTaxonomyTermRequest(), metadata=t.metadata()),
                       INVALID)
    assert (await stub(channel).GetTaxonomyTerm(get, metadata=t.metadata())).name == term.name


# Delete


async def test_delete_removes_the_term_unassigns_it_and_clears_what_pointed_at_it(
    channel: grpc.aio.Channel, tenants: TenantFactory, db: Database
) -> None:
    t = await tenants.account()
    term = await make_term(channel, t)
    child = await make_term(channel, t, parent_id=term.id)
    placement = {"account_id": t.account_id, "site_id": t.site_id, "sector_id": t.sector_id}
    async with db.transaction() as session:
        cluster = Cluster(name="c", **placement)
        content = Content(title="c", **placement)
        session.add_all([cluster, content])
        await session.flush()
        task = Task(title="t", cluster_id=cluster.id, taxonomy_term_id=term.id, **placement)
        idea = ContentIdea(title="i", cluster_id=cluster.id, taxonomy_term_id=term.id, **placement)
        session.add_all([task, idea, ContentTaxonomyLink(content_id=content.id, taxonomy_id=term.id)])
    delete = stub(channel).DeleteTaxonomyTerm
    await expect_error(delete(taxonomy_pb2.DeleteTaxonomyTermRequest(id=term.id, etag='W/"999"'),
                              metadata=t.metadata()), grpc.StatusCode.ABORTED)
    await delete(taxonomy_pb2.DeleteTaxonomyTermRequest(id=term.id, etag=term.etag), metadata=t.metadata())
    get = stub(channel).GetTaxonomyTerm
    await expect_error(get(taxonomy_pb2.GetTaxonomyTermRequest(id=term.id), metadata=t.metadata()),
                       grpc.StatusCode.NOT_FOUND)
    assert (await get(taxonomy_pb2.GetTaxonomyTermRequest(id=child.id), metadata=t.metadata())).parent_id == 0
    async with db.read() as session:
        assert await session.get(ContentTaxonomy, term.id) is None
        assert (await session.get(Task, task.id)).taxonomy_term_id is None  # type: ignore[union-attr]
        assert (await session.get(ContentIdea, idea.id)).taxonomy_term_id is None  # type: ignore[union-attr]
        assert await session.get(ContentTaxonomyLink, (content.id, term.id)) is None
        assert await session.get(Content, content.id) is not None
    await expect_error(delete(taxonomy_pb2.DeleteTaxonomyTermRequest(id=term.id), metadata=t.metadata()),
                       grpc.StatusCode.NOT_FOUND)


# List


async def test_list_filters_searches_and_orders_terms(channel: grpc.aio.Channel, tenants: TenantFactory) -> None:
    t = await tenants.account()
    shoes = await make_term(channel, t, name="Shoes")
    await make_term(channel, t, name="Boots", parent_id=shoes.id, external_taxonomy="category", external_id="5")
    await make_term(channel, t, name="Apparel", slug="clothes", taxonomy_type=TAG,
                    sync_status=common_pb2.SYNC_STATUS_PENDING)
    await make_term(channel, await tenants.site(t), name="Elsewhere")
    assert await listing(channel, t) == ["Apparel", "Boots", "Shoes"]
    assert await listing(channel, t, order_by="name desc") == ["Shoes", "Boots", "Apparel"]
    assert await listing(channel, t, filter='taxonomy_type = "tag"') == ["Apparel"]
    assert await listing(channel, t, filter=f"parent_id = {shoes.id}") == ["Boots"]
    assert await listing(channel, t, filter="parent_id = 0") == ["Apparel", "Shoes"]
    assert await listing(channel, t, filter='sync_status = "pending"') == ["Apparel"]
    assert await listing(channel, t, filter='external_taxonomy = "category" AND external_id = "5"') == ["Boots"]
    assert await listing(channel, t, filter='slug = "clothes"') == ["Apparel"]
    assert await listing(channel, t, filter='create_time >= "2000-01-01T00:00:00Z"', order_by="slug") == [
        "Boots", "Apparel", "Shoes"]
    assert await listing(channel, t, search="CLOTH") == ["Apparel"]
    assert await listing(channel, t, search="oo") == ["Boots"]
    for bad in ({"filter": "name = 'x'"}, {"filter": 'taxonomy_type = "genre"'}, {"order_by": "description"},
                {"page_token": "garbage"}, {"page_size": -1}):
        await expect_error(stub(channel).ListTaxonomyTerms(taxonomy_pb2.ListTaxonomyTermsRequest(**bad),
                                                           metadata=t.metadata()), INVALID)


async def test_list_pages_with_tokens_bound_to_the_query(channel: grpc.aio.Channel, tenants: TenantFactory) -> None:
    t = await tenants.account()
    for name in ("a", "b", "c", "d", "e"):
        await make_term(channel, t, name=name)
    names, token = [], ""
    while True:
        request = taxonomy_pb2.ListTaxonomyTermsRequest(page_size=2, page_token=token)
        page = await stub(channel).ListTaxonomyTerms(request, metadata=t.metadata())
        names += [term.name for term in page.taxonomy_terms]
        token = page.next_page_token
        if not token:
            break
        other = taxonomy_pb2.ListTaxonomyTermsRequest(page_size=2, page_token=token, search="a")
        await expect_error(stub(channel).ListTaxonomyTerms(other, metadata=t.metadata()), INVALID)
    assert names == ["a", "b", "c", "d", "e"]


async def test_list_narrows_to_the_site_and_sector_asked_for(channel: grpc.aio.Channel, tenants: TenantFactory) -> None:
    t = await tenants.account()
    other_site, other_sector = await tenants.site(t), await tenants.sector(t)
    await make_term(channel, t, name="here")
    await make_term(channel, other_site, name="there")
    await make_term(channel, other_sector, name="next door")
    headerless = t.metadata(site=False, sector=False)
    page = await stub(channel).ListTaxonomyTerms(taxonomy_pb2.ListTaxonomyTermsRequest(), metadata=headerless)
    assert sorted(term.name for term in page.taxonomy_terms) == ["here", "next door", "there"]
    request = taxonomy_pb2.ListTaxonomyTermsRequest(site_id=t.site_id)
    page = await stub(channel).ListTaxonomyTerms(request, metadata=headerless)
    assert [term.name for term in page.taxonomy_terms] == ["here", "next door"]
    assert await listing(channel, other_sector) == ["next door"]


# Count


async def link(db: Database, t: Tenant, term_ids: list[int], *, deleted: bool = False) -> int:
    """A content row (soft-deleted if asked) linked to the terms; its id."""
    async with db.transaction() as session:
        content = Content(title="linked", account_id=t.account_id, site_id=t.site_id, sector_id=t.sector_id)
        if deleted:
            content.delete_time = datetime.now(UTC)
        session.add(content)
        await session.flush()
        session.add_all([ContentTaxonomyLink(content_id=content.id, taxonomy_id=i) for i in term_ids])
        return content.id


async def test_recount_counts_the_live_contents_linked_to_each_term(
    channel: grpc.aio.Channel, tenants: TenantFactory, db: Database
) -> None:
    t = await tenants.account()
    a, b, idle = [await make_term(channel, t) for _ in range(3)]
    await link(db, t, [a.id, b.id])
    await link(db, t, [a.id])
    await link(db, t, [a.id, b.id], deleted=True)
    async with db.transaction() as session:
        loaded = await session.get(ContentTaxonomy, a.id)
        await recount(session, [a.id, b.id, idle.id, a.id])
        assert loaded is not None and loaded.count == 2  # rows already in the session see the new count
    counts = {}
    for term in (a, b, idle):
        request = taxonomy_pb2.GetTaxonomyTermRequest(id=term.id)
        counts[term.id] = (await stub(channel).GetTaxonomyTerm(request, metadata=t.metadata())).count
    assert counts == {a.id: 2, b.id: 1, idle.id: 0}
    assert await listing(channel, t, order_by="count desc") == [a.name, b.name, idle.name]
    async with db.transaction() as session:
        await recount(session, [])


async def test_terms_for_site_names_every_missing_out_of_scope_or_other_site_term(
    channel: grpc.aio.Channel, tenants: TenantFactory, db: Database
) -> None:
    t = await tenants.account()
    mine, other_site = await make_term(channel, t), await tenants.site(t)
    theirs = await make_term(channel, other_site)
    foreign = await make_term(channel, await tenants.account())
    async with db.read() as session:
        found = await terms_for_site(session, context_of(t), site_id=t.site_id, term_ids=[mine.id, mine.id])
        assert [term.id for term in found] == [mine.id]
        with pytest.raises(NotFound) as caught:
            await terms_for_site(session, context_of(t), site_id=t.site_id,
                                 term_ids=[mine.id, theirs.id, foreign.id, 10**9])
    assert caught.value.metadata["missing_ids"] == f"{theirs.id},{foreign.id},{10**9}"


async def test_the_count_follows_content_through_assignment_deletion_and_undeletion(
    channel: grpc.aio.Channel, tenants: TenantFactory
) -> None:
    t = await tenants.account()
    a, b = await make_term(channel, t), await make_term(channel, t, taxonomy_type=TAG)
    contents = content_pb2_grpc.ContentServiceStub(channel)

    async def counts() -> tuple[int, int]:
        page = await stub(channel).ListTaxonomyTerms(taxonomy_pb2.ListTaxonomyTermsRequest(), metadata=t.metadata())
        by_id = {term.id: term.count for term in page.taxonomy_terms}
        return by_id[a.id], by_id[b.id]

    draft = content_pb2.Content(title="Counted", content_type=common_pb2.CONTENT_TYPE_POST)
    first = await contents.CreateContent(content_pb2.CreateContentRequest(content=draft, taxonomy_term_ids=[a.id]),
                                         metadata=t.metadata())
    second = await contents.CreateContent(content_pb2.CreateContentRequest(content=draft), metadata=t.metadata())
    assert await counts() == (1, 0)
    await contents.SetContentTaxonomy(content_pb2.SetContentTaxonomyRequest(id=second.id,
                                                                            taxonomy_term_ids=[a.id, b.id]),
                                      metadata=t.metadata())
    assert await counts() == (2, 1)
    await contents.SetContentTaxonomy(content_pb2.SetContentTaxonomyRequest(id=first.id), metadata=t.metadata())
    assert await counts() == (1, 1)
    await contents.DeleteContent(content_pb2.DeleteContentRequest(id=second.id), metadata=t.metadata())
    assert await counts() == (0, 0)
    await contents.UndeleteContent(content_pb2.UndeleteContentRequest(id=second.id), metadata=t.metadata())
    assert await counts() == (1, 1)
    foreign = await make_term(channel, await tenants.site(t))
    await expect_error(contents.SetContentTaxonomy(content_pb2.SetContentTaxonomyRequest(
        id=first.id, taxonomy_term_ids=[foreign.id]), metadata=t.metadata()), grpc.StatusCode.NOT_FOUND)
    await stub(channel).DeleteTaxonomyTerm(taxonomy_pb2.DeleteTaxonomyTermRequest(id=a.id), metadata=t.metadata())
    got = await contents.GetContent(content_pb2.GetContentRequest(id=second.id), metadata=t.metadata())
    assert [term.id for term in got.categories] == [] and [term.id for term in got.tags] == [b.id]
