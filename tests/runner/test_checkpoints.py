"""download_checkpoint(): the right checkpoint (own, else predecessor's), fetched in parallel."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from methodic import APIConnectionError, Checkpoint, Chronicle, IntegrityError, Run
from methodic.downloads import download_asset
from methodic.tracker import UploadTracker

from .conftest import RequestLog, make_files, new_run_id

if TYPE_CHECKING:
    from methodic_fake.harness import FakeChronicle


def _checkpointed_run(
    fake: FakeChronicle, worker: Chronicle, tracker: UploadTracker, files: dict[str, Path]
) -> tuple[str, str]:
    """A succeeded run with one checkpoint; returns (its id, a new run resuming from it)."""
    first_id = new_run_id(fake)
    first = Run(worker, first_id, tracker=tracker).start()
    first.register_and_upload_async("checkpoint", "step-100", files, metadata={"step": 100})
    first.succeed()
    researcher = fake.client("researcher")
    return first_id, researcher.runs.create(first.variation_id, resume_from_run_id=first_id).id


def _save(run: Run, tmp_path: Path, step: int) -> None:
    path = tmp_path / f"ckpt-{run.id}-{step}.bin"
    path.write_bytes(f"{run.id} at step {step}".encode())
    run.upload_asset("checkpoint", f"step-{step}", {"state.bin": path}, metadata={"step": step})


def test_no_checkpoint_is_none(worker: Chronicle, run_id: str, tmp_path: Path) -> None:
    assert Run(worker, run_id).download_checkpoint(tmp_path / "resume") is None
    assert not (tmp_path / "resume").exists()


def test_checkpoint_round_trips_bytes_and_says_what_it_picked(
    worker: Chronicle,
    fake: FakeChronicle,
    tracker: UploadTracker,
    files: dict[str, Path],
    tmp_path: Path,
    request_log: RequestLog,
) -> None:
    first_id, second_id = _checkpointed_run(fake, worker, tracker, files)
    resumed = Run(worker, second_id, tracker=tracker)
    seen: list[tuple[int, int]] = []

    checkpoint = resumed.download_checkpoint(
        tmp_path / "resume", progress=lambda d, t: seen.append((d, t))
    )

    assert isinstance(checkpoint, Checkpoint)
    asset = worker.assets.get(checkpoint.asset_id)
    assert (checkpoint.name, checkpoint.run_id, checkpoint.metadata) == (
        "step-100",
        first_id,
        {"step": 100},
    )
    assert asset.kind == "checkpoint" and asset.run_id == first_id
    assert sorted(checkpoint.paths) == sorted(files)
    for name, path in checkpoint.paths.items():
        assert path == tmp_path / "resume" / name
        assert path.read_bytes() == files[name].read_bytes()
    assert sorted(os.listdir(tmp_path / "resume")) == sorted(files)  # no temp files left
    total = sum(p.stat().st_size for p in files.values())
    assert seen[-1] == (total, total)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert all("authorization" not in r.headers for r in request_log.storage("GET"))


def test_a_restarted_run_gets_its_own_newest_checkpoint(
    worker: Chronicle, fake: FakeChronicle, tracker: UploadTracker, tmp_path: Path
) -> None:
    predecessor = Run(worker, new_run_id(fake), tracker=tracker).start()
    _save(predecessor, tmp_path, 100)
    predecessor.fail("crash")
    researcher = fake.client("researcher")
    run_id = researcher.runs.create(predecessor.variation_id, resume_from_run_id=predecessor.id).id
    run = Run(worker, run_id, tracker=tracker).start()
    for step in (150, 200):
        _save(run, tmp_path, step)

    # The same run id after a crash or preemption: its own progress, not the predecessor's.
    checkpoint = Run(worker, run_id).download_checkpoint(tmp_path / "restart")

    assert checkpoint is not None
    assert (checkpoint.run_id, checkpoint.metadata["step"]) == (run_id, 200)
    assert checkpoint.paths["state.bin"].read_bytes() == f"{run_id} at step 200".encode()


def test_a_sibling_runs_checkpoint_is_never_used(
    worker: Chronicle,
    researcher: Chronicle,
    tracker: UploadTracker,
    tmp_path: Path,
    fake: FakeChronicle,
) -> None:
    """A second seed of a variation starts fresh, not from the first seed's weights."""
    first = Run(worker, new_run_id(fake), tracker=tracker).start()
    _save(first, tmp_path, 1)
    first.succeed()
    second_seed = Run(worker, researcher.runs.create(first.variation_id).id)

    assert second_seed.download_checkpoint(tmp_path / "dl") is None
    assert not (tmp_path / "dl").exists()


