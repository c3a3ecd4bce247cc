"""Model values to message fields: timestamps exactly as Timestamp.FromDatetime makes them.

(That a Core row and an ORM object of one task give one message is shown through the service:
GetTask reads a Core row, CreateTask answers from the ORM object, and tests compare the two.)
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from writer_service.api.convert import timestamp


@pytest.mark.parametrize("value", [
    datetime(2024, 1, 3, 21, 26, 40, 123456, tzinfo=UTC),
    datetime(2024, 1, 3, 21, 26, 40, 999999, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    datetime(2024, 1, 3, 1, 0, 0, 1, tzinfo=timezone(timedelta(hours=-8))),
    datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=UTC),
    datetime(1, 1, 1, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999999),
    datetime(2030, 6, 1, 12, 0, 0),
])
def test_timestamp_is_what_from_datetime_makes(value: datetime) -> None:
    expected = Timestamp()
    expected.FromDatetime(value)
    assert timestamp(value) == expected


def test_timestamp_of_none_stays_unset() -> None:
    assert timestamp(None) is None
