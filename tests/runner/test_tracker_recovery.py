"""What resuming does with journal entries beyond "send what is missing".

A successor run finishes its finished predecessor's uploads (Chronicle accepts
assets of a finished run), and entries that can never complete are dropped with a
log line instead of staying in the journal forever.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from methodic import Chronicle, Run, UploadError
from methodic.tracker import TrackedUpload, UploadTracker
from methodic.uploads import UploadEngine, describe_file

from .conftest import make_files, sha256_file

if TYPE_CHECKING:
    from methodic_fake.harness import FakeChronicle


def _abandon(
    engine: UploadEngine, run_id: str, name: str, files: dict[str, Path], *, created: bool = True
) -> TrackedUpload:
    """Journal an upload as a killed runner leaves it: with or without its asset."""
    if created:
        prepared = engine.register(kind="checkpoint", name=name, files=files, run_id=run_id)
        engine.release(prepared)
        record = prepared.record
    else:
        components = [describe_file(n, p) for n, p in files.items()]
        record = engine.tracker.register(
            kind="checkpoint", name=name, components=components, run_id=run_id
        )
        assert record.claim_token is not None
        engine.tracker.release(record.key, record.claim_token)
    return record


def test_a_successor_completes_its_finished_predecessors_uploads(
    fake: FakeChronicle,
    worker: Chronicle,
    researcher: Chronicle,
    run_id: str,
    tracker: UploadTracker,
    files: dict[str, Path],
) -> None:
    worker.runs.start(run_id)
    engine = UploadEngine(worker, tracker)
    _abandon(engine, run_id, "step-10", files)
    _abandon(engine, run_id, "step-20", files, created=False)
    worker.runs.fail(run_id, reason="crash", message="preempted")  # or reaped: finished
    variation_id = researcher.runs.get(run_id).variation_id
    successor_id = researcher.runs.create(variation_id, resume_from_run_id=run_id).id

    successor = Run(worker, successor_id, tracker=tracker).start()
    resumed = successor.resume_uploads()

    assert sorted(a.name for a in resumed) == ["step-10", "step-20"]
    assert tracker.incomplete() == []
    assets = list(researcher.assets.list(run_id=run_id))
    assert sorted((a.name, a.state) for a in assets) == [("step-10", "ready"), ("step-20", "ready")]
    for asset in assets:
        assert {c.name: c.sha256 for c in asset.components} == {
            n: sha256_file(p) for n, p in files.items()
        }
    assert successor.succeed().state == "succeeded"


def test_other_runs_uploads_are_left_alone(
    fake: FakeChronicle,
    worker: Chronicle,
    run_id: str,
    tracker: UploadTracker,
    files: dict[str, Path],
) -> None:
    worker.runs.start(run_id)
    unrelated = _abandon(UploadEngine(worker, tracker), run_id, "theirs", files)
    # A sibling of the same variation, not resuming from that run.
    stranger = Run(worker, _new_sibling(fake, run_id), tracker=tracker).start()

    assert stranger.resume_uploads() == []
    assert [u.key for u in tracker.incomplete()] == [unrelated.key]


def _new_sibling(fake: FakeChronicle, run_id: str) -> str:
    researcher = fake.client("researcher")
    return researcher.runs.create(researcher.runs.get(run_id).variation_id).id


def test_entries_that_can_never_complete_are_dropped_with_a_log_line(
    worker: Chronicle,
    run_id: str,
    tracker: UploadTracker,
    files: dict[str, Path],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    worker.runs.start(run_id)
    engine = UploadEngine(worker, tracker)
    # The asset is gone from Chronicle (404, while Chronicle knows the run).
    gone = _abandon(engine, run_id, "gone", files)
    tracker.set_asset_id(gone.key, "asset-that-does-not-exist")
    # Chronicle refuses its create for good (an invalid component name: 400).
    bad = make_files(tmp_path / "bad", {"bad name!": 10})
    refused = _abandon(engine, run_id, "refused", bad, created=False)

    with caplog.at_level(logging.WARNING, logger="methodic"):
        assert engine.resume(gone) is None
        assert engine.resume(refused) is None

    assert tracker.incomplete() == []
    dropped = [r.getMessage() for r in caplog.records if "can never complete" in r.getMessage()]
    assert len(dropped) == 2, caplog.text
    assert gone.key in dropped[0] and "no longer exists" in dropped[0]
    assert refused.key in dropped[1] and "400" in dropped[1]
    assert all(str(tracker.path) in line for line in dropped)


def test_missing_files_drop_an_entry_only_once_its_run_has_finished(
    worker: Chronicle,
    run_id: str,
    tracker: UploadTracker,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    worker.runs.start(run_id)
    engine = UploadEngine(worker, tracker)
    files = make_files(tmp_path / "scratch", {"model.bin": 50_000, "optim.bin": 20_000})
    record = _abandon(engine, run_id, "ckpt", files)
    files["optim.bin"].unlink()

    # The run still runs: whoever owns it may put the file back.
    with pytest.raises(UploadError, match="Restore the file"):
        engine.resume(record)
    assert [u.key for u in tracker.incomplete()] == [record.key]

    worker.runs.fail(run_id, reason="crash")
    with caplog.at_level(logging.WARNING, logger="methodic"):
        assert engine.resume(record) is None
    assert tracker.incomplete() == []
    assert "its run has finished" in caplog.text and record.key in caplog.text


def test_a_run_without_uploads_never_creates_the_journal(
    fake: FakeChronicle,
    worker: Chronicle,
    run_id: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    journal = tmp_path / "cache" / "uploads.sqlite3"
    monkeypatch.setenv("METHODIC_TRACKER_PATH", str(journal))

    run = Run(worker, run_id).start()
    assert run.resume_uploads() == []  # a restarted runner's first call, with nothing to do
    assert run.succeed().state == "succeeded"

    assert not journal.parent.exists()