def test_a_corrupt_component_raises_and_leaves_no_component_behind(
    worker: Chronicle,
    researcher: Chronicle,
    tracker: UploadTracker,
    files: dict[str, Path],
    tmp_path: Path,
    fake: FakeChronicle,
) -> None:
    _, second_id = _checkpointed_run(fake, worker, tracker, files)
    checkpoint = researcher.runs.checkpoint(second_id)
    blob = fake.backend.blobs.path(checkpoint.id, "model.bin")
    blob.write_bytes(blob.read_bytes()[::-1])  # same size, wrong bytes
    dest = tmp_path / "resume"
    dest.mkdir()
    (dest / "optim.bin").write_bytes(b"an older download")

    with pytest.raises(IntegrityError, match=r"model\.bin"):
        Run(worker, second_id).download_checkpoint(dest)

    # The intact components are not left either (a half checkpoint would load wrong),
    # and a file already there keeps its bytes.
    assert os.listdir(dest) == ["optim.bin"]
    assert (dest / "optim.bin").read_bytes() == b"an older download"


def test_components_download_in_parallel(
    worker: Chronicle,
    fake: FakeChronicle,
    tracker: UploadTracker,
    files: dict[str, Path],
    tmp_path: Path,
    request_log: RequestLog,
) -> None:
    _, second_id = _checkpointed_run(fake, worker, tracker, files)
    # Each GET is held a while before it is answered, so sequential fetches could
    # never have two in flight.
    fake.faults.add("storage.get", "latency", seconds=0.3, times=len(files))
    request_log.max_in_flight_storage = 0  # the upload's PUTs ran in parallel too

    checkpoint = Run(worker, second_id).download_checkpoint(tmp_path / "resume")

    assert checkpoint is not None and len(checkpoint.paths) == len(files)
    assert request_log.max_in_flight_storage == len(files)


def test_parallel_downloads_are_bounded(
    worker: Chronicle,
    fake: FakeChronicle,
    tracker: UploadTracker,
    tmp_path: Path,
    request_log: RequestLog,
) -> None:
    shards = make_files(tmp_path / "shards", {f"shard-{i}": 2_000 for i in range(6)})
    # Uploaded through another client, so the log holds only the downloads.
    run = Run(fake.client("worker"), new_run_id(fake), tracker=tracker).start()
    asset = run.upload_asset("output", "shards", shards)
    fake.faults.add("storage.get", "latency", seconds=0.2, times=len(shards))

    paths = download_asset(worker, asset, tmp_path / "dl", max_parallel=2)

    assert [p.name for p in paths] == [c.name for c in asset.components]
    assert request_log.max_in_flight_storage == 2
    assert len(request_log.storage("GET")) == len(shards)


def test_a_failed_storage_get_leaves_nothing(
    worker: Chronicle,
    fake: FakeChronicle,
    tracker: UploadTracker,
    files: dict[str, Path],
    tmp_path: Path,
) -> None:
    _, second_id = _checkpointed_run(fake, worker, tracker, files)
    fake.faults.add("storage.get", "reset")
    dest = tmp_path / "new" / "resume"

    with pytest.raises(APIConnectionError):
        Run(worker, second_id).download_checkpoint(dest)

    assert not dest.exists()  # created for this download, so removed with it
