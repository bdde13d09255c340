"""A Chronicle redirect never carries the bearer token, whoever built the HTTP client.

httpx2 keeps per-request headers on a same-origin redirect, so a caller-supplied client
with ``follow_redirects=True`` used to send the API key to whatever same-host path a
307 named (issue 12, finding 6). A tiny stdlib server on 127.0.0.1 records the headers
of every request it gets.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from methodic import APIError, Chronicle

API_KEY = "sk_worker_redirectcanary0123456789"


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: list[tuple[str, str | None]]

    def do_GET(self) -> None:
        self.seen.append((self.path, self.headers.get("Authorization")))
        if not self.path.startswith("/_storage/"):
            self.send_response(307)
            self.send_header("Location", "/_storage/a1/model.bin")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = json.dumps({"detail": "storage saw this request"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, list[tuple[str, str | None]]]]:
    seen: list[tuple[str, str | None]] = []
    handler = type("Handler", (_Recorder,), {"seen": seen})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", seen
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@pytest.mark.parametrize("follow", [True, False], ids=["client-follows", "client-default"])
def test_a_chronicle_redirect_is_not_followed(
    server: tuple[str, list[tuple[str, str | None]]], follow: bool
) -> None:
    base_url, seen = server
    with (
        httpx2.Client(follow_redirects=follow) as http,
        Chronicle(base_url, API_KEY, http_client=http) as chronicle,
        pytest.raises(APIError) as info,
    ):
        chronicle.experiments.get("e1")
    assert info.value.status_code == 307
    assert "redirected to" in str(info.value) and "/_storage/a1/model.bin" in str(info.value)
    assert API_KEY not in str(info.value)
    # Only the Chronicle call went out; the storage path never saw a request, let
    # alone the token.
    assert seen == [("/experiments/e1", f"Bearer {API_KEY}")]


def test_the_sdks_own_client_does_not_follow_either(
    server: tuple[str, list[tuple[str, str | None]]],
) -> None:
    base_url, seen = server
    with Chronicle(base_url, API_KEY) as chronicle, pytest.raises(APIError) as info:
        chronicle.runs.get("r1")
    assert info.value.status_code == 307
    assert [path for path, _ in seen] == ["/runs/r1"]
