"""Guarantee: an API key never shows up anywhere a human or a log shipper could read it.

Canary credentials (a researcher token, an agent key and a worker key the fake is
told to accept, plus an unknown key it must refuse) are used for real work against
a uvicorn-served fake, with every relevant logger at DEBUG: ``methodic``, the
fake's, uvicorn's, httpx2's and httpcore2's. Afterwards the secret part of every
canary must be absent from:

- every log record (message, arguments and formatted tracebacks) and anything
  written to the process's stdout/stderr;
- ``repr``/``str`` of the client, its transport and namespaces, handles, the
  tracker, the fake harness and response objects;
- ``str``/``repr`` and full formatted tracebacks (with chained causes) of the
  exceptions raised for 401, 403, 404, 409, a refused connection and a failed upload;
- the upload tracker's SQLite files, read as raw bytes (main file, WAL and SHM);
- cassettes recorded by the contract recorder with these keys.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import socket
import threading
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from methodic import (
    APIConnectionError,
    AuthenticationError,
    Chronicle,
    ChronicleError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
)
from methodic.downloads import download_asset
from methodic.tracker import UploadTracker
from methodic.uploads import UploadEngine
from methodic_fake import FakeChronicle
from methodic_fake.server import base_url_of, bind_socket, make_server

_TAIL = secrets.token_hex(8)
RESEARCHER = f"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjYW5hcnkifQ.CanaryResearcherSig{_TAIL}"
AGENT = f"sk_agent_a9e47c0de001CanaryAgentSecret{_TAIL}"
WORKER = f"sk_worker_b0b0c0de0002CanaryWorkerSecret{_TAIL}"
UNKNOWN = f"sk_worker_ffffc0de0003CanaryUnknownSecret{_TAIL}"
# What must never appear: each secret in full and the part after its public prefix
# (a redacted hint like "sk_worker_b0b0…" is fine; the secret is not).
NEEDLES = {
    "researcher token": RESEARCHER,
    "researcher signature": RESEARCHER.rsplit(".", 1)[1],
    "agent key": AGENT,
    "agent secret": AGENT[len("sk_agent_") + 12 :],
    "worker key": WORKER,
    "worker secret": WORKER[len("sk_worker_") + 12 :],
    "unknown key": UNKNOWN,
    "unknown secret": UNKNOWN[len("sk_worker_") + 12 :],
}
LOGGERS = (
    "",
    "methodic",
    "methodic_fake",
    "uvicorn",
    "uvicorn.error",
    "uvicorn.access",
    "httpx2",
    "httpcore2",
)


def find_leaks(text: str | bytes, where: str) -> list[str]:
    data = text if isinstance(text, bytes) else text.encode("utf-8", "backslashreplace")
    return [f"{what} in {where}" for what, needle in NEEDLES.items() if needle.encode() in data]


class Capture(logging.Handler):
    """Keeps every formatted record, tracebacks included."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))
        self.lines.append(repr(record.args))


@pytest.fixture
def debug_logs() -> Iterator[Capture]:
    capture = Capture()
    saved = []
    for name in LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level))
        logger.setLevel(logging.DEBUG)
        logger.addHandler(capture)
    try:
        yield capture
    finally:
        for logger, level in saved:
            logger.removeHandler(capture)
            logger.setLevel(level)


class ChattyServer:
    """The fake under uvicorn with DEBUG logging and the access log on.

    The harness runs uvicorn quietly (warnings only, no access log); a leak hunt
    wants uvicorn as talkative as it can be, so this builds the server itself from
    the fake's own socket and server factories.
    """

    def __init__(self, app: Any) -> None:
        self.sock = bind_socket("127.0.0.1", 0)
        self.base_url = base_url_of(self.sock)
        self.server = make_server(app, self.sock, log_level="debug", access_log=True)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self) -> ChattyServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.005)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


@pytest.fixture
def fake() -> Iterator[FakeChronicle]:
    keys = {"researcher": RESEARCHER, "agent": AGENT, "worker": WORKER}
    with FakeChronicle.in_process(keys=keys) as fake:
        assert fake.worker_key == WORKER  # the canaries are what the fake really accepts
        yield fake


@pytest.fixture
def served(fake: FakeChronicle, debug_logs: Capture) -> Iterator[str]:
    """Base URL of a chatty uvicorn serving ``fake`` (logs captured from its first line)."""
    with ChattyServer(fake.app) as server:
        yield server.base_url


