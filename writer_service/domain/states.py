"""The allowed state transitions of tasks, content, images and jobs: the one place they live."""

from __future__ import annotations

from writer_service.domain.errors import FailedPrecondition, PreconditionViolation

TASK_TRANSITIONS: dict[str, frozenset[str]] = {
    "queued": frozenset({"completed"}),
    "completed": frozenset(),
}

CONTENT_TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"review"}),
    "review": frozenset({"published", "draft"}),
    "published": frozenset(),
}

IMAGE_TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"generated", "failed"}),
    # A failed image may be tried again (pending), or get its file from a later generation or upload.
    "failed": frozenset({"pending", "generated"}),
    "generated": frozenset(),
}

JOB_TRANSITIONS: dict[str, frozenset[str]] = {
    "pending": frozenset({"running", "succeeded", "failed", "cancelled"}),
    "running": frozenset({"succeeded", "failed", "cancelled"}),
    "succeeded": frozenset(),
    "failed": frozenset(),
    "cancelled": frozenset(),
}

_MACHINES = {
    "Task": TASK_TRANSITIONS,
    "Content": CONTENT_TRANSITIONS,
    "Image": IMAGE_TRANSITIONS,
    "Job": JOB_TRANSITIONS,
}


def can_transition(resource: str, current: str, target: str) -> bool:
    """Whether `resource` may move from `current` to `target` (staying put is always allowed)."""
    return current == target or target in _MACHINES[resource].get(current, frozenset())


def check_transition(resource: str, resource_id: int, current: str, target: str) -> None:
    """FAILED_PRECONDITION with a PreconditionFailure when the move is not allowed."""
    if can_transition(resource, current, target):
        return
    allowed = sorted(_MACHINES[resource].get(current, frozenset()))
    raise FailedPrecondition(
        message=f"{resource} {resource_id} cannot move from {current} to {target}"
        + (f" (allowed: {', '.join(allowed)})" if allowed else f" ({current} is final)"),
        reason="INVALID_STATE_TRANSITION",
        violations=[PreconditionViolation("STATE", f"{resource.lower()}/{resource_id}",
                                          f"{current} -> {target} is not allowed")],
        metadata={"resource_type": resource, "id": str(resource_id), "from": current, "to": target},
    )
