"""``Transport``: the only code in methodic that sends HTTP requests (through httpx2).

It has two faces. ``request`` talks to Chronicle: it joins the path onto the base
URL, adds the bearer token to that one request, decodes JSON and maps non-2xx
statuses to typed errors. ``storage_request`` / ``storage_stream`` talk to presigned
storage URLs and never send the bearer token, not even one the caller passes or one
set as a default on a caller-supplied ``httpx2.Client``.

The token is added per request rather than as a client default so that no code path
(a storage call, a user reusing ``transport.http_client``) can carry it somewhere it
was not meant to go. Chronicle calls never follow redirects, whatever the client's
``follow_redirects`` says: httpx2 keeps per-request headers on a same-origin redirect,
so following one would hand the token to whatever path the redirect names (a storage
route on the same host, say). A redirect is raised as an ``APIError`` instead.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeGuard
from urllib.parse import quote

import httpx2

from methodic._deadline import Deadline, bound_sockets, deadline_scope
from methodic._server_clock import ServerClock
from methodic._version import __version__
from methodic.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ChronicleError,
    ConflictError,
    ContentTooLargeError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    ServerError,
    UnprocessableEntityError,
)

__all__ = ["DEFAULT_TIMEOUT", "MAX_RESPONSE_BYTES", "MAX_RETRY_AFTER", "Transport"]

DEFAULT_TIMEOUT = 30.0
# Far above any real Chronicle body (a page of runs, an experiment with its
# variations), far below what would hurt a runner: a gzip bomb stops decoding here.
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
# The longest Retry-After that RateLimitError.retry_after reports (one day).
MAX_RETRY_AFTER = 86_400.0

logger = logging.getLogger("methodic")


class _PresignedURLFilter(logging.Filter):
    """Drops the query string of presigned URLs from httpx2's own INFO log lines.

    httpx2 logs every request's full URL at INFO; for a presigned URL that is a
    usable credential until it expires. Only URLs whose query carries a signature
    parameter are touched.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(_is_presigned(a) for a in record.args):
            record.args = tuple(
                f"{_safe_url(a)}?<redacted>" if _is_presigned(a) else a for a in record.args
            )
        return True


def _is_presigned(value: object) -> TypeGuard[httpx2.URL]:
    if not isinstance(value, httpx2.URL) or not value.query:
        return False
    return any("signature" in k.lower() or k.lower() == "sig" for k in value.params)


_httpx_filter_lock = threading.Lock()
_httpx_filter_installed = False


def _install_httpx_log_filter() -> None:
    global _httpx_filter_installed
    with _httpx_filter_lock:
        if not _httpx_filter_installed:
            logging.getLogger("httpx2").addFilter(_PresignedURLFilter())
            _httpx_filter_installed = True


