"""The upload engine against the real fake: streaming, parallelism, resume, faults."""

from __future__ import annotations

import io
import os
import sqlite3
import threading
import time
import tracemalloc
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from methodic import Chronicle, IntegrityError, UploadError
from methodic import tracker as tracker_module
from methodic.downloads import download_asset
from methodic.tracker import UploadTracker
from methodic.types import Asset, AssetComponent
from methodic.uploads import UploadEngine, describe_file, tqdm_progress

from .conftest import RequestLog, make_files, sha256_file

if TYPE_CHECKING:
    from methodic_fake.harness import FakeChronicle


@pytest.fixture
def engine(worker: Chronicle, tracker: UploadTracker, run_id: str) -> UploadEngine:
    worker.runs.start(run_id)
    return UploadEngine(worker, tracker, chunk_size=64 * 1024)


def _assert_ready_and_matching(
    asset_components: list[AssetComponent], files: dict[str, Path]
) -> None:
    by_name = {c.name: c for c in asset_components}
    assert set(by_name) == set(files)
    for name, path in files.items():
        assert by_name[name].sha256 == sha256_file(path)
        assert by_name[name].size == path.stat().st_size
        assert by_name[name].uploaded


def _run_assets(researcher: Chronicle, run_id: str) -> list[Asset]:
    return list(researcher.assets.list(run_id=run_id))


def test_upload_streams_each_component_once_without_the_bearer_token(
    engine: UploadEngine,
    files: dict[str, Path],
    run_id: str,
    request_log: RequestLog,
    fake: FakeChronicle,
) -> None:
    asset = engine.upload(kind="checkpoint", name="step-1", files=files, run_id=run_id)

    assert asset.state == "ready"
    _assert_ready_and_matching(asset.components, files)
    types = {c.name: c.content_type for c in asset.components}
    assert types == {
        "model.bin": "application/octet-stream",
        "optim.bin": "application/octet-stream",
        "meta.json": "application/json",
    }
    assert engine.tracker.incomplete() == []
    puts = request_log.storage("PUT")
    assert sorted(p.url.path.rsplit("/", 1)[1] for p in puts) == sorted(files)
    for put in puts:
        name = put.url.path.rsplit("/", 1)[1]
        # Streamed with a declared length: no chunked encoding, no buffering.
        assert put.headers["content-length"] == str(files[name].stat().st_size)
        assert "transfer-encoding" not in put.headers
        assert "authorization" not in put.headers
    chronicle_calls = [r for r in request_log.requests if "/_storage/" not in r.url.path]
    assert chronicle_calls
    assert all(r.headers["authorization"] == f"Bearer {fake.worker_key}" for r in chronicle_calls)
    assert all(fake.worker_key not in str(r.url) for r in puts)


def test_components_are_sent_in_parallel(
    engine: UploadEngine,
    files: dict[str, Path],
    run_id: str,
    request_log: RequestLog,
    fake: FakeChronicle,
) -> None:
    fake.faults.add("storage.put", "latency", seconds=0.3, times=3)

    engine.upload(kind="checkpoint", name="step-1", files=files, run_id=run_id)

    assert request_log.max_in_flight_storage >= 2


def test_parallelism_is_bounded(
    worker: Chronicle,
    tracker: UploadTracker,
    run_id: str,
    tmp_path: Path,
    request_log: RequestLog,
    fake: FakeChronicle,
) -> None:
    worker.runs.start(run_id)
    many = make_files(tmp_path / "many", {f"shard-{i}": 2_000 for i in range(6)})
    fake.faults.add("storage.put", "latency", seconds=0.2, times=6)
    engine = UploadEngine(worker, tracker, max_parallel_components=2)

    engine.upload(kind="output", name="shards", files=many, run_id=run_id)

    assert request_log.max_in_flight_storage == 2


def test_progress_reports_bytes_until_the_total(
    engine: UploadEngine, files: dict[str, Path], run_id: str
) -> None:
    calls: list[tuple[int, int]] = []
    total = sum(p.stat().st_size for p in files.values())

    engine.upload(
        kind="checkpoint",
        name="step-1",
        files=files,
        run_id=run_id,
        progress=lambda done, of: calls.append((done, of)),
    )

    assert len(calls) > len(files)  # per chunk, not per file
    assert all(of == total for _, of in calls)
    dones = [done for done, _ in calls]
    assert dones == sorted(dones) and dones[-1] == total


