"""Domain errors: services raise these; the API's exception handler and the HTML views render them.

Each carries a stable `code` a client can branch on and the HTTP status it maps to. A `field` names the
input the person should correct; `extra` adds machine-readable details (e.g. conflicting intervals).
"""

from typing import Any


class DomainError(Exception):
    code = "invalid"
    http_status = 400

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        code: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code
        self.extra = extra or {}

    def as_payload(self) -> dict[str, Any]:
        if self.field:
            payload: dict[str, Any] = {self.field: [self.message]}
        else:
            payload = {"detail": self.message}
        return {**payload, "code": self.code, **self.extra}


class ValidationFailed(DomainError):
    """Bad input a person can fix (400)."""


class NotFound(DomainError):
    code = "not_found"
    http_status = 404


class PermissionDenied(DomainError):
    code = "permission_denied"
    http_status = 403


class Conflict(DomainError):
    """The request is valid but clashes with the current state (409)."""

    code = "conflict"
    http_status = 409


def one_line(error: Exception) -> str:
    """A domain or Django validation error as one line, for commands and logs."""
    from django.core.exceptions import ValidationError

    if isinstance(error, DomainError):
        return f"{error.field}: {error.message}" if error.field else error.message
    if isinstance(error, ValidationError) and hasattr(error, "error_dict"):
        return "; ".join(f"{field}: {' '.join(messages)}" for field, messages in error.message_dict.items())
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error)
