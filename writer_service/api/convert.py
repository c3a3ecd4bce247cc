"""Shared proto <-> Python conversions used by every servicer.

Fields are copied by name: a resource message's field takes the model attribute of the same name.
Enums map to the lowercase strings the database stores (TASK_STATUS_QUEUED <-> "queued").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, TypeVar, cast

from google.protobuf import json_format, struct_pb2
from google.protobuf.descriptor import EnumDescriptor, FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from sqlalchemy import Row

from writer_service.domain.changes import etag_of
from writer_service.domain.errors import InvalidArgument
from writer_service.services.listing import ListQuery

P = TypeVar("P", bound=Message)
_EPOCH = datetime(1970, 1, 1)
_ZERO = timedelta(0)


def timestamp(value: datetime | None) -> Timestamp | None:
    """A proto Timestamp of a datetime, naive ones taken as UTC (None stays unset): what
    Timestamp.FromDatetime gives, in integer arithmetic at a third of its cost."""
    if value is None:
        return None
    since = value.replace(tzinfo=None) - _EPOCH - (value.utcoffset() or _ZERO)
    return Timestamp(seconds=since.days * 86_400 + since.seconds, nanos=value.microsecond * 1000)


@cache
def _enum_prefix(enum: EnumDescriptor) -> str:
    return re.sub(r"(?<!^)(?=[A-Z][a-z])|(?<=[a-z0-9])(?=[A-Z])", "_", enum.name).upper() + "_"


def enum_to_db(enum: EnumDescriptor, number: int) -> str | None:
    """The database string of an enum value; None for UNSPECIFIED."""
    if number == 0:
        return None
    value = enum.values_by_number.get(number)
    if value is None:
        raise InvalidArgument.of(enum.name, f"unknown value {number}")
    return value.name.removeprefix(_enum_prefix(enum)).lower()


def db_to_enum(enum: EnumDescriptor, text: str | None) -> int:
    """The enum number of a database string (UNSPECIFIED for None or unknown)."""
    if not text:
        return 0
    value = enum.values_by_name.get(_enum_prefix(enum) + str(text).upper())
    return value.number if value is not None else 0


def _struct(value: Any) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(value or {})
    return struct


def _converter(field: FieldDescriptor | Any) -> Callable[[Any], Any] | None:
    """How a model value becomes the value of this field (None: as it is)."""
    if field.message_type is not None:
        full = field.message_type.full_name
        if full == "google.protobuf.Timestamp":
            return timestamp
        if full == "google.protobuf.Struct":
            return _struct
        return None
    if field.enum_type is not None:
        # db_to_enum, with the enum's names looked up once.
        prefix = _enum_prefix(field.enum_type)
        numbers = {value.name: value.number for value in field.enum_type.values}

        def number(text: Any) -> int:
            return numbers.get(prefix + str(text).upper(), 0) if text else 0

        if field.is_repeated:
            return lambda values: [number(v) for v in values]
        return number
    return None


_FIELDS: dict[type[Message], tuple[tuple[str, Callable[[Any], Any] | None], ...]] = {}


def _fields(message_class: type[Message]) -> tuple[tuple[str, Callable[[Any], Any] | None], ...]:
    # Worked out once per message class: every response goes through here.
    fields = _FIELDS.get(message_class)
    if fields is None:
        fields = _FIELDS[message_class] = tuple((f.name, _converter(f)) for f in message_class.DESCRIPTOR.fields)
    return fields


def to_proto(message_class: type[P], row: Any, **extra: Any) -> P:
    """A resource message from a model row (an ORM object, a Core row or a dict of its columns):
    same-named attributes, `etag` from `version`, plus extras."""
    # A Core row is read as a dict: by attribute it costs twice as much, more for names it lacks.
    columns: dict[str, Any] | None = row if isinstance(row, dict) else row._asdict() if isinstance(row, Row) else None
    values: dict[str, Any] = {}
    for name, convert in _fields(message_class):
        if name in extra:
            value = extra[name]
        elif columns is not None:
            value = etag_of(columns["version"]) if name == "etag" and "version" in columns else columns.get(name)
        elif name == "etag" and hasattr(row, "version"):
            value = etag_of(row.version)
        else:
            value = getattr(row, name, None)
        if value is not None and convert is not None:
            value = convert(value)
        if value is not None:
            values[name] = value
    return message_class(**values)


def from_proto(message: Message, names: Iterable[str]) -> dict[str, Any]:
    """Plain values of the named fields of a message: enums as database strings (None when
    UNSPECIFIED), Struct as dict, Timestamp as datetime, repeated as list."""
    fields = message.DESCRIPTOR.fields_by_name
    out: dict[str, Any] = {}
    for name in names:
        field = fields.get(name)
        if field is None:
            raise InvalidArgument.of(name, "unknown field")
        value = getattr(message, name)
        if field.message_type is not None:
            full = field.message_type.full_name
            if full == "google.protobuf.Struct":
                out[name] = json_format.MessageToDict(value) if message.HasField(name) else {}
            elif full == "google.protobuf.Timestamp":
                out[name] = value.ToDatetime(tzinfo=UTC) if message.HasField(name) else None
            else:
                out[name] = value
        elif field.enum_type is not None:
            enum = cast(EnumDescriptor, field.enum_type)
            out[name] = [enum_to_db(enum, v) for v in value] if field.is_repeated else enum_to_db(enum, value)
        elif field.is_repeated:
            out[name] = list(value)
        else:
            out[name] = value
    return out


def list_query(request: Any) -> ListQuery:
    """The List parameters of any List request."""
    return ListQuery(
        page_size=request.page_size,
        page_token=request.page_token,
        order_by=request.order_by,
        filter=request.filter,
        search=getattr(request, "search", ""),
        show_deleted=getattr(request, "show_deleted", False),
        site_id=getattr(request, "site_id", 0),
        sector_id=getattr(request, "sector_id", 0),
    )


def present(values: Mapping[str, Any]) -> dict[str, Any]:
    """The values that were set: drop None (UNSPECIFIED enums, unset messages)."""
    return {k: v for k, v in values.items() if v is not None}