def test_tqdm_progress_draws_a_byte_bar(
    engine: UploadEngine, files: dict[str, Path], run_id: str
) -> None:
    out = io.StringIO()
    engine.upload(
        kind="checkpoint",
        name="step-1",
        files=files,
        run_id=run_id,
        progress=tqdm_progress("ckpt", file=out, mininterval=0),
    )
    text = out.getvalue()
    assert "ckpt" in text and "100%" in text


def test_client_memory_stays_flat_for_a_large_file(
    worker: Chronicle, tracker: UploadTracker, run_id: str, tmp_path: Path
) -> None:
    worker.runs.start(run_id)
    big = tmp_path / "big.bin"
    with open(big, "wb") as f:
        for _ in range(24):
            f.write(os.urandom(1 << 20))
    engine = UploadEngine(worker, tracker)  # 1 MiB chunks

    tracemalloc.start()
    try:
        engine.upload(kind="checkpoint", name="big", files={"big.bin": big}, run_id=run_id)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    # The file is 24 MiB; streaming keeps a few chunks alive at most (this includes
    # the fake, which runs in this process and streams to disk too).
    assert peak < 8 * (1 << 20)


def test_expired_upload_urls_are_refreshed(
    engine: UploadEngine,
    files: dict[str, Path],
    run_id: str,
    request_log: RequestLog,
    fake: FakeChronicle,
) -> None:
    prepared = engine.register(kind="checkpoint", name="late", files=files, run_id=run_id)
    fake.advance(hours=2)  # presigned URLs live one hour

    asset = engine.transfer(prepared)

    assert asset.state == "ready"
    # At least one PUT met a 403; components started after the refresh use fresh URLs.
    assert len(files) < len(request_log.storage("PUT")) <= 2 * len(files)
    refreshes = [r for r in request_log.requests if r.url.path.endswith("/upload-urls")]
    assert len(refreshes) == 1


def test_resume_trusts_the_server_about_stored_components(
    engine: UploadEngine,
    files: dict[str, Path],
    run_id: str,
    request_log: RequestLog,
    worker: Chronicle,
) -> None:
    prepared = engine.register(kind="checkpoint", name="step-1", files=files, run_id=run_id)
    engine.release(prepared)  # as if the process died right here...
    # ...after one PUT reached storage but before the tracker heard of it.
    worker.transport.storage_request(
        "PUT", prepared.upload_urls["model.bin"], content=files["model.bin"].read_bytes()
    )
    before = len(request_log.storage("PUT"))

    record = engine.tracker.get(prepared.record.key)
    assert record is not None and not any(c.uploaded for c in record.components)
    asset = engine.resume(record)

    assert asset is not None and asset.state == "ready"
    resumed_puts = request_log.storage("PUT")[before:]
    assert sorted(p.url.path.rsplit("/", 1)[1] for p in resumed_puts) == ["meta.json", "optim.bin"]
    assert engine.tracker.incomplete() == []


def test_resume_before_the_asset_was_created(
    engine: UploadEngine, files: dict[str, Path], run_id: str, researcher: Chronicle
) -> None:
    # Crash after the journal commit, before POST /assets was sent.
    record = engine.tracker.register(
        kind="checkpoint",
        name="step-1",
        components=[describe_file(n, p) for n, p in files.items()],
        run_id=run_id,
    )
    assert record.claim_token is not None
    engine.tracker.release(record.key, record.claim_token)

    asset = engine.resume(record)

    assert asset is not None and asset.state == "ready"
    assert [a.id for a in _run_assets(researcher, run_id)] == [asset.id]


