"""Fault injection: each kind, FIFO order, both harnesses, and the HTTP admin API."""

from __future__ import annotations

import hashlib
import time

import pytest

from methodic import APIConnectionError, APIError, Chronicle, ServerError
from methodic_fake import FakeChronicle
from methodic_fake.faults import OPERATIONS

from .conftest import committed_variation


def _running(chronicle: Chronicle) -> str:
    _, variation_id = committed_variation(chronicle)
    run = chronicle.runs.create(variation_id)
    chronicle.runs.start(run.id)
    return run.id


@pytest.fixture(params=["server", "in-process"])
def any_fake(request: pytest.FixtureRequest, methodic_fake: FakeChronicle) -> FakeChronicle:
    """Faults must behave the same with and without a socket."""
    if request.param == "server":
        return methodic_fake
    fake = FakeChronicle.in_process()
    request.addfinalizer(fake.stop)
    return fake


def test_status_faults_are_consumed_in_order(any_fake: FakeChronicle) -> None:
    chronicle = any_fake.client()
    run_id = _running(chronicle)
    any_fake.faults.add("runs.heartbeat", "status", status=503, times=2)
    any_fake.faults.add("runs.heartbeat", "status", status=429, detail="slow down", retry_after=7)
    for _ in range(2):
        with pytest.raises(ServerError) as info:
            chronicle.runs.heartbeat(run_id)
        assert info.value.status_code == 503
        assert info.value.body == {"detail": "injected 503 for runs.heartbeat"}
    with pytest.raises(APIError) as limited:
        chronicle.runs.heartbeat(run_id)
    assert limited.value.status_code == 429 and limited.value.body == {"detail": "slow down"}
    assert limited.value.response is not None
    assert limited.value.response.headers["retry-after"] == "7"
    assert chronicle.runs.heartbeat(run_id).state == "running"  # queue drained
    assert any_fake.faults.pending() == []


def test_faults_only_hit_their_operation(any_fake: FakeChronicle) -> None:
    chronicle = any_fake.client()
    any_fake.faults.add("experiments.commit", "status", status=500)
    exp = chronicle.experiments.create("untouched")  # experiments.create: no fault
    with pytest.raises(ServerError):
        chronicle.experiments.commit(exp.id)
    assert chronicle.experiments.get(exp.id).state == "draft"  # the 500 changed nothing


def test_reset_before_handling_drops_the_request(any_fake: FakeChronicle) -> None:
    chronicle = any_fake.client()
    any_fake.faults.add("experiments.create", "reset")
    with pytest.raises(APIConnectionError):
        chronicle.experiments.create("lost")
    assert chronicle.experiments.list().items == []


def test_reset_after_handling_needs_the_idempotency_key(any_fake: FakeChronicle) -> None:
    chronicle = any_fake.client()
    any_fake.faults.add("experiments.create", "reset", phase="after")
    with pytest.raises(APIConnectionError):
        chronicle.experiments.create("applied", idempotency_key="retry-me")
    # The server did create it; the retry with the same key gets that one back.
    retried = chronicle.experiments.create("applied", idempotency_key="retry-me")
    assert [e.id for e in chronicle.experiments.list()] == [retried.id]


