"""register_and_upload_async, succeed() waiting for it, and resume_uploads()."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from methodic import Chronicle, Run, UploadError
from methodic.tracker import UploadTracker
from methodic.uploads import describe_file

from .conftest import RequestLog, make_files, sha256_file, wait_until

if TYPE_CHECKING:
    from methodic_fake.harness import FakeChronicle


def test_registration_happens_before_the_call_returns(
    worker: Chronicle,
    researcher: Chronicle,
    run_id: str,
    tracker: UploadTracker,
    files: dict[str, Path],
    fake: FakeChronicle,
) -> None:
    run = Run(worker, run_id, tracker=tracker).start()
    fake.faults.add("storage.put", "latency", seconds=0.5, times=3)

    future = run.register_and_upload_async("checkpoint", "step-1", files)

    # Journaled and created with Chronicle already; only bytes are still moving.
    [journaled] = tracker.incomplete(run_id=run_id)
    [created] = researcher.assets.list(run_id=run_id)
    assert journaled.asset_id == created.id and created.state == "pending"
    assert not future.done()
    assert future.result(timeout=30).state == "ready"
    assert tracker.incomplete() == []


def test_succeed_waits_for_background_uploads(
    worker: Chronicle,
    researcher: Chronicle,
    run_id: str,
    tracker: UploadTracker,
    tmp_path: Path,
    fake: FakeChronicle,
) -> None:
    run = Run(worker, run_id, tracker=tracker).start()
    fake.faults.add("storage.put", "latency", seconds=0.3, times=6)
    futures = [
        run.register_and_upload_async(
            "checkpoint", f"step-{i}", make_files(tmp_path / f"s{i}", {"a": 50_000, "b": 9}, i)
        )
        for i in range(2)
    ]

    run.succeed()

    assert all(f.done() and f.result().state == "ready" for f in futures)
    assert researcher.runs.get(run_id).state == "succeeded"
    assert all(a.state == "ready" for a in researcher.assets.list(run_id=run_id))


def test_a_failed_background_upload_blocks_success(
    worker: Chronicle,
    researcher: Chronicle,
    run_id: str,
    tracker: UploadTracker,
    files: dict[str, Path],
    fake: FakeChronicle,
) -> None:
    run = Run(worker, run_id, tracker=tracker).start()
    fake.faults.add("storage.put", "status", status=503)

    future = run.register_and_upload_async("checkpoint", "step-1", files)

    with pytest.raises(UploadError, match="not marked succeeded") as caught:
        run.succeed()
    assert isinstance(caught.value.__cause__, UploadError)
    assert "503" in str(caught.value.__cause__)
    assert isinstance(future.exception(), UploadError)
    assert researcher.runs.get(run_id).state == "running"

    [asset] = run.resume_uploads()
    assert asset.state == "ready"
    assert {c.name: c.sha256 for c in asset.components} == {
        n: sha256_file(p) for n, p in files.items()
    }
    run.succeed()
    assert researcher.runs.get(run_id).state == "succeeded"


def test_succeed_refuses_while_the_tracker_holds_unfinished_uploads(
    worker: Chronicle,
    researcher: Chronicle,
    run_id: str,
    tracker: UploadTracker,
    files: dict[str, Path],
) -> None:
    # What a process killed mid-upload leaves behind, found by its restarted self.
    left = tracker.register(
        kind="checkpoint",
        name="step-1",
        components=[describe_file(n, p) for n, p in files.items()],
        run_id=run_id,
    )
    assert left.claim_token is not None
    tracker.release(left.key, left.claim_token)
    run = Run(worker, run_id, tracker=tracker).start()

    with pytest.raises(UploadError, match="resume_uploads"):
        run.succeed()
    assert researcher.runs.get(run_id).state == "running"

    [asset] = run.resume_uploads()
    assert asset.name == "step-1" and asset.state == "ready"
    run.succeed()


def test_resume_uploads_reports_failures_but_finishes_the_rest(
    worker: Chronicle, run_id: str, tracker: UploadTracker, tmp_path: Path, fake: FakeChronicle
) -> None:
    run = Run(worker, run_id, tracker=tracker).start()
    good = make_files(tmp_path / "good", {"a": 1000})
    bad = make_files(tmp_path / "bad", {"b": 1000}, seed=1)
    fake.faults.add("storage.put", "status", status=500, times=2)
    for name, files in (("good", good), ("bad", bad)):
        with pytest.raises(UploadError):
            run.upload_asset("output", name, files)
    bad["b"].write_bytes(b"edited after registration")

    with pytest.raises(UploadError, match=r"1 upload\(s\).*\(1 were\)"):
        run.resume_uploads()

    [stuck] = tracker.incomplete(run_id=run_id)
    assert stuck.name == "bad"
    tracker.discard(stuck.key)
    assert run.resume_uploads() == []


def test_heartbeats_carry_pending_upload_bytes(
    worker: Chronicle,
    researcher: Chronicle,
    run_id: str,
    tracker: UploadTracker,
    files: dict[str, Path],
    fake: FakeChronicle,
) -> None:
    run = Run(worker, run_id, tracker=tracker).start()
    fake.faults.add("storage.put", "latency", seconds=1.0, times=3)
    total = sum(p.stat().st_size for p in files.values())

    future = run.register_and_upload_async("checkpoint", "step-1", files)
    # Storage holds every PUT for a second: nothing is stored yet, however much of
    # it already sits in socket buffers.
    assert run.pending_upload_bytes == total
    with run.heartbeating(interval=0.05, progress={"step": 7}) as beater:
        wait_until(lambda: beater.beats >= 1)
        reported = researcher.runs.get(run_id).progress
    future.result(timeout=30)

    assert reported == {"step": 7, "pending_upload_bytes": total}
    assert run.pending_upload_bytes == 0


def test_retrying_a_failed_upload_makes_one_asset(
    worker: Chronicle,
    researcher: Chronicle,
    run_id: str,
    tracker: UploadTracker,
    files: dict[str, Path],
    fake: FakeChronicle,
) -> None:
    run = Run(worker, run_id, tracker=tracker).start()
    fake.faults.add("assets.create", "reset", phase="after")  # created; answer lost
    with pytest.raises(UploadError):
        run.upload_asset("checkpoint", "ckpt", files)

    run.upload_asset("checkpoint", "ckpt", files)  # the natural reaction: retry
    assert run.resume_uploads() == []
    run.succeed()

    [asset] = researcher.assets.list(run_id=run_id)
    assert asset.state == "ready" and tracker.incomplete() == []


def test_a_live_background_upload_keeps_its_claim_past_the_lease(
    worker: Chronicle,
    run_id: str,
    tmp_path: Path,
    files: dict[str, Path],
    fake: FakeChronicle,
    request_log: RequestLog,
) -> None:
    tracker = UploadTracker(tmp_path / "short.sqlite3", lease=0.05)
    run = Run(worker, run_id, tracker=tracker).start()
    fake.faults.add("storage.put", "latency", seconds=0.5, times=3)
    future = run.register_and_upload_async("checkpoint", "ckpt", files)
    time.sleep(0.2)  # the lease ran out long ago; its owner (this process) lives

    assert Run(worker, run_id, tracker=tracker).resume_uploads() == []

    assert future.result(timeout=30).state == "ready"
    assert len(request_log.storage("PUT")) == len(files)
    tracker.close()


def test_resume_uploads_draws_one_tqdm_bar_per_upload(
    worker: Chronicle,
    run_id: str,
    tracker: UploadTracker,
    tmp_path: Path,
    fake: FakeChronicle,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run = Run(worker, run_id, tracker=tracker).start()
    fake.faults.add("storage.put", "status", status=503, times=2)
    for name in ("first-ckpt", "second-ckpt"):
        with pytest.raises(UploadError):
            run.upload_asset("checkpoint", name, make_files(tmp_path / name, {"a": 3000}))
    capsys.readouterr()

    assert len(run.resume_uploads(progress="tqdm")) == 2

    bars = capsys.readouterr().err
    for name in ("first-ckpt", "second-ckpt"):
        assert name in bars
    assert bars.count("100%") == 2
