"""ASGI middleware: request ids on every response, and fault injection.

Fault injection lives at the ASGI level because two of its kinds cannot be
expressed as a normal response: `reset` and `truncate` must start a response and
then break the connection. The operation name of a request is the name of the
route it matches, so faults and routes can never disagree about names.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Sequence
from typing import Any

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from methodic_fake.faults import Fault, FaultQueue, connection_aborted

REQUEST_ID_HEADER = b"x-request-id"


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
            await asyncio.sleep(fault.seconds)
            await self.app(scope, receive, send)
        elif fault.kind == "status":
            body = json.dumps({"detail": fault.detail}).encode()
            headers = [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ]
            if fault.retry_after is not None:
                headers.append((b"retry-after", str(fault.retry_after).encode()))
            await _drain(receive)
            await send({"type": "http.response.start", "status": fault.status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
        elif fault.kind == "truncate":
            received = 0
            while received < fault.after_bytes:
                message = await receive()
                received += len(message.get("body", b""))
                if message["type"] != "http.request" or not message.get("more_body", False):
                    break
            await _abort(send)
        elif fault.kind == "reset":
            if fault.phase == "after":
                await self.app(scope, receive, _swallow)
            await _abort(send)


async def _swallow(message: Message) -> None:
    """A `send` that discards the response (reset after the request was handled)."""


async def _drain(receive: Receive) -> None:
    """Consume the request body so the client can read our early response cleanly."""
    while True:
        message: dict[str, Any] = dict(await receive())
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


async def _abort(send: Send) -> None:
    """Promise a body, send part of it, then break the connection."""
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"1024")],
        }
    )
    await send({"type": "http.response.body", "body": b"{", "more_body": True})
    raise connection_aborted()
