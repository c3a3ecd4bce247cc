"""ContentService: updates (field mask, etag, limits), soft delete and undelete, taxonomy assignment."""

from __future__ import annotations

import grpc
import pytest
from google.rpc import error_details_pb2

from igny8.writer.v1 import common_pb2, content_pb2, taxonomy_pb2, taxonomy_pb2_grpc
from tests.conftest import Tenant, TenantFactory
from tests.factories.content import content_stub, make_content, update_content
from tests.factories.planner import make_cluster
from tests.factories.taxonomy import TAG, make_term
from tests.rich import expect_error

pytestmark = pytest.mark.asyncio(loop_scope="session")

INVALID = grpc.StatusCode.INVALID_ARGUMENT


def fields_of(error: object) -> list[str]:
    return [v.field for v in error.detail(error_details_pb2.BadRequest).field_violations]  # type: ignore[attr-defined]


async def test_update_changes_only_the_masked_fields_and_rederives_the_word_count(
    channel: grpc.aio.Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    made = await make_content(channel, owner, title="Old", meta_title="Old meta", content_html="<p>one two</p>")
    updated = await update_content(channel, owner, made, ["title", "content_html", "secondary_keywords"],
                                   title="New", meta_title="ignored", content_html="<p>one two three</p>",
                                   secondary_keywords=["x"], word_count=50)
    assert (updated.title, updated.meta_title, updated.word_count) == ("New", "Old meta", 3)
    assert list(updated.secondary_keywords) == ["x"]
    assert updated.etag != made.etag and updated.update_time.ToDatetime() >= made.update_time.ToDatetime()


async def test_update_with_a_stale_etag_is_aborted(channel: grpc.aio.Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    made = await make_content(channel, owner)
    await update_content(channel, owner, made, ["title"], title="First")
    error = await expect_error(update_content(channel, owner, made, ["title"], title="Second"),
                               grpc.StatusCode.ABORTED)
    assert error.info.reason == "ETAG_MISMATCH"
    assert (await update_content(channel, owner, made, ["title"], title="Third", etag="")).title == "Third"


@pytest.mark.parametrize("path", ["word_count", "cluster_name", "categories", "image_status", "etag", "site_id"])
async def test_output_only_fields_cannot_be_updated(channel: grpc.aio.Channel, tenants: TenantFactory,
                                                    path: str) -> None:
    owner = await tenants.account()
    made = await make_content(channel, owner)
    error = await expect_error(update_content(channel, owner, made, [path]), INVALID)
    assert fields_of(error) == ["update_mask"]


@pytest.mark.parametrize("path", ["status", "source", "task_id", "publish_time", "no_such_field"])
async def test_create_only_and_unknown_fields_cannot_be_updated(channel: grpc.aio.Channel, tenants: TenantFactory,
                                                                path: str) -> None:
    owner = await tenants.account()
    made = await make_content(channel, owner)
    await expect_error(update_content(channel, owner, made, [path]), INVALID)


async def test_update_needs_a_mask_and_cannot_empty_required_fields(
    channel: grpc.aio.Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    made = await make_content(channel, owner)
    assert fields_of(await expect_error(update_content(channel, owner, made, []), INVALID)) == ["update_mask"]
    error = await expect_error(update_content(channel, owner, made, ["title", "content_type", "sync_status"],
                                              title="", content_type=0), INVALID)
    assert fields_of(error) == ["content.title", "content.content_type", "content.sync_status"]


async def test_update_checks_input_limits(channel: grpc.aio.Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    made = await make_content(channel, owner)
    error = await expect_error(update_content(channel, owner, made, ["meta_description"],
                                              meta_description="d" * 501), INVALID)
    assert fields_of(error) == ["content.meta_description"]


async def test_update_rechecks_the_cluster_and_0_clears_it(channel: grpc.aio.Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    cluster = await make_cluster(channel, owner)
    made = await make_content(channel, owner)
    with_cluster = await update_content(channel, owner, made, ["cluster_id"], cluster_id=cluster.id)
    assert (with_cluster.cluster_id, with_cluster.cluster_name) == (cluster.id, cluster.name)
    foreign = await make_cluster(channel, await tenants.account())
    await expect_error(update_content(channel, owner, with_cluster, ["cluster_id"], cluster_id=foreign.id),
                       grpc.StatusCode.NOT_FOUND)
    cleared = await update_content(channel, owner, with_cluster, ["cluster_id"], cluster_id=0)
    assert (cleared.cluster_id, cleared.cluster_name) == (0, "")


async def test_changing_synced_content_marks_it_pending(channel: grpc.aio.Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    made = await make_content(channel, owner, source=content_pb2.CONTENT_SOURCE_WORDPRESS,
                              sync_status=common_pb2.SYNC_STATUS_SYNCED, external_id="7")
    changed = await update_content(channel, owner, made, ["meta_title"], meta_title="Better")
    assert changed.sync_status == common_pb2.SYNC_STATUS_PENDING
    told = await update_content(channel, owner, changed, ["sync_status"], sync_status=common_pb2.SYNC_STATUS_SYNCED)
    assert told.sync_status == common_pb2.SYNC_STATUS_SYNCED


async def delete(channel: grpc.aio.Channel, tenant: Tenant, content_id: int, etag: str = "") -> content_pb2.Content:
    return await content_stub(channel).DeleteContent(content_pb2.DeleteContentRequest(id=content_id, etag=etag),
                                                     metadata=tenant.metadata())


async def undelete(channel: grpc.aio.Channel, tenant: Tenant, content_id: int, etag: str = "") -> content_pb2.Content:
    return await content_stub(channel).UndeleteContent(content_pb2.UndeleteContentRequest(id=content_id, etag=etag),
                                                       metadata=tenant.metadata())


async def test_delete_is_soft_and_undelete_restores(channel: grpc.aio.Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    made = await make_content(channel, owner)
    await expect_error(delete(channel, owner, made.id, etag='W/"99"'), grpc.StatusCode.ABORTED)
    deleted = await delete(channel, owner, made.id, etag=made.etag)
    assert deleted.HasField("delete_time")
    got = await content_stub(channel).GetContent(content_pb2.GetContentRequest(id=made.id), metadata=owner.metadata())
    assert got.HasField("delete_time")  # GetContent shows deleted content
    await expect_error(delete(channel, owner, made.id), grpc.StatusCode.NOT_FOUND)
    await expect_error(update_content(channel, owner, deleted, ["title"], title="x"), grpc.StatusCode.NOT_FOUND)
    restored = await undelete(channel, owner, made.id, etag=deleted.etag)
    assert not restored.HasField("delete_time")
    error = await expect_error(undelete(channel, owner, made.id), grpc.StatusCode.FAILED_PRECONDITION)
    assert error.detail(error_details_pb2.PreconditionFailure).violations[0].type == "STATE"


async def test_delete_and_undelete_of_another_account_are_not_found(
    channel: grpc.aio.Channel, tenants: TenantFactory
) -> None:
    owner, stranger = await tenants.account(), await tenants.account()
    made = await make_content(channel, owner)
    await expect_error(delete(channel, stranger, made.id), grpc.StatusCode.NOT_FOUND)
    await delete(channel, owner, made.id)
    await expect_error(undelete(channel, stranger, made.id), grpc.StatusCode.NOT_FOUND)


async def set_terms(channel: grpc.aio.Channel, tenant: Tenant, content: content_pb2.Content, term_ids: list[int],
                    etag: str = "") -> content_pb2.Content:
    request = content_pb2.SetContentTaxonomyRequest(id=content.id, taxonomy_term_ids=term_ids, etag=etag)
    return await content_stub(channel).SetContentTaxonomy(request, metadata=tenant.metadata())


async def term_count(channel: grpc.aio.Channel, tenant: Tenant, term_id: int) -> int:
    stub = taxonomy_pb2_grpc.TaxonomyServiceStub(channel)
    term = await stub.GetTaxonomyTerm(taxonomy_pb2.GetTaxonomyTermRequest(id=term_id), metadata=tenant.metadata())
    return term.count


async def test_set_taxonomy_replaces_the_terms_and_a_new_etag_follows(
    channel: grpc.aio.Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    category, tag, other = (await make_term(channel, owner), await make_term(channel, owner, taxonomy_type=TAG),
                            await make_term(channel, owner))
    made = await make_content(channel, owner, taxonomy_term_ids=[category.id])
    changed = await set_terms(channel, owner, made, [tag.id, other.id, tag.id], etag=made.etag)
    assert sorted(t.id for t in changed.categories) == [other.id] and [t.id for t in changed.tags] == [tag.id]
    assert changed.etag != made.etag
    await expect_error(set_terms(channel, owner, made, [], etag=made.etag), grpc.StatusCode.ABORTED)
    cleared = await set_terms(channel, owner, changed, [])
    assert not cleared.categories and not cleared.tags


async def test_set_taxonomy_refuses_terms_of_another_site_or_too_many(
    channel: grpc.aio.Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    made = await make_content(channel, owner)
    foreign = await make_term(channel, await tenants.site(owner))
    await expect_error(set_terms(channel, owner, made, [foreign.id]), grpc.StatusCode.NOT_FOUND)
    error = await expect_error(set_terms(channel, owner, made, list(range(1, 102))), INVALID)
    assert fields_of(error) == ["taxonomy_term_ids"]


async def test_term_counts_follow_assignment_deletion_and_restoration(
    channel: grpc.aio.Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    first, second = await make_term(channel, owner), await make_term(channel, owner)
    one = await make_content(channel, owner, taxonomy_term_ids=[first.id])
    two = await make_content(channel, owner, taxonomy_term_ids=[first.id, second.id])
    assert (await term_count(channel, owner, first.id), await term_count(channel, owner, second.id)) == (2, 1)
    await set_terms(channel, owner, one, [second.id])
    assert (await term_count(channel, owner, first.id), await term_count(channel, owner, second.id)) == (1, 2)
    await delete(channel, owner, two.id)
    assert (await term_count(channel, owner, first.id), await term_count(channel, owner, second.id)) == (0, 1)
    await undelete(channel, owner, two.id)
    assert (await term_count(channel, owner, first.id), await term_count(channel, owner, second.id)) == (1, 2)


async def test_a_viewer_cannot_change_content(channel: grpc.aio.Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    viewer = await tenants.user(owner, "viewer")
    made = await make_content(channel, owner)
    await expect_error(update_content(channel, viewer, made, ["title"], title="x"), grpc.StatusCode.PERMISSION_DENIED)
    await expect_error(delete(channel, viewer, made.id), grpc.StatusCode.PERMISSION_DENIED)
    await expect_error(set_terms(channel, viewer, made, []), grpc.StatusCode.PERMISSION_DENIED)
