"""ASGI middleware: request ids on every response, fault injection, and the last resort.

Fault injection lives at the ASGI level because two of its kinds cannot be
expressed as a normal response: `reset` and `truncate` break the connection
without sending a status line, so the client sees a transport error, never a
response. The operation name of a request is the name of the
route it matches, so faults and routes can never disagree about names.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import uuid
from collections.abc import Sequence
from typing import Any, NoReturn

from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from methodic_fake.faults import Fault, FaultQueue

REQUEST_ID_HEADER = b"x-request-id"
# Request bodies of Chronicle routes are JSON, bounded by what the API accepts: the
# largest, a 1 MiB inline `content`, can grow up to 6x when JSON-escaped (\u0001).
# Storage uploads (/_storage) are capped by their registered size instead.
MAX_JSON_BODY = 8 * 1024 * 1024
STORAGE_PREFIX = "/_storage/"
# Bytes read and discarded after refusing an oversized body, so a client still
# sending can finish and read the 413 instead of a broken pipe.
DRAIN_LIMIT = 64 * 1024 * 1024
INJECTED_MARK = "methodic_fake_injected"
# Where the app keeps the server's own `send` (see note_server_send).
_SERVER_SEND = "methodic_fake.server_send"
logger = logging.getLogger("methodic_fake")


class InjectedFailure(RuntimeError):
    """What a `raise` fault raises inside the app: an unexpected error, on purpose."""


@functools.cache
def _connection_aborted_class() -> type[Exception]:
    # httpx2 is imported on first use only: it costs ~60 ms, and a server that never
    # injects a reset should not pay for it at start-up.
    import httpx2

    class ConnectionAborted(httpx2.RemoteProtocolError):
        """Raised inside the app to drop a connection.

        Under uvicorn the connection is already aborted when this is raised (see
        `_abort`). In-process, starlette's TestClient re-raises the app's exception
        into the caller; subclassing httpx2's own transport error makes that look
        exactly like a dropped connection to the SDK.
        """

        methodic_fake_injected = True

    return ConnectionAborted


def connection_aborted() -> Exception:
    """The exception that breaks the current connection (see `_connection_aborted_class`)."""
    return _connection_aborted_class()("connection reset by methodic-fake fault injection")


def is_injected(exc: BaseException | None) -> bool:
    """True for exceptions raised by fault injection (kept out of error logs)."""
    return bool(getattr(exc, INJECTED_MARK, False))


def note_server_send(scope: Scope, send: Send) -> None:
    """Remember the server's `send` (before starlette wraps it) so a fault can abort.

    uvicorn's `send` is a bound method of the request cycle, which holds the
    connection's transport: the only way to drop a connection before any status
    line, since an exception raised before the response starts is answered with a 500.
    """
    if scope["type"] == "http":
        scope[_SERVER_SEND] = send


def request_id_of(scope: Scope) -> str:
    """The id the middleware assigned to this request ("" outside the middleware)."""
    state = scope.get("state") or {}
    return str(state.get("request_id", ""))


class FakeMiddleware:
    """Outer middleware of the fake's app."""

    def __init__(self, app: ASGIApp, faults: FaultQueue, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.faults = faults
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = "req_" + uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID_HEADER, request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        if not scope["path"].startswith(STORAGE_PREFIX):
            declared = _content_length(scope)
            if declared is not None and declared > MAX_JSON_BODY:
                await _drain(receive, DRAIN_LIMIT)
                await _reply(send_with_id, 413, _too_large(f"{declared} bytes"))
                return
            receive = _capped(receive, MAX_JSON_BODY)

        fault = self._next_fault(scope) if self.faults.active else None
        if fault is None:
            await self.app(scope, receive, send_with_id)
        else:
            await self._inject(fault, scope, receive, send_with_id)

    def _next_fault(self, scope: Scope) -> Fault | None:
        for route in self.routes:
            match, _ = route.matches(scope)
            if match == Match.FULL:
                name = getattr(route, "name", None)
                return self.faults.pop(name) if name else None
        return None

    async def _inject(self, fault: Fault, scope: Scope, receive: Receive, send: Send) -> None:
        if fault.kind == "latency":
            if await _delay(fault.seconds, scope, self.faults):
                await _abort(scope)  # nobody left to answer: end the request now
            await self.app(scope, receive, send)
        elif fault.kind == "status":
            extra = []
            if fault.retry_after is not None:
                extra.append((b"retry-after", str(fault.retry_after).encode()))
            await _drain(receive)
            await _reply(send, fault.status, fault.detail, extra)
        elif fault.kind == "truncate":
            received = 0
            while received < fault.after_bytes:
                message = await receive()
                received += len(message.get("body", b""))
                if message["type"] != "http.request" or not message.get("more_body", False):
                    break
            await _abort(scope)
        elif fault.kind == "reset":
            if fault.phase == "after":
                await self.app(scope, receive, _swallow)
            await _abort(scope)
        elif fault.kind == "raise":
            raise InjectedFailure(f"injected failure for {fault.operation}")


class LastResortMiddleware:
    """Turn any exception that would escape the app into a JSON 500 with the request id.

    Starlette's own last resort (ServerErrorMiddleware) answers a 500 and then
    re-raises: uvicorn closes the keep-alive connection under the client (its next,
    unrelated call fails), and starlette's TestClient hands the raw exception to the
    caller. Here the exception ends with the response, logged once with its
    traceback. Only two cases still propagate: injected connection aborts (they must
    break the connection) and errors after the response has started (the status
    line is gone; dropping the connection is the only honest signal left).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watched_send)
        except Exception as exc:
            if started or is_injected(exc):
                raise
            request_id = request_id_of(scope) or "req_" + uuid.uuid4().hex
            if isinstance(exc, InjectedFailure):
                logger.info("%s (request id %s)", exc, request_id)
            else:
                logger.error(
                    "internal error in %s %s (request id %s)",
                    scope.get("method"),
                    scope.get("path"),
                    request_id,
                    exc_info=exc,
                )
            body = {
                "detail": f"internal server error ({type(exc).__name__}); request id {request_id}",
                "request_id": request_id,
            }
            await _reply(send, 500, body, [(REQUEST_ID_HEADER, request_id.encode())])


_POLL = 0.05  # how soon a delayed request notices its client left or the fake stopping


async def _delay(seconds: float, scope: Scope, faults: FaultQueue) -> bool:
    """Sleep `seconds` (a latency fault); True, early, if the wait became pointless.

    It does when the client has gone (a killed process: uvicorn marks the request
    disconnected) or the fake is stopping: a server would otherwise hold the request
    to the end of its graceful-shutdown timeout, and a test's teardown with it.
    """
    cycle = getattr(scope.get(_SERVER_SEND), "__self__", None)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (left := deadline - loop.time()) > 0:
        if getattr(cycle, "disconnected", False) or faults.stopping.is_set():
            return True
        await asyncio.sleep(min(left, _POLL))
    return False


async def _swallow(message: Message) -> None:
    """A `send` that discards the response (reset after the request was handled)."""


async def _drain(receive: Receive, limit: int | None = None) -> None:
    """Consume the request body (up to `limit` bytes) so the client can read our early reply."""
    drained = 0
    while True:
        message: dict[str, Any] = dict(await receive())
        drained += len(message.get("body", b""))
        if message["type"] != "http.request" or not message.get("more_body", False):
            return
        if limit is not None and drained > limit:
            return


async def _reply(
    send: Send, status: int, detail: str | dict[str, Any], extra: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    """A complete `{"detail": ...}` JSON response (or `detail` as the whole body)."""
    body = json.dumps(detail if isinstance(detail, dict) else {"detail": detail}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _too_large(size: str) -> str:
    return f"request body of {size} exceeds the limit of {MAX_JSON_BODY} bytes"


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def _capped(receive: Receive, limit: int) -> Receive:
    """`receive`, raising 413 as soon as a (chunked) body passes `limit` bytes."""
    received = 0

    async def capped_receive() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                # FastAPI re-raises HTTPExceptions met while reading the body, and
                # the app's handler turns this one into the usual {"detail": ...}.
                raise HTTPException(413, _too_large(f"more than {limit} bytes"))
        return message

    return capped_receive


async def _abort(scope: Scope) -> NoReturn:
    """Break the connection before any status line reaches the client, then raise."""
    cycle = getattr(scope.get(_SERVER_SEND), "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is not None and hasattr(transport, "abort"):
        transport.abort()
        # abort() schedules connection_lost; let it run so the server marks the
        # cycle disconnected and drops (rather than sends) its 500 for our exception.
        await asyncio.sleep(0)
    raise connection_aborted()
