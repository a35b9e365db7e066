"""Domain errors with stable machine codes.

Every error the API can return is a subclass of `DomainError` carrying a stable
`code` (``"<domain>.<reason>"``), an HTTP status and the figures that explain it.
Pure modules raise these; `marketplace.http` turns them into RFC 9457 problems.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar


class DomainError(Exception):
    """Base class: a rule was broken. Subclasses pin `code` and `status`."""

    code: ClassVar[str] = "error"
    status: ClassVar[int] = 422
    title: ClassVar[str] = "The request breaks a business rule"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra: Mapping[str, Any] = extra


class ValidationFailed(DomainError):
    code = "validation_failed"
    status = 422
    title = "The request is not valid"


class BadRequest(DomainError):
    code = "bad_request"
    status = 400
    title = "The request could not be read"


class NotAuthenticated(DomainError):
    code = "auth.unauthenticated"
    status = 401
    title = "Authentication required"


class PermissionDenied(DomainError):
    code = "auth.forbidden"
    status = 403
    title = "Your role may not do this"


class NotFound(DomainError):
    code = "not_found"
    status = 404
    title = "Not found"


class Conflict(DomainError):
    code = "conflict"
    status = 409
    title = "The request conflicts with the current state"


class InvalidTransition(Conflict):
    code = "state.invalid_transition"
    title = "That transition is not allowed from the current state"
