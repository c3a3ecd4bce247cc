"""Rules every change of a resource follows: etags, field masks and input limits."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from writer_service.domain.errors import Aborted, FieldViolation, InvalidArgument

# Input limits, documented in the protos next to each field.
MAX_TITLE = 255
MAX_SLUG = 255
MAX_NAME = 255
MAX_KEYWORDS = 2000
MAX_META_TITLE = 255
MAX_META_DESCRIPTION = 500
MAX_DESCRIPTION = 5000
MAX_HTML_BYTES = 2 * 1024 * 1024
MAX_SECONDARY_KEYWORDS = 50
MAX_WORD_COUNT = 20000
MAX_PROMPT = 4000
MAX_CAPTION = 1000
MAX_URL = 2000  # the protos document 2000 characters for every URL
MAX_EXTERNAL_ID = 255


def etag_of(version: int) -> str:
    """The opaque etag of a row's version."""
    return f'W/"{version}"'


def check_etag(given: str, version: int, *, resource: str, resource_id: int) -> None:
    """ABORTED when the caller's etag is not the row's current one (an empty etag skips the check)."""
    if given and given != etag_of(version):
        raise Aborted(
            message=f"{resource} {resource_id} was changed since it was read: get it again and retry",
            metadata={"resource_type": resource, "id": str(resource_id), "etag": given,
                      "current_etag": etag_of(version)},
        )


def mask_paths(paths: Iterable[str], *, updatable: Iterable[str], read_only: Iterable[str] = ()) -> list[str]:
    """The fields an update mask names, checked: required, known, and not output-only. "*" is all."""
    updatable = list(updatable)
    paths = [p.strip() for p in paths]
    if not paths:
        raise InvalidArgument.of("update_mask", "is required: name the fields to change, or '*'")
    if paths == ["*"]:
        return updatable
    violations = []
    read_only = set(read_only)
    for path in paths:
        if path in read_only:
            violations.append(FieldViolation("update_mask", f"{path!r} is output only and cannot be updated"))
        elif path not in updatable:
            violations.append(FieldViolation("update_mask", f"{path!r} is not an updatable field"))
    if violations:
        raise InvalidArgument(message="; ".join(v.description for v in violations), violations=violations,
                              metadata={"paths": ",".join(paths)})
    return list(dict.fromkeys(paths))


def check_lengths(values: Mapping[str, Any], limits: Mapping[str, int], *, prefix: str = "") -> None:
    """INVALID_ARGUMENT naming every text or list field over its bound."""
    violations = []
    for name, limit in limits.items():
        value = values.get(name)
        if value is None:
            continue
        size = len(value.encode()) if name.endswith("_html") else len(value)
        if size > limit:
            unit = "bytes" if name.endswith("_html") else ("items" if isinstance(value, list) else "characters")
            violations.append(FieldViolation(f"{prefix}{name}", f"must be at most {limit} {unit}"))
    if violations:
        raise InvalidArgument(message="; ".join(f"{v.field} {v.description}" for v in violations),
                              violations=violations)


def require_fields(values: Mapping[str, Any], names: Iterable[str], *, prefix: str = "") -> None:
    """INVALID_ARGUMENT with one violation for each required field that is empty or missing."""
    violations = [FieldViolation(f"{prefix}{n}", "is required") for n in names if not values.get(n)]
    if violations:
        raise InvalidArgument(message="missing required fields: " + ", ".join(v.field for v in violations),
                              violations=violations)


def parse_request_id(request_id: str) -> str | None:
    """A request_id in canonical UUID form, None when absent; INVALID_ARGUMENT when malformed."""
    if not request_id:
        return None
    try:
        return str(uuid.UUID(request_id))
    except ValueError:
        raise InvalidArgument.of("request_id", "must be a UUID") from None
