"""`FakeChronicle.connect()`: drive a fake served by another process (a dev server) over
its `/_fake` admin API, with the same calls as a fake of one's own."""

from __future__ import annotations

import http.server
import math
import socket
import threading
from collections.abc import Iterator

import pytest

from methodic import PermissionDeniedError
from methodic_fake import FakeChronicle


@pytest.fixture(scope="module")
def server() -> Iterator[FakeChronicle]:
    """The fake as a server would hold it; the tests reach it only over HTTP."""
    with FakeChronicle.start() as fake:
        yield fake


@pytest.fixture
def remote(server: FakeChronicle) -> Iterator[FakeChronicle]:
    server.reset()
    with FakeChronicle.connect(server.base_url) as handle:
        yield handle


def test_keys_and_clients_are_the_servers(server: FakeChronicle, remote: FakeChronicle) -> None:
    assert remote.keys == server.keys
    assert (remote.researcher_token, remote.worker_key) == (
        server.researcher_token,
        server.worker_key,
    )
    exp = remote.client("researcher").experiments.create("over the socket")
    assert server.client().experiments.get(exp.id).title == "over the socket"
    with pytest.raises(PermissionDeniedError):
        remote.client("worker").experiments.create("a worker may not")
    assert remote.http(None).get("/experiments").status_code == 401


def test_the_clock_moves_on_the_server(server: FakeChronicle, remote: FakeChronicle) -> None:
    remote.freeze()
    assert server.clock.frozen
    before = server.now()
    remote.advance(minutes=15, seconds=1)
    assert server.now() == pytest.approx(before + 901, abs=1e-6)
    assert remote.now() == pytest.approx(server.now(), abs=1e-6)
    remote.unfreeze()
    assert not server.clock.frozen


def test_the_watchdog_fires_on_the_servers_clock(remote: FakeChronicle) -> None:
    researcher, worker = remote.client("researcher"), remote.client("worker")
    exp = researcher.experiments.create("t")
    researcher.experiments.commit(exp.id)
    run = researcher.runs.create(researcher.variations.create(exp.id, config={"lr": 1}).id)
    worker.runs.start(run.id)
    remote.advance(minutes=15, seconds=1)
    assert worker.runs.get(run.id).failure_reason == "heartbeat_timeout"


def test_faults_are_queued_listed_and_cleared_on_the_server(
    server: FakeChronicle, remote: FakeChronicle
) -> None:
    remote.faults.add("runs.heartbeat", "status", status=503, times=2)
    remote.faults.add("storage.put", "truncate", after_bytes=1024)
    assert remote.faults.pending() == server.faults.pending()
    assert [f["operation"] for f in remote.faults.pending()] == ["runs.heartbeat"] * 2 + [
        "storage.put"
    ]
    assert len(remote.faults) == 3
    remote.faults.clear("runs.heartbeat")
    assert [f["operation"] for f in server.faults.pending()] == ["storage.put"]
    remote.faults.clear()
    assert len(server.faults) == 0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda f: f.faults.add("no.such.op", "reset"), "unknown operation"),
        (lambda f: f.faults.add("storage.get", "truncate"), "truncate faults apply to"),
        (lambda f: f.faults.add("runs.get", "status", status=200), "status"),
        (lambda f: f.faults.add("runs.get", "latency", seconds=4000), "seconds"),
        (lambda f: f.advance(-1), "seconds"),
        (lambda f: f.advance(math.nan), "JSON"),
    ],
    ids=["operation", "combination", "status", "latency", "negative", "nan"],
)
def test_refusals_are_value_errors_as_locally(
    server: FakeChronicle, remote: FakeChronicle, call: object, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        call(remote)  # type: ignore[operator]
    assert server.faults.pending() == [] and server.clock.offset == 0


def test_search_switch_and_reset(server: FakeChronicle, remote: FakeChronicle) -> None:
    remote.search_configured = False
    assert remote.search_configured is False and server.search_configured is False
    remote.client().experiments.create("forgotten")
    remote.reset()
    assert server.search_configured is True
    assert list(server.client().experiments.list()) == []


def test_the_handle_never_stops_the_server(server: FakeChronicle) -> None:
    handle = FakeChronicle.connect(server.base_url)
    chronicle = handle.client()
    assert handle.connected and not handle.in_process_mode
    assert repr(handle) == f"FakeChronicle(connected, base_url={server.base_url!r})"
    assert handle.worker_key not in repr(handle)
    for what in ("backend", "app", "clock"):
        with pytest.raises(RuntimeError, match="another process"):
            getattr(handle, what)
    handle.stop()
    assert handle.stopped
    with pytest.raises(RuntimeError, match="stopped"):
        handle.client()
    assert server.client().experiments.list().items is not None  # still serving
    with pytest.raises(Exception, match="closed"):
        chronicle.experiments.list()


def test_the_url_defaults_to_chronicle_base_url(
    server: FakeChronicle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHRONICLE_BASE_URL", server.base_url + "/")
    with FakeChronicle.connect() as handle:
        assert handle.base_url == server.base_url
    monkeypatch.delenv("CHRONICLE_BASE_URL")
    with pytest.raises(RuntimeError, match="CHRONICLE_BASE_URL"):
        FakeChronicle.connect()


def test_nothing_listening_says_how_to_start_one() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(
        RuntimeError, match=r"no methodic-fake server answers at .*methodic-fake serve"
    ):
        FakeChronicle.connect(f"http://127.0.0.1:{port}")


def test_a_server_without_the_admin_api_is_not_a_fake() -> None:
    class NotFound(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_error(404)

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NotFound)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        with pytest.raises(RuntimeError, match="is not a methodic-fake server"):
            FakeChronicle.connect(f"http://127.0.0.1:{httpd.server_address[1]}")
    finally:
        httpd.shutdown()
        httpd.server_close()