class Transport:
    """Sends requests to Chronicle and to presigned storage URLs.

    ``http_client`` may be any ``httpx2.Client`` (for example starlette's
    ``TestClient`` for in-process use); the transport closes it only if it created it.
    Chronicle calls never follow redirects (see the module docstring).

    ``timeout`` in seconds bounds each whole Chronicle call, connect to last byte
    (``methodic._deadline``); on a caller's ``http_client`` the deadline is checked
    as the response arrives, and each socket wait is bounded by ``timeout`` itself.
    Storage transfers get it as a stall timeout: no progress for that long. An
    ``httpx2.Timeout`` keeps httpx2's per-operation meaning, with no total; ``None``
    waits forever. Every Chronicle response may decode to at most
    ``MAX_RESPONSE_BYTES``.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float | httpx2.Timeout | None = DEFAULT_TIMEOUT,
        http_client: httpx2.Client | None = None,
        user_agent: str | None = None,
    ) -> None:
        try:
            url = httpx2.URL(base_url)
        except httpx2.InvalidURL as err:
            raise ChronicleError(f"base_url is not a valid URL: {err}") from None
        if url.scheme not in ("http", "https") or not url.host:
            shown = _safe_url(url) if url.host else str(base_url)[:100]
            raise ChronicleError(
                f"base_url must be an absolute http(s) URL such as "
                f"https://chronicle.example.com, got {shown!r}"
            )
        api_key = _checked_key(api_key)
        self.base_url = str(base_url).rstrip("/")
        self._timeout, self._total = _timeouts(timeout)
        ua = user_agent or f"methodic-python/{__version__}"
        common = {"User-Agent": ua, "Accept": "application/json"}
        self._api_key = api_key  # kept only to scrub it from text (error bodies, crash messages)
        self._owns_client = http_client is None
        self._client = http_client
        self._client_lock = threading.Lock()
        self._closed = False
        self._own_client_headers = common
        self._server_clock = ServerClock()
        if http_client is None:
            # Our own client carries the non-secret headers as defaults (httpx2 merges
            # fewer per-request headers that way); the bearer token never goes there.
            self._chronicle_headers = {"Authorization": f"Bearer {api_key}"}
            self._storage_headers: dict[str, str] = {}
        else:
            self._chronicle_headers = {"Authorization": f"Bearer {api_key}", **common}
            self._storage_headers = {"User-Agent": ua}
        _install_httpx_log_filter()

    def __repr__(self) -> str:
        return f"<Transport base_url={_safe_url(self.base_url)!r}>"

    @property
    def http_client(self) -> httpx2.Client:
        """The underlying ``httpx2.Client`` (it carries no Authorization default)."""
        return self._client or self._create_client()

    def _create_client(self) -> httpx2.Client:
        # Deferred to first use: httpx2.Client() builds an SSL context (tens of ms),
        # which a process that constructs a Chronicle but never calls need not pay.
        with self._client_lock:
            if self._closed:
                raise ChronicleError("this Chronicle client is closed")
            if self._client is None:
                client = httpx2.Client(headers=self._own_client_headers)
                bound_sockets(client)  # every socket wait of a call ends by its deadline
                self._client = client
            return self._client

    def path(self, *segments: str) -> str:
        """Join path segments, percent-encoding each one (``"x y"`` -> ``"x%20y"``).

        Empty, ``"."``, ``".."`` and any segment containing ``"/"`` raise
        ``ValueError``: they would silently address a different resource
        (``/runs//start``, ``/runs/../experiments``, ``/experiments/<id>/lineage``).
        Encoding cannot protect a slash: servers and proxies decode ``%2F`` before
        routing.
        """
        parts = []
        for segment in segments:
            if not isinstance(segment, str):
                raise TypeError(f"path segment must be str, not {type(segment).__name__}")
            if segment in ("", ".", "..") or "/" in segment:
                raise ValueError(f"invalid id or path segment: {segment!r}")
            parts.append(quote(segment, safe=""))
        return "/" + "/".join(parts)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """Call Chronicle and return the decoded JSON body (``None`` for an empty body).

        ``params`` entries whose value is ``None`` are dropped. Raises an ``APIError``
        subclass for non-2xx, ``APIConnectionError``/``APITimeoutError`` when no
        response arrives.
        """
        if self._closed:
            raise ChronicleError("this Chronicle client is closed")
        request_headers = dict(self._chronicle_headers)
        if headers:
            request_headers.update(headers)
        query = {k: v for k, v in params.items() if v is not None} if params else None
        url = self.base_url + path
        client = self._client or self._create_client()
        deadline = Deadline(self._total) if self._total is not None else None
        start = time.perf_counter()
        with deadline_scope(deadline):
            try:
                request = client.build_request(
                    method,
                    url,
                    params=query,
                    json=json,
                    headers=request_headers,
                    timeout=self._timeout,
                )
                response = client.send(request, stream=True, follow_redirects=False)
                try:
                    content = _read_body(response, f"{method} {path}", deadline)
                finally:
                    response.close()
            except httpx2.RequestError as err:
                if logger.isEnabledFor(logging.DEBUG):
                    logger.debug(
                        "%s %s -> %s (%.1f ms)",
                        method,
                        path,
                        type(err).__name__,
                        (time.perf_counter() - start) * 1000,
                    )
                raise _connection_error(method, url, err, deadline) from err
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s %s -> %d (%.1f ms)",
                method,
                path,
                response.status_code,
                (time.perf_counter() - start) * 1000,
            )
        self._server_clock.observe(response.headers.get("date"))
        if response.is_redirect:
            raise _redirect_error(method, path, response)
        if not response.is_success:
            raise error_from_response(response, redact=self._api_key, content=content)
        return _parse_json(content, f"{method} {path}", response.status_code)

    def storage_request(
        self,
        method: str,
        url: str,
        *,
        content: bytes | Iterable[bytes] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx2.Response:
        """Send ``method`` to a presigned storage ``url`` and return the read response.

        ``content`` may be bytes or an iterator of bytes (streamed; pass a
        ``Content-Length`` header to avoid chunked encoding). Never sends
        Authorization. Non-2xx raises the same typed errors as ``request``.
        """
        request = self._storage_build(method, url, content, headers)
        start = time.perf_counter()
        try:
            response = self.http_client.send(request, auth=None)
        except httpx2.RequestError as err:
            raise _connection_error(method, request.url, err) from err
        self._storage_log(request, response, start)
        if not response.is_success:
            raise error_from_response(response, redact=self._api_key)
        return response

    @contextmanager
    def storage_stream(
        self, method: str, url: str, *, headers: Mapping[str, str] | None = None
    ) -> Iterator[httpx2.Response]:
        """Stream a response from a presigned storage ``url`` (read it with ``iter_bytes``).

        with transport.storage_stream("GET", url) as response:
            for chunk in response.iter_bytes():
                ...
        """
        request = self._storage_build(method, url, None, headers)
        start = time.perf_counter()
        try:
            response = self.http_client.send(request, auth=None, stream=True)
        except httpx2.RequestError as err:
            raise _connection_error(method, request.url, err) from err
        try:
            self._storage_log(request, response, start)
            if not response.is_success:
                try:
                    content = _read_body(response, f"storage {method}", None)
                except httpx2.RequestError as err:
                    raise _connection_error(method, request.url, err) from err
                raise error_from_response(response, redact=self._api_key, content=content)
            yield response
        except httpx2.RequestError as err:
            # A connection dropped mid-body surfaces here, inside the caller's loop.
            raise _connection_error(method, request.url, err) from err
        finally:
            response.close()

    def server_time(self) -> float | None:
        """The server's clock now (Unix seconds), from the last Chronicle response's
        ``Date`` header; ``None`` before any response carried one.

        For ages and deadlines of server timestamps, which the local clock would get
        wrong wherever the two clocks differ (a fake's moved clock, a skewed laptop).
        """
        return self._server_clock.now()

    def redact(self, text: str) -> str:
        """``text`` with every occurrence of this transport's API key replaced.

        For text that leaves the process (a crash message sent to Chronicle).
        """
        return text.replace(self._api_key, "<redacted>")

    def close(self) -> None:
        """Close the underlying ``httpx2.Client`` if this transport created it."""
        with self._client_lock:
            self._closed = True
            client = self._client
        if self._owns_client and client is not None:
            client.close()

    def with_options(
        self,
        *,
        timeout: float | httpx2.Timeout | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Transport:
        """A transport on this one's ``httpx2.Client`` (the same connection pool) whose
        Chronicle calls use ``timeout`` and carry ``headers`` on top of this one's.

        ``headers`` must already be checked (``Chronicle.with_options`` refuses the
        ones that could carry credentials); they never go to storage URLs. Closing the
        derived transport closes nothing; once this one is closed, so is it.
        ``timeout`` means what it means for the constructor (seconds bound each whole
        call; an ``httpx2.Timeout`` is per operation, with no total), ``None`` keeps
        this one's; anything else raises ``ValueError``/``TypeError``.
        """
        return _DerivedTransport(self, timeout, headers or {})

    def _storage_build(
        self,
        method: str,
        url: str,
        content: bytes | Iterable[bytes] | None,
        headers: Mapping[str, str] | None,
    ) -> httpx2.Request:
        if self._closed:
            raise ChronicleError("this Chronicle client is closed")
        request_headers = dict(self._storage_headers)
        if headers:
            request_headers.update(headers)
        try:
            request = self.http_client.build_request(
                method, url, content=content, headers=request_headers, timeout=self._timeout
            )
        except httpx2.InvalidURL:
            # Not `from err`, and the URL not echoed: it carries a live signature.
            raise ChronicleError(f"{method} to a presigned URL that is not a valid URL") from None
        # The merge above includes the client's own default headers; a presigned URL
        # carries its own authority, so strip any bearer token whatever its origin.
        request.headers.pop("Authorization", None)
        return request

    def _storage_log(
        self, request: httpx2.Request, response: httpx2.Response, start: float
    ) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "storage %s %s -> %d (%.1f ms)",
                request.method,
                _safe_url(request.url),
                response.status_code,
                (time.perf_counter() - start) * 1000,
            )


class _DerivedTransport(Transport):
    """``Transport.with_options``: a copy of a transport's state that shares its client.

    Built by copying the parent's attributes (so whatever the parent holds, the
    derived one holds too), then overriding the client ownership, the timeout and the
    Chronicle headers. ``_closed`` reads the root transport's flag as well as its own.
    The copy is shallow on purpose for the ``ServerClock``: one server, one clock, so a
    derived client's responses date ``server_time()`` for its parent (which the CLI
    and a ``Run`` read) and the parent's for it.
    """

    def __init__(
        self, parent: Transport, timeout: float | httpx2.Timeout | None, headers: Mapping[str, str]
    ) -> None:
        # None keeps the parent's; a number replaces the whole-call deadline as well.
        new_timeouts = None if timeout is None else _timeouts(timeout)
        if parent._closed:
            raise ChronicleError("this Chronicle client is closed")
        client = parent.http_client  # created now if it was not yet: the pool is shared
        state = {k: v for k, v in vars(parent).items() if k not in ("_closed", "_own_closed")}
        vars(self).update(state)
        self._root: Transport = getattr(parent, "_root", parent)
        self._own_closed = False
        self._client = client
        self._owns_client = False
        if new_timeouts is not None:
            self._timeout, self._total = new_timeouts
        merged = {
            k: v
            for k, v in parent._chronicle_headers.items()
            if k.lower() not in {name.lower() for name in headers}
        }
        self._chronicle_headers = {**merged, **headers}

    @property
    def _closed(self) -> bool:
        return self._own_closed or self._root._closed

    @_closed.setter
    def _closed(self, value: bool) -> None:
        self._own_closed = value


def _timeouts(timeout: float | httpx2.Timeout | None) -> tuple[httpx2.Timeout, float | None]:
    """httpx2's per-operation timeouts, and the whole-call deadline in seconds (if any).

    ``TypeError`` for what is not seconds, ``None`` or an ``httpx2.Timeout``;
    ``ValueError`` for seconds that are not positive and finite.
    """
    if isinstance(timeout, httpx2.Timeout):
        return timeout, None
    if timeout is None:
        return httpx2.Timeout(None), None
    if isinstance(timeout, bool) or not isinstance(timeout, int | float):
        raise TypeError(f"timeout must be seconds or an httpx2.Timeout, not {timeout!r}")
    seconds = float(timeout)
    if not (math.isfinite(seconds) and seconds > 0):
        raise ValueError(f"timeout must be a positive number of seconds or None, not {timeout!r}")
    return httpx2.Timeout(seconds), seconds


def _read_body(response: httpx2.Response, call: str, deadline: Deadline | None) -> bytes:
    """The decoded body of a streamed ``response``, refused past ``MAX_RESPONSE_BYTES``.

    Read piece by piece (httpx2 decompresses in bounded pieces too), so a gzip bomb is
    stopped with at most the cap in memory; ``deadline`` is checked at every piece.
    """
    declared = response.headers.get("content-length", "")
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if (
        encoding in ("", "identity")
        and declared.isdigit()
        and (len(declared) > 18 or int(declared) > MAX_RESPONSE_BYTES)
    ):
        raise _too_large(response, call)
    chunks = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise _too_large(response, call)
        chunks.append(chunk)
        if deadline is not None and deadline.passed:
            raise _deadline_error(call, deadline)
    # Also for an empty body, and for a client that cannot interrupt a request
    # (starlette's TestClient answers only once the app is done).
    if deadline is not None and deadline.passed:
        raise _deadline_error(call, deadline)
    return b"".join(chunks)


def _too_large(response: httpx2.Response, call: str) -> ChronicleError:
    what = f"{call} returned a {response.status_code} response larger than the 64 MiB limit"
    if response.is_success or response.is_redirect:
        return ResponseValidationError(f"{what} (not read)", type_name="JSON")
    # The status still says what happened: raise its class, without the body.
    return _error_class(response.status_code)(
        f"{what}; its body was not read",
        status_code=response.status_code,
        request_id=response.headers.get("x-request-id"),
        response=response,
    )


def _deadline_error(call: str, deadline: Deadline) -> APITimeoutError:
    return APITimeoutError(
        f"{call} timed out: no complete response within timeout={deadline.seconds:g} s"
    )


def _parse_json(content: bytes, call: str, status: int) -> Any:
    if not content:
        return None
    try:
        return json.loads(content)
    except (ValueError, RecursionError) as err:
        # RecursionError: nested deeper than the parser's stack, a ChronicleError too.
        what = "nested too deeply to read" if isinstance(err, RecursionError) else "not JSON"
        raise ResponseValidationError(
            f"{call} returned a {status} whose body is {what}", type_name="JSON"
        ) from None


def _checked_key(api_key: str) -> str:
    """Strip surrounding whitespace (a key read from a file keeps its newline) and
    refuse what cannot go in a header.

    Checked here, not left to the HTTP layer: h11's "Illegal header value" error
    quotes the whole header, which would put the secret into an exception message.
    The message below deliberately does not echo the key.
    """
    key = api_key.strip() if isinstance(api_key, str) else ""
    if not key:
        raise ChronicleError("api_key must be a non-empty string")
    if not all("!" <= ch <= "~" for ch in key):
        raise ChronicleError(
            "api_key contains characters that cannot be sent in an HTTP header "
            "(whitespace, control or non-ASCII characters)"
        )
    return key


def _safe_url(url: httpx2.URL | str) -> str:
    """scheme://host[:port]/path: no query (presigned signatures), no userinfo."""
    url = httpx2.URL(url) if isinstance(url, str) else url
    port = f":{url.port}" if url.port else ""
    return f"{url.scheme}://{url.host}{port}{url.path}"


