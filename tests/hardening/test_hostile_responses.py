"""Guarantee: no response a hostile or broken server sends escapes the SDK's promises
(issue 19, findings 4, 5, 10, 11).

The server is a raw loopback socket that answers each request with scripted bytes,
optionally dripped one piece at a time; the SDK under test is the real one. Every
Chronicle call must end in a ``ChronicleError`` subclass, hold at most the documented
response cap in memory (a gzip bomb decompresses only so far), finish within its
``timeout`` however slowly the bytes come, and give a usable ``retry_after``.
Storage transfers keep a stall timeout instead: a slow download that keeps
moving completes.
"""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx2
import pytest

from methodic import (
    APITimeoutError,
    Chronicle,
    ChronicleError,
    NotFoundError,
    RateLimitError,
    ResponseValidationError,
    ServerError,
)
from methodic_fake import FakeChronicle

MIB = 1 << 20
# The documented limits (docs/api.md, "What the SDK accepts back").
MAX_RESPONSE_BYTES = 64 * MIB
MAX_RETRY_AFTER = 86_400.0
KEY = "sk_worker_hostileresponses0123"


@dataclass
class Reply:
    """The bytes one request gets: ``head`` at once, then ``drip`` pieces ``every`` s apart."""

    head: bytes
    drip: list[bytes] = field(default_factory=list)
    every: float = 0.0