def test_resume_after_create_but_before_recording_it_makes_no_duplicate(
    engine: UploadEngine,
    files: dict[str, Path],
    run_id: str,
    researcher: Chronicle,
    worker: Chronicle,
) -> None:
    components = [describe_file(n, p) for n, p in files.items()]
    record = engine.tracker.register(
        kind="checkpoint", name="step-1", components=components, run_id=run_id
    )
    assert record.claim_token is not None
    first = worker.assets.create(
        kind="checkpoint",
        name="step-1",
        run_id=run_id,
        components=[
            {"name": c.name, "size": c.size, "sha256": c.sha256, "content_type": c.content_type}
            for c in components
        ],
        idempotency_key=record.key,
    )
    engine.tracker.release(record.key, record.claim_token)  # died before set_asset_id

    asset = engine.resume(record)

    assert asset is not None and asset.id == first.asset.id and asset.state == "ready"
    assert [a.id for a in _run_assets(researcher, run_id)] == [asset.id]


def test_a_file_changed_since_registration_is_refused(
    engine: UploadEngine, files: dict[str, Path], run_id: str, request_log: RequestLog
) -> None:
    prepared = engine.register(kind="checkpoint", name="step-1", files=files, run_id=run_id)
    engine.release(prepared)
    with open(files["optim.bin"], "ab") as f:
        f.write(b"one more byte")

    with pytest.raises(UploadError, match=r"optim\.bin.*changed since it was registered"):
        engine.resume(prepared.record)

    assert request_log.storage("PUT") == []
    [left] = engine.tracker.incomplete()
    assert left.key == prepared.record.key and left.claim_token is None


def test_same_size_and_mtime_but_other_bytes_never_reach_storage(
    engine: UploadEngine,
    files: dict[str, Path],
    run_id: str,
    worker: Chronicle,
    fake: FakeChronicle,
) -> None:
    prepared = engine.register(kind="checkpoint", name="step-1", files=files, run_id=run_id)
    engine.release(prepared)
    path = files["model.bin"]  # several chunks; only the very last byte differs
    st = path.stat()
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))

    with pytest.raises(UploadError, match=r"model\.bin.*changed since it was registered"):
        engine.resume(prepared.record)

    stored = {c.name: c.uploaded for c in worker.assets.get(prepared.asset.id).components}
    assert stored["model.bin"] is False
    assert fake.backend.blobs.size(prepared.asset.id, "model.bin") is None


@pytest.mark.parametrize(
    ("kind", "status", "after_bytes"),
    [("reset", 503, 0), ("status", 503, 0), ("truncate", 503, 50_000)],
)
def test_storage_faults_raise_then_resume_completes(
    engine: UploadEngine,
    files: dict[str, Path],
    run_id: str,
    fake: FakeChronicle,
    researcher: Chronicle,
    kind: str,
    status: int,
    after_bytes: int,
) -> None:
    fake.faults.add("storage.put", kind, status=status, after_bytes=after_bytes)

    with pytest.raises(UploadError) as caught:
        engine.upload(kind="checkpoint", name="step-1", files=files, run_id=run_id)
    assert caught.value.__cause__ is not None

    [pending] = engine.tracker.incomplete(run_id=run_id)
    assert pending.asset_id is not None and pending.claim_token is None
    asset = engine.resume(pending)

    assert asset is not None and asset.state == "ready"
    _assert_ready_and_matching(asset.components, files)
    assert [a.id for a in _run_assets(researcher, run_id)] == [asset.id]
    assert engine.tracker.incomplete() == []


def test_a_failed_create_stays_journaled_for_resume(
    engine: UploadEngine, files: dict[str, Path], run_id: str, fake: FakeChronicle
) -> None:
    fake.faults.add("assets.create", "status", status=503)

    with pytest.raises(UploadError, match="registering"):
        engine.upload(kind="checkpoint", name="step-1", files=files, run_id=run_id)

    [pending] = engine.tracker.incomplete()
    assert pending.asset_id is None
    asset = engine.resume(pending)
    assert asset is not None and asset.state == "ready"


def test_a_create_that_can_never_succeed_is_dropped(
    worker: Chronicle, tracker: UploadTracker, files: dict[str, Path]
) -> None:
    engine = UploadEngine(worker, tracker)

    with pytest.raises(UploadError, match="404"):
        engine.upload(kind="checkpoint", name="x", files=files, run_id="no-such-run")

    assert tracker.incomplete() == []


