"""Shared set-up for the runner suite: runs on the real fake, files, trackers."""

from __future__ import annotations

import hashlib
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx2
import pytest

from methodic import Chronicle
from methodic.tracker import UploadTracker

if TYPE_CHECKING:
    from methodic_fake.harness import FakeChronicle


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_files(directory: Path, sizes: dict[str, int], seed: int = 0) -> dict[str, Path]:
    """Random (incompressible, reproducible) files named by component."""
    rng = random.Random(seed)
    directory.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, size in sizes.items():
        path = directory / name
        path.write_bytes(rng.randbytes(size))
        files[name] = path
    return files


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll ``predicate`` until it holds; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(0.01)


def new_run_id(fake: FakeChronicle, *, resume_from_run_id: str | None = None) -> str:
    """A pending run of a fresh committed experiment (set up as a researcher)."""
    researcher = fake.client("researcher")
    exp = researcher.experiments.create("runner test")
    researcher.experiments.commit(exp.id)
    variation = researcher.variations.create(exp.id, config={"lr": 0.1, "steps": 3})
    return researcher.runs.create(variation.id, resume_from_run_id=resume_from_run_id).id


class RequestLog:
    """httpx2 event hooks recording every request the SDK sends (and concurrency)."""

    def __init__(self) -> None:
        self.requests: list[httpx2.Request] = []
        self._lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight_storage = 0
        self._storage_in_flight = 0

    def on_request(self, request: httpx2.Request) -> None:
        with self._lock:
            self.requests.append(request)
            if "/_storage/" in request.url.path:
                self._storage_in_flight += 1
                self.max_in_flight_storage = max(
                    self.max_in_flight_storage, self._storage_in_flight
                )

    def on_response(self, response: httpx2.Response) -> None:
        with self._lock:
            if "/_storage/" in response.request.url.path:
                self._storage_in_flight -= 1

    def storage(self, method: str | None = None) -> list[httpx2.Request]:
        return [
            r
            for r in self.requests
            if "/_storage/" in r.url.path and (method is None or r.method == method)
        ]


@pytest.fixture
def fake(methodic_fake: FakeChronicle) -> FakeChronicle:
    return methodic_fake


@pytest.fixture
def request_log() -> RequestLog:
    return RequestLog()


@pytest.fixture
def worker(fake: FakeChronicle, request_log: RequestLog) -> Iterator[Chronicle]:
    """A worker-key client whose every request is recorded in ``request_log``."""
    http = httpx2.Client(
        event_hooks={"request": [request_log.on_request], "response": [request_log.on_response]}
    )
    chronicle = Chronicle(fake.base_url, fake.worker_key, http_client=http)
    try:
        yield chronicle
    finally:
        chronicle.close()
        http.close()


@pytest.fixture
def researcher(fake: FakeChronicle) -> Chronicle:
    return fake.client("researcher")


@pytest.fixture
def tracker(tmp_path: Path) -> Iterator[UploadTracker]:
    with UploadTracker(tmp_path / "uploads.sqlite3") as t:
        yield t


@pytest.fixture
def run_id(fake: FakeChronicle) -> str:
    return new_run_id(fake)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    return make_files(
        tmp_path / "src", {"model.bin": 300_000, "optim.bin": 200_000, "meta.json": 1_000}
    )


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A Run without a tracker opens the default one: keep it out of the real ~/.cache.
    monkeypatch.setenv("XDG_CACHE_HOME", os.fspath(tmp_path / "xdg-cache"))
