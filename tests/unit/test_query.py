"""The List query language and page tokens, without I/O."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from writer_service.domain.changes import check_etag, etag_of, mask_paths, parse_request_id
from writer_service.domain.errors import Aborted, InvalidArgument
from writer_service.domain.query import Comparison, OrderTerm, page_size, parse_filter, parse_order_by
from writer_service.services.listing import decode_token, encode_token


def test_filter_parses_a_conjunction_of_typed_comparisons() -> None:
    text = 'status = "queued" AND cluster_id = 12 AND create_time >= "2026-01-01T00:00:00Z" AND x != true'
    assert parse_filter(text) == [
        Comparison("status", "=", "queued"),
        Comparison("cluster_id", "=", 12),
        Comparison("create_time", ">=", "2026-01-01T00:00:00Z"),
        Comparison("x", "!=", True),
    ]


def test_filter_unescapes_quoted_strings() -> None:
    assert parse_filter(r'title = "say \"hi\""') == [Comparison("title", "=", 'say "hi"')]


@pytest.mark.parametrize("text", ['status =', "status queued", "= 3", "a = 1 b = 2", 'a = "x', "a = unquoted", "a ~ 1"])
def test_filter_that_does_not_parse_is_invalid_argument_on_filter(text: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_filter(text)
    assert caught.value.violations[0].field == "filter"


def test_order_by_parses_fields_and_directions() -> None:
    assert parse_order_by("create_time desc, title") == [OrderTerm("create_time", True), OrderTerm("title", False)]


@pytest.mark.parametrize("text", ["title sideways", "a b c"])
def test_bad_order_by_is_invalid_argument(text: str) -> None:
    with pytest.raises(InvalidArgument):
        parse_order_by(text)


def test_page_size_defaults_to_50_and_is_coerced_to_500() -> None:
    assert (page_size(0), page_size(7), page_size(501), page_size(10_000)) == (50, 7, 500, 500)


def test_negative_page_size_is_invalid() -> None:
    with pytest.raises(InvalidArgument):
        page_size(-1)


def test_page_token_round_trips_its_values() -> None:
    moment = datetime(2026, 5, 1, 12, 30, tzinfo=UTC)
    token = encode_token("abc", [moment, "title", 42])
    assert decode_token(token, "abc", 3) == [moment, "title", 42]


def test_page_token_of_another_query_is_invalid() -> None:
    token = encode_token("abc", [1])
    with pytest.raises(InvalidArgument) as caught:
        decode_token(token, "other", 1)
    assert caught.value.violations[0].field == "page_token"


@pytest.mark.parametrize("token", ["garbage!", "e30", "bm90IGpzb24"])
def test_garbage_page_token_is_invalid(token: str) -> None:
    with pytest.raises(InvalidArgument):
        decode_token(token, "abc", 1)


def test_stale_etag_is_aborted_and_empty_skips() -> None:
    check_etag("", 3, resource="Task", resource_id=1)
    check_etag(etag_of(3), 3, resource="Task", resource_id=1)
    with pytest.raises(Aborted):
        check_etag(etag_of(2), 3, resource="Task", resource_id=1)


def test_mask_rejects_output_only_and_unknown_paths() -> None:
    assert mask_paths(["title"], updatable=["title", "keywords"]) == ["title"]
    assert mask_paths(["*"], updatable=["title", "keywords"]) == ["title", "keywords"]
    with pytest.raises(InvalidArgument):
        mask_paths([], updatable=["title"])
    with pytest.raises(InvalidArgument) as caught:
        mask_paths(["id", "nope"], updatable=["title"], read_only=["id"])
    assert len(caught.value.violations) == 2


def test_request_id_must_be_a_uuid() -> None:
    assert parse_request_id("") is None
    assert parse_request_id("0C4E3A1E-52B9-4C3A-9A55-2F0E2B1C9D11") == "0c4e3a1e-52b9-4c3a-9a55-2f0e2b1c9d11"
    with pytest.raises(InvalidArgument):
        parse_request_id("retry-1")
