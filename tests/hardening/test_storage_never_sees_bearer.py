"""Guarantee: the bearer token never reaches storage, checked where storage would see it.

A tiny ASGI middleware wraps the fake's app and records the headers of every
request that arrives under ``/_storage`` (the fake's object store, reached through
presigned URLs). The SDK then uploads and downloads through every path it has,
over a real socket (uvicorn) and in-process: the upload engine (presign, PUT,
finalize), a resumed upload with refreshed URLs, ``Run.upload_asset``,
``Run.register_and_upload_async``, ``Run.download_checkpoint``, streaming download,
and the raw ``Transport.storage_request``. Server-side, no storage request may carry an
``Authorization`` header or any header value containing a token, and there must
have been storage traffic to check (so the assertion can't pass vacuously).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from methodic import Chronicle, Run
from methodic.downloads import download_asset
from methodic.tracker import UploadTracker
from methodic.uploads import UploadEngine
from methodic_fake import FakeChronicle
from methodic_fake.server import ServerThread


class StorageSpy:
    """ASGI middleware: remember the headers of every storage request, pass all through."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seen: list[tuple[str, str, dict[str, str]]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/_storage/"):
            headers = {
                k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]
            }
            self.seen.append((scope["method"], scope["path"], headers))
        await self.app(scope, receive, send)


@pytest.fixture
def fake() -> Iterator[FakeChronicle]:
    with FakeChronicle.in_process() as fake:
        yield fake


def _exercise_storage(researcher: Chronicle, chronicle: Chronicle, tmp_path: Path) -> None:
    """Every SDK path that talks to presigned URLs, as ``chronicle``'s principal."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    exp = researcher.experiments.create("storage spy")
    var = researcher.variations.create(exp.id, config_json={})
    researcher.experiments.commit(exp.id)
    run = researcher.runs.create(var.id)
    chronicle.runs.start(run.id)
    first, second = tmp_path / "a.bin", tmp_path / "b.bin"
    first.write_bytes(b"a" * 300_000)
    second.write_bytes(b"b" * 1000)
    with UploadTracker(tmp_path / "journal.sqlite3") as tracker:
        engine = UploadEngine(chronicle, tracker, chunk_size=64 * 1024)
        asset = engine.upload(
            kind="checkpoint", name="spy", files={"a": first, "b": second}, run_id=run.id
        )
        download_asset(chronicle, asset, tmp_path / "down")
        # A resumed upload fetches fresh URLs and PUTs again.
        half = engine.register(kind="output", name="resumed", files={"b": second}, run_id=run.id)
        assert half.record.claim_token is not None
        tracker.release(half.record.key, half.record.claim_token)
        (record,) = tracker.incomplete()
        assert engine.resume(record) is not None
        # The runner's own paths: sync and background uploads, checkpoint download.
        handle = Run(chronicle, run.id, tracker=tracker)
        handle.upload_asset("checkpoint", "via run", {"a": first})
        handle.register_and_upload_async("output", "in background", {"b": second}).result(30)
        resumed = Run(chronicle, researcher.runs.create(var.id, resume_from_run_id=run.id))
        assert resumed.download_checkpoint(tmp_path / "resume") is not None
    # The raw transport seam, for callers that bypass the engine.
    urls = chronicle.assets.download_urls(asset.id)
    response = chronicle.transport.storage_request("GET", urls["b"])
    assert response.content == b"b" * 1000


def _assert_clean(spy: StorageSpy, tokens: list[str]) -> None:
    methods = {method for method, _, _ in spy.seen}
    assert {"PUT", "GET"} <= methods, f"storage traffic not exercised: {spy.seen}"
    for method, path, headers in spy.seen:
        assert "authorization" not in headers, f"{method} {path} carried Authorization"
        assert "proxy-authorization" not in headers, f"{method} {path}"
        for value in headers.values():
            for token in tokens:
                assert token not in value, f"{method} {path} carried a token in a header"


def test_bearer_never_reaches_storage_over_a_socket(
    fake: FakeChronicle, tmp_path: Path, figures: Any
) -> None:
    spy = StorageSpy(fake.app)
    server = ServerThread(spy)
    server.start()
    try:
        with Chronicle(server.base_url, fake.researcher_token) as researcher:
            for role in ("researcher", "agent", "worker"):
                with Chronicle(server.base_url, fake.token(role)) as chronicle:
                    _exercise_storage(researcher, chronicle, tmp_path / role)
    finally:
        server.stop()
    _assert_clean(spy, list(fake.keys.values()))
    figures.add("storage requests inspected for bearer tokens", len(spy.seen))


# starlette's TestClient warns that the SDK passes a timeout; harmless without a socket.
@pytest.mark.filterwarnings("ignore:You should not use the 'timeout' argument")
def test_bearer_never_reaches_storage_in_process(
    fake: FakeChronicle, tmp_path: Path, figures: Any
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    spy = StorageSpy(fake.app)
    # One shared httpx2 client for Chronicle and storage, as in-process use does: a
    # default Authorization header on it would reach storage, and must not exist.
    http_client = TestClient(spy, base_url=fake.base_url)
    with Chronicle(fake.base_url, fake.researcher_token, http_client=http_client) as chronicle:
        _exercise_storage(chronicle, chronicle, tmp_path)
    http_client.close()
    _assert_clean(spy, list(fake.keys.values()))
    figures.add("storage requests inspected for bearer tokens", len(spy.seen))
