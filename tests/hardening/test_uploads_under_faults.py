"""Guarantee: an upload interrupted at any step is finished by resuming, exactly once.

Against a uvicorn-served fake, one fault is injected at each step of the upload
protocol — the create call (refused, or handled but its answer lost), each storage
PUT (503, or the connection dropped mid-body), the URL refresh, and finalize
(refused, or done but its answer lost). The interrupted upload must leave the
journal holding it; resuming from the journal (a fresh engine and tracker, as
after a restart) must finish it. At the end the server holds exactly one ready
asset per upload, whose bytes download intact, and the journal is empty.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from methodic import ChronicleError
from methodic.downloads import download_asset
from methodic.tracker import UploadTracker
from methodic.uploads import UploadEngine
from methodic_fake import FakeChronicle

# (operation, fault options) — each interrupts a different step of the protocol.
FAULTS: dict[str, tuple[str, dict[str, Any]]] = {
    "create refused": ("assets.create", {"kind": "status", "status": 503}),
    "create done, answer lost": ("assets.create", {"kind": "reset", "phase": "after"}),
    "create connection dropped": ("assets.create", {"kind": "reset", "phase": "before"}),
    "PUT refused": ("storage.put", {"kind": "status", "status": 503}),
    "PUT cut mid-body": ("storage.put", {"kind": "truncate", "after_bytes": 70_000}),
    "PUT done, answer lost": ("storage.put", {"kind": "reset", "phase": "after"}),
    "finalize refused": ("assets.finalize", {"kind": "status", "status": 503}),
    "finalize done, answer lost": ("assets.finalize", {"kind": "reset", "phase": "after"}),
}


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeChronicle]:
    with FakeChronicle.start() as fake:
        yield fake


@pytest.fixture(scope="module")
def run_id(fake: FakeChronicle) -> str:
    c = fake.client("researcher")
    exp = c.experiments.create("uploads under faults")
    var = c.variations.create(exp.id, config_json={})
    c.experiments.commit(exp.id)
    run = c.runs.create(var.id)
    c.runs.start(run.id)
    return run.id


def _files(directory: Path, label: str) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    files = {}
    for part, size in (("weights", 200_000), ("optimizer", 90_000)):
        path = directory / f"{part}.bin"
        path.write_bytes(hashlib.sha256(f"{label}/{part}".encode()).digest() * (size // 32))
        files[part] = path
    return files


@pytest.mark.parametrize("label", list(FAULTS))
def test_interrupted_upload_resumes_exactly_once(
    fake: FakeChronicle, run_id: str, tmp_path: Path, label: str, figures: Any
) -> None:
    operation, options = FAULTS[label]
    files = _files(tmp_path / "files", label)
    journal = tmp_path / "journal.sqlite3"
    worker = fake.client("worker")

    fake.faults.add(operation, **options)
    with UploadTracker(journal) as tracker:
        engine = UploadEngine(worker, tracker, chunk_size=32 * 1024)
        with pytest.raises(ChronicleError):
            engine.upload(kind="checkpoint", name=label, files=files, run_id=run_id)
        assert [u.name for u in tracker.incomplete()] == [label], "the journal lost the upload"
    assert fake.faults.pending() == [], "the fault never fired: this case proves nothing"

    # A restart: fresh tracker and engine over the same journal file.
    with UploadTracker(journal) as tracker:
        engine = UploadEngine(fake.client("worker"), tracker)
        (pending,) = tracker.incomplete()
        asset = engine.resume(pending)
        assert asset is not None and asset.state == "ready"
        assert tracker.incomplete() == []

    named = [a for a in worker.assets.list(run_id=run_id, limit=200) if a.name == label]
    assert len(named) == 1, f"{label}: {len(named)} assets, expected exactly one"
    assert named[0].id == asset.id
    paths = download_asset(worker, asset, tmp_path / "down")
    assert {p.name: p.read_bytes() for p in paths} == {
        name: path.read_bytes() for name, path in files.items()
    }
    figures.add("uploads resumed after an injected fault", 1)


def test_every_upload_exists_once(fake: FakeChronicle, run_id: str) -> None:
    """Across all the cases above (run first in this module), no duplicate assets."""
    names = Counter(a.name for a in fake.client("researcher").assets.list(run_id=run_id, limit=200))
    assert {n: k for n, k in names.items() if k > 1} == {}
