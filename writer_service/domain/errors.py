"""Domain errors: plain exceptions that say what went wrong; each declares the gRPC code it means.

Services raise these and never a gRPC status; the error interceptor in `api` turns them into a
`google.rpc.Status` with an ErrorInfo and the detail of each kind. Codes are names of
`grpc.StatusCode`, kept as strings so this module imports nothing of gRPC.
"""

from __future__ import annotations

from dataclasses import dataclass, field

ERROR_DOMAIN = "writer.igny8"


@dataclass(frozen=True)
class FieldViolation:
    """One bad field of a request: its path (`task.title`, `page_token`, `x-site-id`) and why."""

    field: str
    description: str


@dataclass(frozen=True)
class PreconditionViolation:
    """One unmet precondition: its type (`STATE`, `ACCOUNT`...), the subject and why."""

    type: str
    subject: str
    description: str


@dataclass
class DomainError(Exception):
    """Base of every error the service means to tell its caller about."""

    message: str
    reason: str = "ERROR"
    metadata: dict[str, str] = field(default_factory=dict)

    code: str = field(default="UNKNOWN", init=False)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


@dataclass
class InvalidArgument(DomainError):
    """A field is missing, malformed or out of bounds."""

    violations: list[FieldViolation] = field(default_factory=list)
    reason: str = "INVALID_ARGUMENT"
    code: str = field(default="INVALID_ARGUMENT", init=False)

    @classmethod
    def of(cls, field_path: str, description: str, reason: str = "INVALID_ARGUMENT") -> InvalidArgument:
        """One violation of one field."""
        return cls(
            message=f"{field_path}: {description}",
            violations=[FieldViolation(field_path, description)],
            reason=reason,
            metadata={"field": field_path},
        )


@dataclass
class Unauthenticated(DomainError):
    """No API key, or one the service does not know."""

    reason: str = "UNAUTHENTICATED"
    code: str = field(default="UNAUTHENTICATED", init=False)


@dataclass
class PermissionDenied(DomainError):
    """The caller's role may not do this."""

    reason: str = "PERMISSION_DENIED"
    code: str = field(default="PERMISSION_DENIED", init=False)


@dataclass
class NotFound(DomainError):
    """No such resource, or not within the caller's account, site or sector."""

    resource_type: str = ""
    resource_name: str = ""
    reason: str = "NOT_FOUND"
    code: str = field(default="NOT_FOUND", init=False)

    @classmethod
    def of(cls, resource_type: str, resource_id: object) -> NotFound:
        """The resource `resource_type` with this id cannot be seen by the caller."""
        return cls(
            message=f"{resource_type} {resource_id} not found",
            resource_type=resource_type,
            resource_name=str(resource_id),
            reason=f"{_snake(resource_type)}_NOT_FOUND",
            metadata={"resource_type": resource_type, "id": str(resource_id)},
        )


@dataclass
class AlreadyExists(DomainError):
    """A resource with the same unique key exists already."""

    resource_type: str = ""
    resource_name: str = ""
    reason: str = "ALREADY_EXISTS"
    code: str = field(default="ALREADY_EXISTS", init=False)


@dataclass
class FailedPrecondition(DomainError):
    """The request is well formed but the system is not in a state to do it."""

    violations: list[PreconditionViolation] = field(default_factory=list)
    reason: str = "FAILED_PRECONDITION"
    code: str = field(default="FAILED_PRECONDITION", init=False)


@dataclass
class Aborted(DomainError):
    """A concurrent change won: the etag the caller sent is stale."""

    reason: str = "ETAG_MISMATCH"
    code: str = field(default="ABORTED", init=False)


@dataclass
class InsufficientCredits(DomainError):
    """The account's balance cannot cover the cost of the AI work asked for."""

    required: int = 0
    available: int = 0
    account_id: int = 0
    message: str = ""
    reason: str = "INSUFFICIENT_CREDITS"
    code: str = field(default="RESOURCE_EXHAUSTED", init=False)

    def __post_init__(self) -> None:
        if not self.message:
            self.message = f"insufficient credits: {self.required} required, {self.available} available"
        self.metadata = {
            **self.metadata,
            "required": str(self.required),
            "available": str(self.available),
            "account_id": str(self.account_id),
        }
        super().__post_init__()


@dataclass
class Unimplemented(DomainError):
    """The RPC is part of the contract but has no behaviour yet."""

    method: str = ""
    reason: str = "NOT_IMPLEMENTED"
    code: str = field(default="UNIMPLEMENTED", init=False)


def _snake(name: str) -> str:
    out = "".join(f"_{c}" if c.isupper() and i else c for i, c in enumerate(name))
    return out.upper().replace(" ", "_")
