"""Domain errors: each carries the HTTP status and the `detail` the API reports.

The domain raises these without knowing about FastAPI; the HTTP layer turns every
one into FastAPI's `{"detail": ...}` body with the same status.
"""

from __future__ import annotations

from typing import Any


class FakeError(Exception):
    """Base class: `status` and `detail` are exactly what the client receives."""

    status: int = 500

    def __init__(self, detail: Any, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail if isinstance(detail, str) else repr(detail))
        self.detail = detail
        self.headers = headers or {}


class BadRequest(FakeError):
    """400: the request is well-formed JSON but semantically invalid."""

    status = 400


class Unauthorized(FakeError):
    """401: missing, malformed or unknown bearer token."""

    status = 401

    def __init__(self, detail: Any) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(FakeError):
    """403: authenticated, but this principal may not do this (or a bad presigned URL)."""

    status = 403


class NotFound(FakeError):
    """404: an unknown id."""

    status = 404


class Conflict(FakeError):
    """409: illegal in the resource's current state; the detail names that state."""

    status = 409


class Unprocessable(FakeError):
    """422 from the domain itself, for callers that bypass the HTTP schema.

    Over HTTP, FastAPI's request validation answers first, with its list-shaped detail.
    """

    status = 422


class PayloadTooLarge(FakeError):
    """413: inline content over the limit."""

    status = 413


class RangeNotSatisfiable(FakeError):
    """416: a download `Range` outside the stored object."""

    status = 416


class ServiceUnavailable(FakeError):
    """503: a dependency of the real server is not configured (search)."""

    status = 503