def test_truncated_put_stores_nothing(any_fake: FakeChronicle) -> None:
    chronicle = any_fake.client("worker")
    run_id = _running(any_fake.client())
    data = b"z" * 200_000
    created = chronicle.assets.create(
        kind="checkpoint",
        name="c",
        run_id=run_id,
        components=[{"name": "m", "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}],
    )
    any_fake.faults.add("storage.put", "truncate", after_bytes=65536)
    with pytest.raises(APIConnectionError):
        chronicle.transport.storage_request("PUT", created.upload_urls["m"], content=data)
    assert not chronicle.assets.get(created.asset.id).components[0].uploaded
    assert not any_fake.backend.blobs.path(created.asset.id, "m").exists()
    # The retry (same URL) goes through.
    chronicle.transport.storage_request("PUT", created.upload_urls["m"], content=data)
    assert chronicle.assets.finalize(created.asset.id).state == "ready"


def test_reset_on_storage_get(any_fake: FakeChronicle) -> None:
    chronicle = any_fake.client()
    exp = chronicle.experiments.create("t")
    asset = chronicle.assets.create_inline(
        kind="output", name="o", content="hi", experiment_id=exp.id
    )
    url = chronicle.assets.download_urls(asset.id)["content"]
    any_fake.faults.add("storage.get", "reset")
    with pytest.raises(APIConnectionError):
        chronicle.transport.storage_request("GET", url)
    assert chronicle.transport.storage_request("GET", url).content == b"hi"


def test_latency_delays_then_succeeds(any_fake: FakeChronicle) -> None:
    chronicle = any_fake.client()
    any_fake.faults.add("experiments.list", "latency", seconds=0.2)
    start = time.monotonic()
    assert chronicle.experiments.list().items == []
    assert time.monotonic() - start >= 0.2


def test_a_delayed_request_whose_client_died_ends_with_it(
    tmp_path: object, caplog: pytest.LogCaptureFixture
) -> None:
    # The client is SIGKILLed while a latency fault holds its request: the request must
    # end then (unhandled), not hold stop() to uvicorn's 5 s graceful-shutdown timeout.
    import signal
    import subprocess
    import sys

    fake = FakeChronicle.start()
    try:
        researcher = fake.client()
        fake.faults.add("experiments.create", "latency", seconds=60)
        code = (
            "import httpx2\n"
            f"httpx2.post({fake.base_url + '/experiments'!r}, json={{'title': 'never'}},\n"
            f"    headers={{'Authorization': 'Bearer {fake.researcher_token}'}}, timeout=120)\n"
        )
        child = subprocess.Popen([sys.executable, "-c", code])
        deadline = time.monotonic() + 30
        while fake.faults.pending() and time.monotonic() < deadline:
            time.sleep(0.02)  # until the request has taken its fault
        assert fake.faults.pending() == []
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        time.sleep(0.5)
        assert [e.title for e in researcher.experiments.list()] == []  # dropped, unhandled
    finally:
        started = time.monotonic()
        fake.stop()
        stopped_in = time.monotonic() - started
    assert stopped_in < 2.5, f"stop() waited {stopped_in:.1f}s for a dead client's request"
    assert "timeout graceful shutdown exceeded" not in caplog.text


def test_stopping_the_fake_ends_a_delayed_request_at_once() -> None:
    import threading

    fake = FakeChronicle.start()
    chronicle = fake.client(timeout=120)
    fake.faults.add("experiments.list", "latency", seconds=60)
    errors: list[BaseException] = []

    def call() -> None:
        try:
            chronicle.experiments.list()
        except BaseException as exc:
            errors.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    deadline = time.monotonic() + 30
    while fake.faults.pending() and time.monotonic() < deadline:
        time.sleep(0.02)
    started = time.monotonic()
    fake.stop()
    caller.join(timeout=30)
    assert time.monotonic() - started < 2.5
    assert [type(e) for e in errors] == [APIConnectionError]


def test_invalid_faults_are_refused(fake: FakeChronicle) -> None:
    with pytest.raises(ValueError, match="unknown operation"):
        fake.faults.add("experiments.delete", "status")
    with pytest.raises(ValueError, match="unknown fault kind"):
        fake.faults.add("runs.get", "explode")
    with pytest.raises(ValueError, match=r"storage\.put only"):
        fake.faults.add("runs.get", "truncate", after_bytes=1)
    with pytest.raises(ValueError, match="4xx or 5xx"):
        fake.faults.add("runs.get", "status", status=200)


def test_operation_names_match_the_routes(fake: FakeChronicle) -> None:
    route_names = {getattr(r, "name", None) for r in fake.app.state.operation_routes}
    assert set(OPERATIONS) == route_names


def test_http_admin_api(fake: FakeChronicle) -> None:
    admin = fake.http(None)
    added = admin.post(
        "/_fake/faults", json={"operation": "runs.get", "kind": "status", "status": 502, "times": 2}
    )
    assert added.status_code == 201
    assert [f["status"] for f in added.json()["faults"]] == [502, 502]
    listed = admin.get("/_fake/faults").json()
    assert len(listed["faults"]) == 2 and "storage.put" in listed["operations"]
    http = fake.http("researcher")
    assert http.get("/runs/anything").status_code == 502
    assert admin.delete("/_fake/faults", params={"operation": "runs.get"}).status_code == 204
    assert http.get("/runs/anything").status_code == 404
    bad = admin.post("/_fake/faults", json={"operation": "nope", "kind": "status"})
    assert bad.status_code == 400 and "unknown operation" in bad.json()["detail"]


def test_injected_resets_are_not_logged_as_server_errors(
    fake: FakeChronicle, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    chronicle = fake.client()
    fake.faults.add("experiments.list", "reset")
    with caplog.at_level(logging.WARNING):
        with pytest.raises(APIConnectionError):
            chronicle.experiments.list()
        chronicle.experiments.list()  # the server has finished with the aborted request
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


def _raw_exchange(base_url: str, request: bytes) -> bytes:
    """Send one raw HTTP/1.1 request and return every byte the server sent back."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(base_url)
    received = b""
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as sock:
        try:
            sock.sendall(request)
            while chunk := sock.recv(65536):
                received += chunk
        except (ConnectionResetError, BrokenPipeError):
            pass
    return received


def _inline_download_path(fake: FakeChronicle) -> str:
    chronicle = fake.client()
    exp = chronicle.experiments.create("t")
    asset = chronicle.assets.create_inline(
        kind="output", name="o", content="hi", experiment_id=exp.id
    )
    url = chronicle.assets.download_urls(asset.id)["content"]
    return url[len(fake.base_url) :]


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("phase", ["before", "after"])
def test_reset_never_sends_a_status_line(fake: FakeChronicle, method: str, phase: str) -> None:
    """A reset is a broken connection, not a 200 (or 500) head followed by silence."""
    path = _inline_download_path(fake)
    fake.faults.add("storage.get", "reset", phase=phase)
    request = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
    assert _raw_exchange(fake.base_url, request) == b""
    assert fake.faults.pending() == []


def test_truncate_never_sends_a_status_line(fake: FakeChronicle) -> None:
    chronicle = fake.client("worker")
    run_id = _running(fake.client())
    data = b"z" * 4096
    created = chronicle.assets.create(
        kind="checkpoint",
        name="c",
        run_id=run_id,
        components=[{"name": "m", "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}],
    )
    path = created.upload_urls["m"][len(fake.base_url) :]
    fake.faults.add("storage.put", "truncate", after_bytes=1024)
    head = f"PUT {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(data)}\r\n\r\n"
    assert _raw_exchange(fake.base_url, head.encode() + data) == b""


def test_reset_on_head_in_process_is_a_connection_error(in_process: FakeChronicle) -> None:
    import httpx2

    path = _inline_download_path(in_process)
    in_process.faults.add("storage.get", "reset")
    with pytest.raises(httpx2.TransportError):
        in_process.http(None).head(path)
