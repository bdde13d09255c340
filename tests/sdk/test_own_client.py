"""The client methodic builds itself: headers on the wire, over a real loopback socket.

Here methodic owns the httpx2.Client (the path users take by default), so the
non-secret headers are client defaults; the bearer token must still go only to
Chronicle calls.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from methodic import Chronicle, __version__

from .scripted import API_KEY, EXPERIMENT


class _Recorder(BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, str, dict[str, str]]]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.seen.append((self.command, self.path, {k.lower(): v for k, v in self.headers.items()}))
        body = json.dumps(EXPERIMENT).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = _answer

    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        pass


@pytest.fixture
def server() -> Iterator[str]:
    _Recorder.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_headers_on_the_wire(server: str) -> None:
    with Chronicle(server, API_KEY) as chronicle:
        chronicle.experiments.get("e1")
        chronicle.transport.storage_request(
            "PUT", f"{server}/_storage/a1/c?signature=abc", content=b"x"
        )
    (_, path, api_headers), (_, storage_path, storage_headers) = _Recorder.seen
    assert path == "/experiments/e1"
    assert api_headers["authorization"] == f"Bearer {API_KEY}"
    assert api_headers["user-agent"] == f"methodic-python/{__version__}"
    assert api_headers["accept"] == "application/json"
    assert storage_path == "/_storage/a1/c?signature=abc"
    assert "authorization" not in storage_headers
    assert storage_headers["user-agent"] == f"methodic-python/{__version__}"


def test_custom_user_agent_on_own_client(server: str) -> None:
    with Chronicle(server, API_KEY, user_agent="menlo-park/2") as chronicle:
        chronicle.experiments.get("e1")
    assert _Recorder.seen[0][2]["user-agent"] == "menlo-park/2"