def test_an_unreadable_file_fails_before_anything_is_journaled(
    engine: UploadEngine, tmp_path: Path, run_id: str, request_log: RequestLog
) -> None:
    with pytest.raises(UploadError, match="cannot read"):
        engine.upload(kind="output", name="x", files={"gone": tmp_path / "missing"}, run_id=run_id)
    assert engine.tracker.incomplete() == []
    assert request_log.requests[-1].url.path.endswith("/start")


def test_resume_leaves_an_upload_held_by_a_live_claim(
    engine: UploadEngine, files: dict[str, Path], run_id: str
) -> None:
    prepared = engine.register(kind="checkpoint", name="step-1", files=files, run_id=run_id)
    # Still claimed by its (live) registrant, like an in-flight background upload.
    assert engine.resume(prepared.record) is None
    assert engine.transfer(prepared).state == "ready"


def test_download_round_trips_bytes_without_the_bearer_token(
    engine: UploadEngine,
    files: dict[str, Path],
    run_id: str,
    tmp_path: Path,
    request_log: RequestLog,
) -> None:
    asset = engine.upload(kind="checkpoint", name="step-1", files=files, run_id=run_id)
    calls: list[tuple[int, int]] = []

    paths = download_asset(
        engine.chronicle, asset, tmp_path / "dl", progress=lambda d, t: calls.append((d, t))
    )

    assert [p.name for p in paths] == [c.name for c in asset.components]
    for path in paths:
        assert path.read_bytes() == files[path.name].read_bytes()
    assert calls[-1] == (asset.components and sum(c.size for c in asset.components),) * 2
    gets = request_log.storage("GET")
    assert len(gets) == len(files) and all("authorization" not in g.headers for g in gets)
    assert sorted(os.listdir(tmp_path / "dl")) == sorted(files)


def test_download_detects_corruption_and_leaves_no_partial_file(
    engine: UploadEngine,
    files: dict[str, Path],
    run_id: str,
    tmp_path: Path,
    fake: FakeChronicle,
) -> None:
    asset = engine.upload(kind="checkpoint", name="step-1", files=files, run_id=run_id)
    blob = fake.backend.blobs.path(asset.id, "optim.bin")
    data = bytearray(blob.read_bytes())
    data[1000] ^= 0xFF  # bit rot in storage
    blob.write_bytes(bytes(data))
    dest = tmp_path / "dl"

    with pytest.raises(IntegrityError, match=r"optim\.bin"):
        download_asset(engine.chronicle, asset, dest)

    assert not dest.exists()  # created for the download: no file of it, nor the directory


