"""The exception tree: every error the SDK raises is a ``ChronicleError``.

Non-2xx responses become an ``APIError`` subclass chosen by status code (the transport
builds them); failures before any response arrives (refused connection, DNS, timeout)
become ``APIConnectionError``. Branch on the class, not on numbers:

    try:
        chronicle.experiments.commit(exp_id)
    except methodic.ConflictError as err:
        print(err.status_code, err.message, err.request_id)
"""

from __future__ import annotations

import os
from http import HTTPStatus
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx2

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ChronicleError",
    "ConflictError",
    "ContentTooLargeError",
    "IntegrityError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseValidationError",
    "ServerError",
    "TrackerError",
    "UnprocessableEntityError",
    "UploadError",
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
        response: the ``httpx2.Response`` itself (``None`` after unpickling).
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
    """400 (and, through ``UnprocessableEntityError``, 422): the request was refused as invalid."""


class UnprocessableEntityError(BadRequestError):
    """422: the body or query parsed but failed validation (``message`` names the fields).

    A ``BadRequestError`` too, so ``except BadRequestError`` catches both.
    """


class AuthenticationError(APIError):
    """401: the token is missing, malformed or unknown."""


class PermissionDeniedError(APIError):
    """403: the token is valid but may not do this (or a presigned URL was refused)."""


class NotFoundError(APIError):
    """404: no such resource."""


class ConflictError(APIError):
    """409: the resource is in a state that forbids this call."""


class ContentTooLargeError(APIError):
    """413: the request body is over the server's limit (inline content over 1 MiB)."""


class ServerError(APIError):
    """5xx: the server failed, or (503) a feature such as search is not configured."""


class RateLimitError(APIError):
    """429: too many requests.

    ``retry_after`` is the delay in seconds the server asked for (its ``Retry-After``
    header, as seconds or an HTTP date), at most one day (86 400), or ``None`` when
    it sent none or nothing usable. methodic does not retry by itself.

        try:
            chronicle.runs.get(run_id)
        except methodic.RateLimitError as err:
            time.sleep(err.retry_after or 1.0)
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        body: Any = None,
        request_id: str | None = None,
        response: httpx2.Response | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(
            message, status_code=status_code, body=body, request_id=request_id, response=response
        )
        self.retry_after = retry_after

    def __reduce__(self) -> tuple[Any, ...]:
        fields = (self.message, self.status_code, self.body, self.request_id, self.retry_after)
        return (_rebuild_rate_limit_error, fields)


def _rebuild_rate_limit_error(
    message: str, status_code: int, body: Any, request_id: str | None, retry_after: float | None
) -> RateLimitError:
    return RateLimitError(
        message,
        status_code=status_code,
        body=body,
        request_id=request_id,
        retry_after=retry_after,
    )


class APIConnectionError(ChronicleError):
    """No response arrived: connection refused or reset, DNS failure, protocol error.

    The underlying ``httpx2`` exception is chained as ``__cause__``.
    """


class APITimeoutError(APIConnectionError):
    """The call's ``timeout`` ran out before the response was complete.

    For a Chronicle call, ``timeout`` bounds the whole call (connect to last byte);
    for a storage transfer, it is a stall timeout (no progress for that long).
    """


class UploadError(ChronicleError):
    """An asset upload could not complete (for example the local file changed).

    When Chronicle or storage refused a call, ``api_error`` is that ``APIError`` (the
    first one in the ``__cause__`` chain) and ``status_code`` / ``request_id`` repeat its
    fields; otherwise all three are ``None`` (a local file changed, the connection
    failed: see ``__cause__``).

        except methodic.UploadError as err:
            if isinstance(err.api_error, methodic.ConflictError): ...
    """

    @property
    def api_error(self) -> APIError | None:
        """The ``APIError`` this upload failed on, if a server refused a call."""
        cause = self.__cause__
        while cause is not None:
            if isinstance(cause, APIError):
                return cause
            cause = cause.__cause__
        return None

    @property
    def status_code(self) -> int | None:
        """The HTTP status of ``api_error``, if any."""
        error = self.api_error
        return error.status_code if error is not None else None

    @property
    def request_id(self) -> str | None:
        """The request id of ``api_error``, if any."""
        error = self.api_error
        return error.request_id if error is not None else None


class ResponseValidationError(ChronicleError):
    """A 2xx response whose body does not fit the type it should decode to.

    Also a body that is not JSON, nested too deeply to read, or larger than the
    SDK's response cap (64 MiB decoded).

    ``type_name`` and ``field`` name what did not fit (``field`` is ``None`` when the
    body as a whole is wrong, for example not a JSON object). It usually means the
    client and server disagree about the API version, or a proxy answered instead.
    """

    def __init__(self, message: str, *, type_name: str, field: str | None = None) -> None:
        super().__init__(message)
        self.type_name = type_name
        self.field = field

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_validation_error, (str(self), self.type_name, self.field))


def _rebuild_validation_error(
    message: str, type_name: str, field: str | None
) -> ResponseValidationError:
    return ResponseValidationError(message, type_name=type_name, field=field)


class IntegrityError(ChronicleError):
    """A download cannot be trusted: bytes that do not match the asset's size or sha256,
    or an asset whose component names or sizes no honest server would send."""


class TrackerError(ChronicleError):
    """The local upload journal (``UploadTracker``) cannot be used.

    The file is damaged or not a journal, read-only, on a full disk, or held locked.
    The message names the file and the remedy; ``path`` is the journal file, and the
    ``sqlite3`` (or ``OSError``) error is chained as ``__cause__``.

        try:
            run.resume_uploads()
        except methodic.TrackerError as err:
            print("fix or move aside:", err.path)
    """

    def __init__(self, message: str, path: str | os.PathLike[str]) -> None:
        super().__init__(message)
        self.path = Path(path)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self), self.path))


# RFC 9110's names, which Python adopted only in 3.13: the same message on every Python.
_RFC9110_PHRASES = {
    413: "Content Too Large",
    414: "URI Too Long",
    416: "Range Not Satisfiable",
    422: "Unprocessable Content",
}


def _describe(status_code: int, message: str, request_id: str | None) -> str:
    try:
        reason = _RFC9110_PHRASES.get(status_code) or HTTPStatus(status_code).phrase
    except ValueError:
        reason = ""
    head = f"{status_code} {reason}" if reason else str(status_code)
    tail = f" (request id {request_id})" if request_id else ""
    return f"{head}: {message}{tail}"
