"""The keyset condition narrows the index range: what `after` renders for each kind of order."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite

from writer_service.db.models import Content, Task
from writer_service.services.keyset import after

WHEN = datetime(2024, 1, 3, 21, 26, 40, tzinfo=UTC)


def sql(condition: Any, dialect: Any = None) -> str:
    """The condition as SQL, without the casts of its parameters."""
    text = str(condition.compile(dialect=dialect or postgresql.dialect())).replace("\n", " ")
    return re.sub(r"::(VARCHAR|TIMESTAMP WITH TIME ZONE|BIGINT|INTEGER)", "", text)


def test_one_direction_over_not_null_columns_is_a_row_comparison() -> None:
    newest_first = [("create_time", Task.create_time, True), ("id", Task.id, True)]
    assert sql(after(newest_first, [WHEN, 7])) == "(tasks.create_time, tasks.id) < (%(param_1)s, %(param_2)s)"
    oldest_first = [("create_time", Task.create_time, False), ("id", Task.id, False)]
    assert sql(after(oldest_first, [WHEN, 7]), sqlite.dialect()) == "(tasks.create_time, tasks.id) > (?, ?)"


def test_mixed_directions_put_the_first_columns_bound_in_front_of_the_steps() -> None:
    terms = [("title", Task.title, False), ("create_time", Task.create_time, True), ("id", Task.id, True)]
    rendered = sql(after(terms, ["b", WHEN, 7]))
    assert rendered.startswith("tasks.title >= %(title_1)s AND (tasks.title > %(title_2)s OR ")


def test_a_nullable_first_column_keeps_the_steps_alone() -> None:
    terms = [("publish_time", Content.publish_time, False), ("id", Content.id, False)]
    rendered = sql(after(terms, [WHEN, 7]))
    assert rendered.startswith("contents.publish_time > %(publish_time_1)s OR contents.publish_time IS NULL OR ")
    assert sql(after(terms, [None, 7])) == "false OR contents.publish_time IS NULL AND contents.id > %(id_1)s"