def test_the_claim_lease_is_renewed_while_bytes_flow(
    worker: Chronicle,
    run_id: str,
    tmp_path: Path,
    fake: FakeChronicle,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Leases matter only where no owner lock can be checked (no fcntl: Windows).
    monkeypatch.setattr(tracker_module, "_fcntl", None)
    worker.runs.start(run_id)
    db = tmp_path / "leases.sqlite3"
    files = make_files(tmp_path / "slow", {f"part-{i}": 100_000 for i in range(4)})
    fake.faults.add("storage.put", "latency", seconds=0.25, times=4)
    stolen: list[object] = []
    with UploadTracker(db, lease=0.4) as owner, UploadTracker(db) as rival:
        # Seen from "another host", the owner's pid cannot be checked: only the lease,
        # renewed as bytes flow, keeps the rival out.
        rival._host = "another-host"
        engine = UploadEngine(worker, owner, chunk_size=16 * 1024, max_parallel_components=1)
        prepared = engine.register(kind="checkpoint", name="slow", files=files, run_id=run_id)
        done = threading.Event()

        def try_to_steal() -> None:
            while not done.wait(0.05):
                taken = rival.claim(prepared.record.key)
                if taken is not None:
                    stolen.append(taken)
                    return

        thief = threading.Thread(target=try_to_steal)
        thief.start()
        try:
            asset = engine.transfer(prepared)  # ~1 s, well past one 0.4 s lease
        finally:
            done.set()
            thief.join()

    assert asset.state == "ready"
    assert stolen == []


def test_content_types_override_the_guess(
    engine: UploadEngine, files: dict[str, Path], run_id: str
) -> None:
    with pytest.raises(ValueError, match="unknown components"):
        engine.upload(
            kind="output", name="x", files=files, run_id=run_id, content_types={"nope": "a/b"}
        )

    asset = engine.upload(
        kind="output",
        name="x",
        files=files,
        run_id=run_id,
        content_types={"model.bin": "application/x-safetensors"},
    )

    types = {c.name: c.content_type for c in asset.components}
    assert types["model.bin"] == "application/x-safetensors"
    assert types["meta.json"] == "application/json"


def test_resume_never_drops_the_journal_on_an_error_response(
    engine: UploadEngine,
    files: dict[str, Path],
    run_id: str,
    fake: FakeChronicle,
    worker: Chronicle,
) -> None:
    # One upload with an asset, one killed around POST /assets (no asset id yet).
    prepared = engine.register(kind="checkpoint", name="ckpt", files=files, run_id=run_id)
    engine.release(prepared)
    unsent = engine.tracker.register(
        kind="checkpoint",
        name="ckpt2",
        components=[describe_file(n, p) for n, p in files.items()],
        run_id=run_id,
    )
    assert unsent.claim_token is not None
    engine.tracker.release(unsent.key, unsent.claim_token)
    # A wrong base URL prefix (or a proxy) answers 404 to everything.
    with Chronicle(fake.base_url + "/v2", fake.worker_key) as misdirected:
        lost = UploadEngine(misdirected, engine.tracker)
        for upload in engine.tracker.incomplete(run_id=run_id):
            with pytest.raises(UploadError, match=rf"{upload.name!r}.*404"):
                lost.resume(upload)

    left = engine.tracker.incomplete(run_id=run_id)
    assert sorted(u.key for u in left) == sorted([prepared.record.key, unsent.key])
    assert all(u.claim_token is None for u in left)
    # The right server finishes both later.
    assert all(engine.resume(u) is not None for u in left)
    assert engine.tracker.incomplete() == []


def test_resume_reuploads_components_stored_with_the_wrong_bytes(
    engine: UploadEngine,
    files: dict[str, Path],
    run_id: str,
    worker: Chronicle,
    request_log: RequestLog,
) -> None:
    prepared = engine.register(kind="checkpoint", name="ckpt", files=files, run_id=run_id)
    engine.release(prepared)
    # Storage holds bytes of the right size but not the registered ones (an older
    # or buggy writer): the asset says "uploaded", finalize would refuse forever.
    size = files["optim.bin"].stat().st_size
    worker.transport.storage_request("PUT", prepared.upload_urls["optim.bin"], content=b"y" * size)
    assert {c.name for c in worker.assets.get(prepared.asset.id).components if c.uploaded} == {
        "optim.bin"
    }
    before = len(request_log.storage("PUT"))

    asset = engine.resume(prepared.record)

    assert asset is not None and asset.state == "ready"
    _assert_ready_and_matching(asset.components, files)
    resumed = sorted(p.url.path.rsplit("/", 1)[1] for p in request_log.storage("PUT")[before:])
    assert resumed == sorted(files)
    assert engine.tracker.incomplete() == []


def test_retrying_after_a_lost_create_response_reuses_the_journal_entry(
    engine: UploadEngine,
    files: dict[str, Path],
    run_id: str,
    fake: FakeChronicle,
    researcher: Chronicle,
) -> None:
    fake.faults.add("assets.create", "reset", phase="after")  # created, answer lost
    with pytest.raises(UploadError, match="registering"):
        engine.upload(kind="checkpoint", name="ckpt", files=files, run_id=run_id)
    [first] = engine.tracker.incomplete()

    asset = engine.upload(kind="checkpoint", name="ckpt", files=files, run_id=run_id)

    assert asset.state == "ready"
    assert [a.id for a in _run_assets(researcher, run_id)] == [asset.id]
    assert engine.tracker.incomplete() == []
    assert engine.tracker.get(first.key) is None


def test_retrying_after_a_failed_put_reuses_the_asset(
    engine: UploadEngine,
    files: dict[str, Path],
    run_id: str,
    fake: FakeChronicle,
    researcher: Chronicle,
    request_log: RequestLog,
    tmp_path: Path,
) -> None:
    fake.faults.add("storage.put", "status", status=503)
    with pytest.raises(UploadError):
        engine.upload(kind="checkpoint", name="ckpt", files=files, run_id=run_id)
    [pending] = engine.tracker.incomplete()
    # The same bytes, rewritten elsewhere since (new path, new mtime), still match.
    (tmp_path / "copy").mkdir()
    copies = {name: tmp_path / "copy" / name for name in files}
    for name, path in files.items():
        copies[name].write_bytes(path.read_bytes())

    asset = engine.upload(kind="checkpoint", name="ckpt", files=copies, run_id=run_id)

    assert asset.id == pending.asset_id and asset.state == "ready"
    assert [a.id for a in _run_assets(researcher, run_id)] == [asset.id]
    creates = [r for r in request_log.requests if r.method == "POST" and r.url.path == "/assets"]
    assert len(creates) == 1
    assert engine.tracker.incomplete() == []


def test_a_different_upload_of_the_same_name_is_not_merged(
    engine: UploadEngine,
    files: dict[str, Path],
    run_id: str,
    fake: FakeChronicle,
    researcher: Chronicle,
) -> None:
    fake.faults.add("storage.put", "status", status=503)
    with pytest.raises(UploadError):
        engine.upload(kind="checkpoint", name="ckpt", files=files, run_id=run_id)
    files["meta.json"].write_bytes(b'{"other": "content"}')

    asset = engine.upload(kind="checkpoint", name="ckpt", files=files, run_id=run_id)

    assert asset.state == "ready"
    assert len(_run_assets(researcher, run_id)) == 2
    [stale] = engine.tracker.incomplete()
    assert stale.asset_id != asset.id


def test_registering_an_upload_a_live_claim_holds_is_refused(
    engine: UploadEngine, files: dict[str, Path], run_id: str, researcher: Chronicle
) -> None:
    prepared = engine.register(kind="checkpoint", name="ckpt", files=files, run_id=run_id)

    with pytest.raises(UploadError, match=rf"already being uploaded.*pid {os.getpid()}"):
        engine.register(kind="checkpoint", name="ckpt", files=files, run_id=run_id)

    assert engine.transfer(prepared).state == "ready"
    assert len(_run_assets(researcher, run_id)) == 1


def test_a_transfer_whose_claim_was_taken_over_aborts(
    worker: Chronicle,
    run_id: str,
    tmp_path: Path,
    fake: FakeChronicle,
    request_log: RequestLog,
) -> None:
    worker.runs.start(run_id)
    db = tmp_path / "takeover.sqlite3"
    files = make_files(tmp_path / "big", {"part": 400_000})
    with UploadTracker(db, lease=0.2) as owner:
        engine = UploadEngine(worker, owner, chunk_size=16 * 1024)
        prepared = engine.register(kind="checkpoint", name="ckpt", files=files, run_id=run_id)
        key = prepared.record.key
        stolen = threading.Event()

        def steal_once(done: int, total: int) -> None:
            # Another host's resumer takes the upload over after our lease ran out.
            if not stolen.is_set():
                stolen.set()
                with sqlite3.connect(db) as raw:
                    raw.execute("UPDATE uploads SET claim_token = 'thief' WHERE key = ?", (key,))
                time.sleep(0.1)  # past a quarter lease: the next chunk renews

        with pytest.raises(UploadError, match="another process took it over"):
            engine.transfer(prepared, progress=steal_once)

        held = owner.get(key)
        assert held is not None and held.claim_token == "thief"  # not released by us
    assert fake.backend.blobs.size(prepared.asset.id, "part") is None  # PUT aborted


def test_a_queued_transfer_whose_claim_was_taken_over_sends_nothing(
    engine: UploadEngine,
    files: dict[str, Path],
    run_id: str,
    request_log: RequestLog,
) -> None:
    prepared = engine.register(kind="checkpoint", name="ckpt", files=files, run_id=run_id)
    with sqlite3.connect(engine.tracker.path) as raw:
        raw.execute(
            "UPDATE uploads SET claim_token = 'thief' WHERE key = ?", (prepared.record.key,)
        )

    with pytest.raises(UploadError, match="another process took it over"):
        engine.transfer(prepared)

    assert request_log.storage("PUT") == []