def response(status: int, body: bytes, headers: dict[str, str] | None = None) -> bytes:
    reason = {200: "OK", 404: "Not Found", 429: "Too Many Requests", 500: "Error"}[status]
    lines = [f"HTTP/1.1 {status} {reason}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Server:
    """Answers every request on 127.0.0.1 with the next scripted ``Reply`` (the last repeats)."""

    def __init__(self) -> None:
        self.replies: list[Reply] = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            try:
                while not self.stopping.is_set():
                    request = b""
                    while b"\r\n\r\n" not in request:
                        chunk = conn.recv(65536)
                        if not chunk:
                            return
                        request += chunk
                    reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
                    conn.sendall(reply.head)
                    for piece in reply.drip:
                        if self.stopping.wait(reply.every):
                            return
                        conn.sendall(piece)
            except OSError:
                return

    def close(self) -> None:
        self.stopping.set()
        self.sock.close()


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server()
    try:
        yield srv
    finally:
        srv.close()


def _bomb(status: int, decoded: int) -> Reply:
    body = gzip.compress(b"[" + b" " * (decoded - 2) + b"]", compresslevel=9)
    head = response(status, body, {"Content-Type": "application/json", "Content-Encoding": "gzip"})
    return Reply(head)


@pytest.mark.parametrize("status", [200, 404, 500])
def test_a_gzip_bomb_is_cut_at_the_response_cap(server: Server, status: int) -> None:
    # 4x the cap once decoded, from a body of a few hundred KiB.
    server.replies = [_bomb(status, 4 * MAX_RESPONSE_BYTES)]
    with Chronicle(server.url, KEY) as chronicle:
        tracemalloc.start()
        try:
            with pytest.raises(ChronicleError, match="larger than") as caught:
                chronicle.experiments.get("e1")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert "64 MiB" in str(caught.value)
    assert peak < MAX_RESPONSE_BYTES + 8 * MIB, f"held {peak / MIB:.0f} MiB"


def test_a_declared_length_past_the_cap_is_refused_before_reading(server: Server) -> None:
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {MAX_RESPONSE_BYTES + 1}\r\n\r\n".encode()
    server.replies = [Reply(head)]  # the body never comes: only the header is read
    with Chronicle(server.url, KEY, timeout=5) as chronicle:
        started = time.monotonic()
        with pytest.raises(ChronicleError, match="larger than"):
            chronicle.runs.get("r1")
    assert time.monotonic() - started < 4  # not a timeout waiting for the body


def test_a_body_just_under_the_cap_is_read(server: Server) -> None:
    body = json.dumps({"detail": "x" * (MAX_RESPONSE_BYTES - 100)}).encode()
    server.replies = [Reply(response(404, body, {"Content-Type": "application/json"}))]
    with Chronicle(server.url, KEY) as chronicle, pytest.raises(NotFoundError) as caught:
        chronicle.runs.get("r1")
    assert len(caught.value.message) == MAX_RESPONSE_BYTES - 100


@pytest.mark.parametrize(
    ("status", "error"),
    [(200, ResponseValidationError), (404, NotFoundError), (500, ServerError)],
)
def test_deeply_nested_json_is_a_chronicle_error(
    server: Server, status: int, error: type[ChronicleError]
) -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    server.replies = [Reply(response(status, body, {"Content-Type": "application/json"}))]
    with Chronicle(server.url, KEY) as chronicle, pytest.raises(error):
        chronicle.experiments.get("e1")


def _drip(status: int, body: bytes, every: float = 0.2) -> Reply:
    head = f"HTTP/1.1 {status} OK\r\nContent-Length: {len(body)}\r\n"
    head += "Content-Type: application/json\r\n\r\n"
    return Reply(head.encode(), [body[i : i + 1] for i in range(len(body))], every)


DRIPPED = json.dumps({"items": [], "next_cursor": None, "padding": "x" * 20}).encode()


def test_timeout_bounds_the_whole_call_when_the_body_drips(server: Server) -> None:
    server.replies = [_drip(200, DRIPPED)]  # ~12 s in all, never 0.5 s of silence
    with Chronicle(server.url, KEY, timeout=0.5) as chronicle:
        started = time.monotonic()
        with pytest.raises(APITimeoutError, match=r"timeout=0\.5 s"):
            chronicle.experiments.list()
        elapsed = time.monotonic() - started
    assert elapsed < 1.5, f"the call took {elapsed:.1f} s with timeout=0.5"


def test_timeout_bounds_the_whole_call_when_the_headers_drip(server: Server) -> None:
    head = response(200, DRIPPED, {"Content-Type": "application/json"})
    server.replies = [Reply(b"", [head[i : i + 1] for i in range(len(head))], 0.2)]
    with Chronicle(server.url, KEY, timeout=0.5) as chronicle:
        started = time.monotonic()
        with pytest.raises(APITimeoutError):
            chronicle.experiments.list()
        elapsed = time.monotonic() - started
    assert elapsed < 1.5, f"the call took {elapsed:.1f} s with timeout=0.5"


def test_a_with_options_timeout_bounds_the_whole_call(server: Server) -> None:
    # A per-call timeout replaces the client's total deadline, not only its per-read one.
    server.replies = [_drip(200, DRIPPED)]
    with Chronicle(server.url, KEY) as chronicle:  # 30 s: the dripping body would finish
        started = time.monotonic()
        with pytest.raises(APITimeoutError, match=r"timeout=0\.5 s"):
            chronicle.with_options(timeout=0.5).experiments.list()
        elapsed = time.monotonic() - started
    assert elapsed < 1.5, f"the call took {elapsed:.1f} s with_options(timeout=0.5)"


def test_a_longer_with_options_timeout_lets_a_slow_call_finish(server: Server) -> None:
    # ~1.1 s of dripping, never 0.5 s of silence: past the client's total, within the call's.
    body = json.dumps({"items": [], "next_cursor": None}).encode()
    server.replies = [_drip(200, body, every=0.03)]
    with Chronicle(server.url, KEY, timeout=0.5) as chronicle:
        with pytest.raises(APITimeoutError):
            chronicle.experiments.list()
        assert chronicle.with_options(timeout=10).experiments.list().items == []
        # An httpx2.Timeout is per operation only: no total deadline either.
        per_read = chronicle.with_options(timeout=httpx2.Timeout(0.5))
        assert per_read.experiments.list().items == []


def test_an_in_process_call_slower_than_its_timeout_raises() -> None:
    # The test client cannot interrupt the app; the deadline still holds once it answers.
    with FakeChronicle.in_process() as fake:
        fake.faults.add("runs.list", "latency", seconds=0.8)
        chronicle = fake.client("worker", timeout=0.5)
        with pytest.raises(APITimeoutError, match=r"timeout=0\.5 s"):
            chronicle.runs.list()
        assert chronicle.runs.list().items == []  # the next call, in time, works


def test_a_storage_download_keeps_a_stall_timeout_not_a_total_one(server: Server) -> None:
    body = b"0123456789"
    server.replies = [_drip(200, body, every=0.1)]  # 1 s in all, 0.1 s between bytes
    with Chronicle(server.url, KEY, timeout=0.5) as chronicle:
        transport = chronicle.transport
        with transport.storage_stream("GET", f"{server.url}/blob?signature=x") as answer:
            received = b"".join(answer.iter_bytes())
    assert received == body


RETRY_AFTER = {
    "seconds": ("120", 120.0),
    "zero": ("0", 0.0),
    # Used to be inf, and time.sleep(inf) raises OverflowError.
    "400-digits": ("9" * 400, MAX_RETRY_AFTER),
    "date-in-the-past": ("Fri, 01 Jan 1999 00:00:00 GMT", 0.0),
    "date-in-9999": ("Fri, 31 Dec 9999 23:59:59 GMT", MAX_RETRY_AFTER),
    "negative": ("-5", None),
    "fraction": ("1.5", None),
    "words": ("soon", None),
    "empty": ("", None),
}


@pytest.mark.parametrize(("header", "expected"), RETRY_AFTER.values(), ids=RETRY_AFTER.keys())
def test_retry_after_is_always_usable(server: Server, header: str, expected: float | None) -> None:
    body = json.dumps({"detail": "slow down"}).encode()
    server.replies = [Reply(response(429, body, {"Retry-After": header}))]
    with Chronicle(server.url, KEY) as chronicle, pytest.raises(RateLimitError) as caught:
        chronicle.runs.get("r1")
    assert caught.value.retry_after == expected  # finite: time.sleep() takes it


def test_an_http_date_retry_after_counts_from_now(server: Server) -> None:
    from email.utils import formatdate

    body = json.dumps({"detail": "slow down"}).encode()
    header = formatdate(time.time() + 30, usegmt=True)
    server.replies = [Reply(response(429, body, {"Retry-After": header}))]
    with Chronicle(server.url, KEY) as chronicle, pytest.raises(RateLimitError) as caught:
        chronicle.runs.get("r1")
    assert caught.value.retry_after is not None and 25 <= caught.value.retry_after <= 30
