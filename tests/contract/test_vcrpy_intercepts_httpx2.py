"""The vcrpy this project requires intercepts httpx2 (issue 19: the vcrpy floor).

vcrpy before 8.2.0 patches only httpx: an httpx2 request goes straight past a
cassette to the live server, so a downstream runner's recorded test silently
stops testing what it recorded. pyproject.toml requires vcrpy >= 8.2.0, the first
release that patches httpx2's transports; this pins the behaviour that floor is for.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import httpx2
import pytest
import vcr
from vcr.errors import CannotOverwriteExistingCassetteException

from methodic import Chronicle


class _Live(http.server.BaseHTTPRequestHandler):
    hits: list[str]

    def do_GET(self) -> None:
        self.hits.append(self.path)
        body = b'{"items": [], "next_cursor": null}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def live() -> Iterator[tuple[str, list[str]]]:
    hits: list[str] = []
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), type("H", (_Live,), {"hits": hits}))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", hits
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_the_installed_vcrpy_is_at_least_the_floor() -> None:
    major, minor = (int(part) for part in version("vcrpy").split(".")[:2])
    assert (major, minor) >= (8, 2)


def test_a_cassette_stands_between_httpx2_and_the_server(
    live: tuple[str, list[str]], tmp_path: Path
) -> None:
    url, hits = live
    cassette = tmp_path / "runs.yaml"
    recorder = vcr.VCR(filter_headers=["authorization"])
    with (
        recorder.use_cassette(str(cassette), record_mode="all"),
        Chronicle(url, "sk_worker_vcrfloorcanary0123456789") as chronicle,
    ):
        assert chronicle.runs.list().items == []
    assert hits == ["/runs"] and "sk_worker_vcrfloorcanary" not in cassette.read_text()
    # Replayed: answered from the cassette, the server never asked again.
    with recorder.use_cassette(str(cassette), record_mode="none"), Chronicle(url, "k" * 20) as c:
        assert c.runs.list().items == []
    assert hits == ["/runs"]
    # And a request the cassette does not hold is refused, not sent live.
    with (
        recorder.use_cassette(str(cassette), record_mode="none"),
        pytest.raises(CannotOverwriteExistingCassetteException),
    ):
        httpx2.get(url + "/experiments")
    assert hits == ["/runs"]