def _exception_texts(exc: BaseException) -> list[str]:
    return [str(exc), repr(exc), "".join(traceback.format_exception(exc))]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_canary_keys_leak_nowhere(
    fake: FakeChronicle,
    served: str,
    debug_logs: Capture,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    figures: Any,
) -> None:
    from methodic import Experiment, Run

    texts: list[tuple[str, str]] = []
    researcher = Chronicle(served, RESEARCHER)
    agent = Chronicle(served, AGENT)
    worker = Chronicle(served, WORKER)
    tracker = UploadTracker(tmp_path / "uploads.sqlite3")

    # Real work, by every principal.
    exp = Experiment.create(researcher, "canary")
    variation = exp.variations.create(config={"lr": 0.1})
    exp.commit()
    parent = agent.experiments.create("canary child", parent_ids=[exp.id])
    run_id = researcher.runs.create(variation.id).id
    run = Run(worker, run_id, tracker=tracker)
    run.start(environment={"host": "canary"})
    run.heartbeat(progress={"step": 1})
    payload = tmp_path / "weights.bin"
    payload.write_bytes(b"w" * 4096)
    asset = run.upload_asset("checkpoint", "ckpt", {"weights": payload})
    background = run.register_and_upload_async("output", "eval", {"metrics": payload})
    run.upload_inline("environment", "env", {"python": "3"})
    assert background.result(timeout=30).state == "ready"
    download_asset(worker, asset, tmp_path / "down")
    resumed_run = Run(worker, researcher.runs.create(variation.id, resume_from_run_id=run_id))
    assert resumed_run.download_checkpoint(tmp_path / "resume") is not None
    engine = UploadEngine(worker, tracker)
    # An upload left unfinished in the journal: its row must not hold a key either.
    half = engine.register(kind="output", name="half", files={"part": payload}, run_id=run_id)
    assert half.record.claim_token is not None
    tracker.release(half.record.key, half.record.claim_token)  # as if its process had died
    for obj in (
        researcher,
        worker,
        researcher.transport,
        researcher.experiments,
        worker.runs,
        worker.assets,
        exp,
        run,
        resumed_run,
        tracker,
        fake,
        asset,
        variation,
        parent,
    ):
        texts.append((f"repr({type(obj).__name__})", repr(obj)))
        texts.append((f"str({type(obj).__name__})", str(obj)))

    # Every kind of failure, as each principal.
    failures: list[BaseException] = []
    with Chronicle(served, UNKNOWN) as intruder:
        with pytest.raises(AuthenticationError) as info:
            intruder.experiments.list()
        failures.append(info.value)
    with pytest.raises(PermissionDeniedError) as info:
        worker.experiments.create("not allowed")
    failures.append(info.value)
    with pytest.raises(NotFoundError) as info:
        agent.runs.get("no-such-run")
    failures.append(info.value)
    with pytest.raises(ConflictError) as info:
        researcher.experiments.commit(exp.id)
    failures.append(info.value)
    with Chronicle(f"http://127.0.0.1:{_closed_port()}", WORKER, timeout=2) as dead:
        with pytest.raises(APIConnectionError) as info:
            dead.runs.heartbeat(run_id)
        failures.append(info.value)
    payload.write_bytes(b"changed")  # the journaled file changed: resuming must refuse
    with pytest.raises(ChronicleError) as info:
        run.resume_uploads()
    failures.append(info.value)
    with pytest.raises(ChronicleError) as info:
        run.succeed()  # refused: the journal still holds an unfinished upload
    failures.append(info.value)
    for exc in failures:
        texts.extend((f"{type(exc).__name__}", t) for t in _exception_texts(exc))
    run.fail(reason="crash", message="canary test")

    for client in (researcher, agent, worker):
        client.close()
    tracker.close()

    leaks: list[str] = []
    for where, text in texts:
        leaks += find_leaks(text, where)
    leaks += find_leaks("\n".join(debug_logs.lines), "DEBUG logs")
    out, err = capfd.readouterr()
    leaks += find_leaks(out + err, "stdout/stderr")
    # The journal, its WAL, and the claim lock files in its `-owners` directory.
    tracker_files = [
        path
        for found in tmp_path.glob("uploads.sqlite3*")
        for path in ([found] if found.is_file() else sorted(found.rglob("*")))
        if path.is_file()
    ]
    for path in sorted(tracker_files):
        leaks += find_leaks(path.read_bytes(), f"tracker file {path.name}")
    assert not leaks, "\n".join(leaks)

    # Guards against a vacuous pass: the logs and journal really were exercised.
    assert any(line.startswith("methodic ") for line in debug_logs.lines), (
        "methodic logged nothing at DEBUG"
    )
    assert any(line.startswith("uvicorn.access") for line in debug_logs.lines), "no access log"
    assert (tmp_path / "uploads.sqlite3").stat().st_size > 0
    figures.set("secrets: canary texts scanned", len(texts) + len(debug_logs.lines))


def test_canary_keys_never_reach_cassettes(tmp_path: Path) -> None:
    from contract.scenarios import SCENARIOS
    from contract.targets import fake_target, record_scenario

    with FakeChronicle.start(
        keys={"researcher": RESEARCHER, "agent": AGENT, "worker": WORKER}
    ) as fake:
        target = fake_target(fake)
        for name, scenario in SCENARIOS.items():
            record_scenario(scenario, target, tmp_path / f"{name}.yaml")
    cassettes = sorted(tmp_path.glob("*.yaml"))
    assert len(cassettes) == len(SCENARIOS)
    leaks: list[str] = []
    for path in cassettes:
        data = path.read_bytes()
        assert b"interactions" in data
        leaks += find_leaks(data, path.name)
    assert not leaks, "\n".join(leaks)


def test_the_scanner_itself_finds_a_planted_canary() -> None:
    """Without this, a broken scanner would make the tests above pass vacuously."""
    assert find_leaks(f"Authorization: Bearer {WORKER}", "plant")
    assert find_leaks(f"...{NEEDLES['researcher signature']}...".encode(), "plant")
    assert not find_leaks("sk_worker_b0b0c0de0002…", "a redacted hint")
    digest = hashlib.sha256(WORKER.encode()).hexdigest()
    assert not find_leaks(digest, "a hash")
