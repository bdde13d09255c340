"""download_checkpoint(): a resumed run fetches its predecessor's checkpoint."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from methodic import Chronicle, IntegrityError, Run
from methodic.tracker import UploadTracker

from .conftest import RequestLog, new_run_id

if TYPE_CHECKING:
    from methodic_fake.harness import FakeChronicle


def _checkpointed_run(
    fake: FakeChronicle, worker: Chronicle, tracker: UploadTracker, files: dict[str, Path]
) -> str:
    """A succeeded run with one checkpoint; returns a new run resuming from it."""
    first_id = new_run_id(fake)
    first = Run(worker, first_id, tracker=tracker).start()
    first.register_and_upload_async("checkpoint", "step-100", files, metadata={"step": 100})
    first.succeed()
    researcher = fake.client("researcher")
    return researcher.runs.create(first.variation_id, resume_from_run_id=first_id).id


def test_no_checkpoint_is_none(worker: Chronicle, run_id: str, tmp_path: Path) -> None:
    assert Run(worker, run_id).download_checkpoint(tmp_path / "resume") is None


def test_checkpoint_round_trips_bytes(
    worker: Chronicle,
    fake: FakeChronicle,
    tracker: UploadTracker,
    files: dict[str, Path],
    tmp_path: Path,
    request_log: RequestLog,
) -> None:
    second_id = _checkpointed_run(fake, worker, tracker, files)
    resumed = Run(worker, second_id, tracker=tracker)
    seen: list[tuple[int, int]] = []

    paths = resumed.download_checkpoint(
        tmp_path / "resume", progress=lambda d, t: seen.append((d, t))
    )

    assert paths is not None
    assert sorted(p.name for p in paths) == sorted(files)
    for path in paths:
        assert path.parent == tmp_path / "resume"
        assert path.read_bytes() == files[path.name].read_bytes()
    total = sum(p.stat().st_size for p in files.values())
    assert seen[-1] == (total, total)
    assert all("authorization" not in r.headers for r in request_log.storage("GET"))


def test_a_corrupt_checkpoint_raises_and_leaves_no_partial_file(
    worker: Chronicle,
    researcher: Chronicle,
    tracker: UploadTracker,
    files: dict[str, Path],
    tmp_path: Path,
    fake: FakeChronicle,
) -> None:
    second_id = _checkpointed_run(fake, worker, tracker, files)
    checkpoint = researcher.runs.checkpoint(second_id)
    blob = fake.backend.blobs.path(checkpoint.id, "model.bin")
    blob.write_bytes(blob.read_bytes()[::-1])  # same size, wrong bytes
    dest = tmp_path / "resume"

    with pytest.raises(IntegrityError, match=r"model\.bin"):
        Run(worker, second_id).download_checkpoint(dest)

    left = os.listdir(dest)
    assert "model.bin" not in left
    assert not [name for name in left if name.endswith(".part")]


def test_the_newest_checkpoint_of_the_variation_is_used(
    worker: Chronicle,
    researcher: Chronicle,
    tracker: UploadTracker,
    tmp_path: Path,
    fake: FakeChronicle,
) -> None:
    run_id = new_run_id(fake)
    run = Run(worker, run_id, tracker=tracker).start()
    for step in (1, 2):
        path = tmp_path / f"ckpt-{step}.bin"
        path.write_bytes(f"state at step {step}".encode())
        run.upload_asset("checkpoint", f"step-{step}", {"state.bin": path})
    run.succeed()
    later = Run(worker, researcher.runs.create(run.variation_id).id)

    paths = later.download_checkpoint(tmp_path / "dl")

    assert paths is not None and [p.read_bytes() for p in paths] == [b"state at step 2"]
