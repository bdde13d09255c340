"""The exception tree, and the mapping from an HTTP response to the right exception.

Every error the SDK raises is a ``ChronicleError``. Non-2xx responses become an
``APIError`` subclass chosen by status code; failures before any response arrives
(refused connection, DNS, timeout) become ``APIConnectionError``.

    try:
        chronicle.experiments.commit(exp_id)
    except methodic.ConflictError as err:
        print(err.status_code, err.message, err.request_id)
"""

from __future__ import annotations

import json
from typing import Any

import httpx2

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ChronicleError",
    "ConflictError",
    "IntegrityError",
    "NotFoundError",
    "PermissionDeniedError",
    "ServerError",
    "UploadError",
    "error_from_response",
]


class ChronicleError(Exception):
    """Base class of every exception methodic raises."""


class APIError(ChronicleError):
    """Chronicle (or presigned storage) answered with a non-2xx status.

    Attributes:
        status_code: the HTTP status.
        message: a readable message, taken from the body's ``detail`` when present.
        body: the decoded JSON body, or its text when it is not JSON.
        request_id: the ``x-request-id`` response header, when the server sent one.
        response: the ``httpx2.Response`` itself.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        body: Any = None,
        request_id: str | None = None,
        response: httpx2.Response | None = None,
    ) -> None:
        self.message = message
        self.status_code = status_code
        self.body = body
        self.request_id = request_id
        self.response = response
        super().__init__(_describe(status_code, message, request_id))

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only fields defeat Exception's default pickling (it replays args);
        # the response is dropped: it holds a connection-bound stream.
        return (
            _rebuild_api_error,
            (type(self), self.message, self.status_code, self.body, self.request_id),
        )


def _rebuild_api_error(
    cls: type[APIError], message: str, status_code: int, body: Any, request_id: str | None
) -> APIError:
    return cls(message, status_code=status_code, body=body, request_id=request_id)


class BadRequestError(APIError):
    """400 or 422: the request was malformed or failed validation."""


class AuthenticationError(APIError):
    """401: the token is missing, malformed or unknown."""


class PermissionDeniedError(APIError):
    """403: the token is valid but may not do this (or a presigned URL was refused)."""


class NotFoundError(APIError):
    """404: no such resource."""


class ConflictError(APIError):
    """409: the resource is in a state that forbids this call."""


class ServerError(APIError):
    """5xx: the server failed, or (503) a feature such as search is not configured."""


class APIConnectionError(ChronicleError):
    """No response arrived: connection refused or reset, DNS failure, protocol error.

    The underlying ``httpx2`` exception is chained as ``__cause__``.
    """


class APITimeoutError(APIConnectionError):
    """The request timed out (connect, read, write or pool timeout)."""


class UploadError(ChronicleError):
    """An asset upload could not complete (for example the local file changed)."""


class IntegrityError(ChronicleError):
    """Downloaded bytes do not match the sha256 the asset recorded."""


_STATUS_CLASSES: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: BadRequestError,
}


def error_from_response(response: httpx2.Response, *, redact: str | None = None) -> APIError:
    """Build the typed exception for a non-2xx ``response`` (whose body has been read).

    Every occurrence of ``redact`` (the API key) in the body is replaced before the
    body is parsed, so a server or proxy that echoes the token cannot put it into the
    exception's message or ``body``.
    """
    status = response.status_code
    body = _decode_body(response, redact)
    cls = _STATUS_CLASSES.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else APIError
    return cls(
        _message_from_body(body, response),
        status_code=status,
        body=body,
        request_id=response.headers.get("x-request-id"),
        response=response,
    )


def _decode_body(response: httpx2.Response, redact: str | None) -> Any:
    if not response.content:
        return None
    text = response.text
    if redact and redact in text:
        text = text.replace(redact, "<redacted>")
    try:
        return json.loads(text)
    except ValueError:
        return text


def _message_from_body(body: Any, response: httpx2.Response) -> str:
    if isinstance(body, dict) and "detail" in body:
        detail = body["detail"]
        if isinstance(detail, str):
            return detail
        if isinstance(detail, list):
            # FastAPI's 422 body: [{"loc": ["body", "title"], "msg": "Field required"}, ...]
            return "; ".join(_format_problem(problem) for problem in detail)
        return json.dumps(detail)
    if isinstance(body, str) and body.strip():
        # Cap it: an HTML error page from a proxy should not swamp the message.
        text = body.strip()
        return text if len(text) <= 300 else text[:300] + "…"
    return response.reason_phrase or "HTTP error"


def _format_problem(problem: Any) -> str:
    if isinstance(problem, dict) and "msg" in problem:
        loc = problem.get("loc")
        if isinstance(loc, (list, tuple)) and loc:
            return f"{'.'.join(str(part) for part in loc)}: {problem['msg']}"
        return str(problem["msg"])
    return str(problem)


def _describe(status_code: int, message: str, request_id: str | None) -> str:
    reason = httpx2.codes.get_reason_phrase(status_code)
    head = f"{status_code} {reason}" if reason else str(status_code)
    tail = f" (request id {request_id})" if request_id else ""
    return f"{head}: {message}{tail}"
