"""Shared helpers for SDK unit tests: a scripted ``httpx2.MockTransport`` server.

``api.route("GET", "/experiments/e1", json=...)`` scripts a reply; every request is
recorded in ``api.requests`` so tests can assert on method, path, query, body and
headers, and count calls.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx2

BASE_URL = "http://chronicle.test"
API_KEY = "sk_worker_w1secretsecret"

Reply = Callable[[httpx2.Request], httpx2.Response]


class ScriptedAPI:
    """A tiny in-memory server: scripted replies per (method, path), every request kept."""

    def __init__(self) -> None:
        self.requests: list[httpx2.Request] = []
        self._replies: dict[tuple[str, str], Reply] = {}

    def route(
        self,
        method: str,
        path: str,
        *,
        status: int = 200,
        json: Any = None,
        headers: dict[str, str] | None = None,
        reply: Reply | None = None,
    ) -> None:
        """Answer every ``method path`` with this response (or ``reply(request)``)."""
        # A fresh Response per request: httpx2 mutates the one it is handed.
        self._replies[(method, path)] = reply or (lambda _req: _response(status, json, headers))

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        reply = self._replies.get((request.method, wire_path(request)))
        if reply is None:
            return httpx2.Response(404, json={"detail": f"unscripted {wire_path(request)}"})
        return reply(request)

    @property
    def last(self) -> httpx2.Request:
        return self.requests[-1]

    def count(self, method: str, path: str) -> int:
        return sum(1 for r in self.requests if r.method == method and wire_path(r) == path)


def wire_path(request: httpx2.Request) -> str:
    """The path exactly as sent (percent-encoding kept, query dropped)."""
    return request.url.raw_path.split(b"?", 1)[0].decode("ascii")


def _response(status: int, body: Any, headers: dict[str, str] | None) -> httpx2.Response:
    if body is None:
        return httpx2.Response(status, headers=headers)
    return httpx2.Response(status, json=body, headers=headers)


def body_of(request: httpx2.Request) -> Any:
    """The JSON body a request carried (None when empty)."""
    return json.loads(request.content) if request.content else None


# Minimal valid payloads; tests add fields (and unknown keys) on top.
EXPERIMENT = {
    "id": "e1",
    "title": "lr sweep",
    "state": "draft",
    "created_at": "2026-01-01T00:00:00Z",
    "updated_at": "2026-01-01T00:00:00Z",
}
VARIATION = {"id": "v1", "experiment_id": "e1", "created_at": "2026-01-01T00:00:00Z"}
RUN = {
    "id": "r1",
    "variation_id": "v1",
    "experiment_id": "e1",
    "state": "pending",
    "created_at": "2026-01-01T00:00:00Z",
}
ASSET = {
    "id": "a1",
    "kind": "output",
    "name": "model.bin",
    "state": "pending",
    "created_at": "2026-01-01T00:00:00Z",
}