def _redirect_error(method: str, path: str, response: httpx2.Response) -> APIError:
    location = response.headers.get("location", "")
    target = _safe_url(response.url.join(location)) if location else "nowhere"
    return APIError(
        f"{method} {path} was redirected to {target}; methodic does not follow redirects "
        "for Chronicle calls (they would carry the API key): point base_url at the final "
        "address",
        status_code=response.status_code,
        request_id=response.headers.get("x-request-id"),
        response=response,
    )


def _connection_error(
    method: str, url: httpx2.URL | str, err: httpx2.RequestError, deadline: Deadline | None = None
) -> APIConnectionError:
    if deadline is not None and isinstance(err, httpx2.TimeoutException):
        return _deadline_error(f"{method} {_safe_url(url)}", deadline)
    cls = APITimeoutError if isinstance(err, httpx2.TimeoutException) else APIConnectionError
    verb = "timed out" if cls is APITimeoutError else "failed"
    return cls(f"{method} {_safe_url(url)} {verb}: {type(err).__name__}: {err}")


_STATUS_CLASSES: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: ContentTooLargeError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def error_from_response(
    response: httpx2.Response, *, redact: str | None = None, content: bytes | None = None
) -> APIError:
    """Build the typed exception for a non-2xx ``response``.

    ``content`` is its body, when it was streamed; otherwise the response has been
    read. Every occurrence of ``redact`` (the API key) in the body is replaced before
    the body is parsed, so a server or proxy that echoes the token cannot put it into
    the exception's message or ``body``.
    """
    status = response.status_code
    body = _decode_body(response, response.content if content is None else content, redact)
    cls = _error_class(status)
    message = _message_from_body(body, response)
    request_id = response.headers.get("x-request-id")
    if cls is RateLimitError:
        return RateLimitError(
            message,
            status_code=status,
            body=body,
            request_id=request_id,
            response=response,
            retry_after=_retry_after(response.headers.get("retry-after")),
        )
    return cls(message, status_code=status, body=body, request_id=request_id, response=response)


def _error_class(status: int) -> type[APIError]:
    cls = _STATUS_CLASSES.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else APIError
    return cls


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header, at most ``MAX_RETRY_AFTER``; None if unusable.

    Both RFC 9110 forms: delay-seconds (ASCII digits) and an HTTP date (a date in the
    past is 0). Anything else — a sign, a fraction, words — is None.
    """
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        # Longer than any day count: don't build a 400-digit integer to find out.
        return MAX_RETRY_AFTER if len(value) > 9 else min(float(value), MAX_RETRY_AFTER)
    from email.utils import parsedate_to_datetime  # deferred: rare path

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        return None
    from datetime import UTC, datetime

    seconds = (when - datetime.now(UTC)).total_seconds()
    return min(max(0.0, seconds), MAX_RETRY_AFTER)


def _decode_body(response: httpx2.Response, content: bytes, redact: str | None) -> Any:
    if not content:
        return None
    try:
        text = content.decode(response.charset_encoding or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        text = content.decode("utf-8", errors="replace")
    if redact and redact in text:
        text = text.replace(redact, "<redacted>")
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
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
