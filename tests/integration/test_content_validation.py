"""ValidateContent and the editorial transitions: draft -> review -> published, review -> draft."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2

from igny8.writer.v1 import content_pb2, images_pb2
from tests.conftest import Tenant, TenantFactory
from tests.factories.content import (
    META_DESCRIPTION,
    content_stub,
    filler,
    good_html,
    insert_image,
    make_content,
    publishable_fields,
    to_review,
    update_content,
)
from tests.factories.images import image_bytes, make_image, upload_file
from tests.factories.tasks import make_task
from tests.rich import expect_error
from writer_service.db.database import Database

pytestmark = pytest.mark.asyncio(loop_scope="session")

PASS = content_pb2.VALIDATION_OUTCOME_PASS
WARNING = content_pb2.VALIDATION_OUTCOME_WARNING
FAIL = content_pb2.VALIDATION_OUTCOME_FAIL
CODES = ["TITLE", "CONTENT_HTML", "WORD_COUNT", "META_TITLE", "META_DESCRIPTION", "PRIMARY_KEYWORD",
         "KEYWORD_IN_TITLE", "KEYWORD_IN_META_DESCRIPTION", "KEYWORD_IN_INTRODUCTION", "KEYWORD_IN_SUBHEADINGS",
         "KEYWORD_DENSITY", "SINGLE_H1", "SUBHEADING_DISTRIBUTION", "IMAGE_ALT_TEXT", "FEATURED_IMAGE"]


async def validate(channel: grpc.aio.Channel, tenant: Tenant, content_id: int) -> content_pb2.ValidateContentResponse:
    return await content_stub(channel).ValidateContent(content_pb2.ValidateContentRequest(content_id=content_id),
                                                       metadata=tenant.metadata())


def outcomes(report: content_pb2.ValidateContentResponse) -> dict[str, int]:
    return {c.code: c.outcome for c in report.checks}


async def test_validation_returns_every_check_in_a_stable_order(
    channel: grpc.aio.Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    made = await make_content(channel, owner, **publishable_fields())
    report = await validate(channel, owner, made.id)
    assert [c.code for c in report.checks] == CODES
    assert all(c.title for c in report.checks)
    assert [c.code for c in report.checks if c.outcome != PASS] == ["FEATURED_IMAGE"]
    assert report.publishable and 90 <= report.score < 100
    assert all(c.message for c in report.checks if c.outcome != PASS)


# One case per rule: the fields that break it, the check and the outcome it gets.
RULES: list[tuple[str, dict[str, Any], str, int]] = [
    ("title missing", {"title": " "}, "TITLE", FAIL),
    ("no body", {"content_html": "<p></p>"}, "CONTENT_HTML", FAIL),
    ("far too short", {"content_html": "<p>Solar panels are good.</p>"}, "WORD_COUNT", FAIL),
    ("meta title missing", {"meta_title": ""}, "META_TITLE", FAIL),
    ("meta title too short", {"meta_title": "Solar panels"}, "META_TITLE", WARNING),
    ("meta description missing", {"meta_description": ""}, "META_DESCRIPTION", FAIL),
    ("meta description 120 characters", {"meta_description": "solar panels " + "d" * 107}, "META_DESCRIPTION",
     WARNING),
    ("meta description 157 characters", {"meta_description": "solar panels " + "d" * 144}, "META_DESCRIPTION",
     WARNING),
    ("no primary keyword", {"primary_keyword": ""}, "PRIMARY_KEYWORD", WARNING),
    ("keyword not in title", {"title": "Roof power", "meta_title": "Roof power for a small home today"},
     "KEYWORD_IN_TITLE", WARNING),
    ("keyword not in meta description", {"meta_description": META_DESCRIPTION.replace("solar panels", "roofs")},
     "KEYWORD_IN_META_DESCRIPTION", WARNING),
    ("keyword not in first paragraph", {"content_html": f"<p>{filler(20)}</p>" + good_html()},
     "KEYWORD_IN_INTRODUCTION", WARNING),
    ("keyword in no subheading", {"content_html": good_html().replace("<h2>Choosing solar panels", "<h2>Choosing")},
     "KEYWORD_IN_SUBHEADINGS", WARNING),
    ("keyword too rare", {"content_html": f"<p>Solar panels.</p><h2>Solar panels</h2><p>{filler(250)}</p>"
                                          f"<h2>More</h2><p>{filler(250)}</p>"},
     "KEYWORD_DENSITY", WARNING),
    ("keyword stuffed", {"content_html": good_html() + "<p>" + "solar panels " * 40 + "</p>"},
     "KEYWORD_DENSITY", FAIL),
    ("two H1", {"content_html": "<h1>One</h1><h1>Two</h1>" + good_html()}, "SINGLE_H1", FAIL),
    ("wall of text", {"content_html": good_html() + f"<p>{filler(320)}</p>"}, "SUBHEADING_DISTRIBUTION", WARNING),
    ("image without alt", {"content_html": good_html() + '<img src="b.png">'}, "IMAGE_ALT_TEXT", WARNING),
]


@pytest.mark.parametrize(("changes", "code", "expected"), [r[1:] for r in RULES], ids=[r[0] for r in RULES])
async def test_each_rule_reports_its_outcome(channel: grpc.aio.Channel, tenants: TenantFactory,
                                             changes: dict[str, Any], code: str, expected: int) -> None:
    owner = await tenants.account()
    made = await make_content(channel, owner, **publishable_fields(**changes))
    report = await validate(channel, owner, made.id)
    check = next(c for c in report.checks if c.code == code)
    assert check.outcome == expected, check.message
    assert check.message
    assert report.publishable == (expected != FAIL)


async def test_the_word_count_target_comes_from_the_linked_task(
    channel: grpc.aio.Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    task = await make_task(channel, owner, word_count=2000)
    made = await make_content(channel, owner, task_id=task.id, **publishable_fields())
    check = next(c for c in (await validate(channel, owner, made.id)).checks if c.code == "WORD_COUNT")
    assert check.outcome == FAIL and "2000" in check.message


async def test_a_featured_image_passes_once_generated(
    channel: grpc.aio.Channel, tenants: TenantFactory, db: Database
) -> None:
    owner = await tenants.account()
    made = await make_content(channel, owner, **publishable_fields())
    image = await make_image(channel, owner, content_id=made.id, image_type=images_pb2.IMAGE_TYPE_FEATURED)
    assert outcomes(await validate(channel, owner, made.id))["FEATURED_IMAGE"] == WARNING
    await upload_file(channel, owner, image.id, image_bytes())
    report = await validate(channel, owner, made.id)
    assert outcomes(report)["FEATURED_IMAGE"] == PASS and report.score == 100
    other = await make_content(channel, owner, **publishable_fields())
    await insert_image(db, owner, content_id=other.id, image_type="in_article", status="generated")
    assert outcomes(await validate(channel, owner, other.id))["FEATURED_IMAGE"] == WARNING


async def test_validation_changes_nothing_and_sees_only_live_content_in_scope(
    channel: grpc.aio.Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    made = await make_content(channel, owner)
    await validate(channel, owner, made.id)
    got = await content_stub(channel).GetContent(content_pb2.GetContentRequest(id=made.id), metadata=owner.metadata())
    assert got.etag == made.etag
    await expect_error(validate(channel, await tenants.account(), made.id), grpc.StatusCode.NOT_FOUND)
    await content_stub(channel).DeleteContent(content_pb2.DeleteContentRequest(id=made.id), metadata=owner.metadata())
    await expect_error(validate(channel, owner, made.id), grpc.StatusCode.NOT_FOUND)


async def publish(channel: grpc.aio.Channel, tenant: Tenant, content: content_pb2.Content,
                  etag: str = "") -> content_pb2.Content:
    return await content_stub(channel).PublishContent(content_pb2.PublishContentRequest(id=content.id, etag=etag),
                                                      metadata=tenant.metadata())


async def to_draft(channel: grpc.aio.Channel, tenant: Tenant, content: content_pb2.Content) -> content_pb2.Content:
    return await content_stub(channel).ReturnContentToDraft(content_pb2.ReturnContentToDraftRequest(id=content.id),
                                                            metadata=tenant.metadata())


async def test_publishing_goes_through_review_and_stamps_publish_time(
    channel: grpc.aio.Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    made = await make_content(channel, owner, **publishable_fields())
    error = await expect_error(publish(channel, owner, made), grpc.StatusCode.FAILED_PRECONDITION)
    assert error.info.reason == "INVALID_STATE_TRANSITION"
    assert error.detail(error_details_pb2.PreconditionFailure).violations[0].type == "STATE"
    review = await to_review(channel, owner, made)
    assert review.status == content_pb2.CONTENT_STATUS_REVIEW and review.etag != made.etag
    published = await publish(channel, owner, review, etag=review.etag)
    assert published.status == content_pb2.CONTENT_STATUS_PUBLISHED and published.HasField("publish_time")


async def test_publishing_content_that_fails_checks_lists_every_failed_check(
    channel: grpc.aio.Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    made = await make_content(channel, owner, **publishable_fields(meta_description="", meta_title=""))
    review = await to_review(channel, owner, made)
    error = await expect_error(publish(channel, owner, review), grpc.StatusCode.FAILED_PRECONDITION)
    assert error.info.reason == "CONTENT_NOT_PUBLISHABLE"
    violations = error.detail(error_details_pb2.PreconditionFailure).violations
    assert [(v.type, v.subject) for v in violations] == [("VALIDATION", "META_TITLE"),
                                                         ("VALIDATION", "META_DESCRIPTION")]
    assert all(v.description for v in violations)
    fixed = await update_content(channel, owner, review, ["meta_title", "meta_description"],
                                 **{k: v for k, v in publishable_fields().items() if k.startswith("meta_")})
    assert (await publish(channel, owner, fixed)).status == content_pb2.CONTENT_STATUS_PUBLISHED


async def test_review_returns_to_draft_but_published_content_does_not(
    channel: grpc.aio.Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    made = await make_content(channel, owner, **publishable_fields())
    back = await to_draft(channel, owner, await to_review(channel, owner, made))
    assert back.status == content_pb2.CONTENT_STATUS_DRAFT
    published = await publish(channel, owner, await to_review(channel, owner, back))
    for move in (to_draft(channel, owner, published), to_review(channel, owner, published)):
        error = await expect_error(move, grpc.StatusCode.FAILED_PRECONDITION)
        assert error.detail(error_details_pb2.PreconditionFailure).violations[0].type == "STATE"


async def test_asking_for_the_current_status_changes_nothing(
    channel: grpc.aio.Channel, tenants: TenantFactory
) -> None:
    owner = await tenants.account()
    made = await make_content(channel, owner)
    again = await to_draft(channel, owner, made)
    assert (again.status, again.etag) == (content_pb2.CONTENT_STATUS_DRAFT, made.etag)


async def test_transitions_check_the_etag_and_the_scope(channel: grpc.aio.Channel, tenants: TenantFactory) -> None:
    owner = await tenants.account()
    made = await make_content(channel, owner)
    await update_content(channel, owner, made, ["title"], title="changed")
    stale = content_pb2.SubmitContentForReviewRequest(id=made.id, etag=made.etag)
    await expect_error(content_stub(channel).SubmitContentForReview(stale, metadata=owner.metadata()),
                       grpc.StatusCode.ABORTED)
    await expect_error(to_review(channel, await tenants.account(), made), grpc.StatusCode.NOT_FOUND)
    viewer = await tenants.user(owner, "viewer")
    await expect_error(to_review(channel, viewer, made), grpc.StatusCode.PERMISSION_DENIED)
