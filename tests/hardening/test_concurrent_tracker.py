"""Guarantee: several processes can share one UploadTracker file, crash, and resume without loss.

Four processes share one tracker file and one run (against a uvicorn-served fake):

1. *upload*: each uploads fresh two-component assets (``Run.upload_asset`` and
   ``Run.register_and_upload_async``), journals three more — one not yet sent, two
   with background transfers in flight — and dies with ``os._exit`` while holding
   their claims (a crashed runner);
2. *resume*: four new processes each upload fresh assets of their own, then compete
   with ``Run.resume_uploads()`` to finish the dead processes' journal entries.

Afterwards: no process saw ``database is locked`` (or any other error), the journal
is empty, every upload exists on the server exactly once and is ``ready``, and
every abandoned upload was resumed by exactly one process.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from methodic.tracker import UploadTracker
from methodic_fake import FakeChronicle

PROCESSES = 4
HELPER = Path(__file__).with_name("tracker_process.py")


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeChronicle]:
    with FakeChronicle.start() as fake:
        yield fake


def _run_phase(
    phase: str, fake: FakeChronicle, run_id: str, tmp_path: Path
) -> list[dict[str, Any]]:
    procs = []
    for index in range(PROCESSES):
        files = tmp_path / f"{phase}-files-{index}"
        files.mkdir()
        result = tmp_path / f"{phase}-result-{index}.json"
        args = [
            sys.executable,
            str(HELPER),
            phase,
            str(index),
            fake.base_url,
            fake.worker_key,
            run_id,
            str(tmp_path / "shared-journal.sqlite3"),
            str(files),
            str(result),
        ]
        procs.append((subprocess.Popen(args, stderr=subprocess.PIPE, text=True), result))
    results = []
    for proc, result in procs:
        _, stderr = proc.communicate(timeout=120)
        assert "database is locked" not in stderr, stderr
        assert proc.returncode == 0, f"{phase} process failed:\n{stderr}"
        data = json.loads(result.read_text())
        assert not data["errors"], "\n".join(data["errors"])
        results.append(data)
    return results


def test_four_processes_share_one_tracker(
    fake: FakeChronicle, tmp_path: Path, figures: Any
) -> None:
    c = fake.client("researcher")
    exp = c.experiments.create("shared tracker")
    var = c.variations.create(exp.id, config_json={})
    c.experiments.commit(exp.id)
    run = c.runs.create(var.id)
    c.runs.start(run.id)

    crashed = _run_phase("upload", fake, run.id, tmp_path)
    abandoned = {name for r in crashed for name in r["abandoned"]}
    assert len(abandoned) == PROCESSES * 3
    with UploadTracker(tmp_path / "shared-journal.sqlite3") as tracker:
        # A background transfer may have finished just before its process died; the
        # rest (at least the never-sent one per process) are in the journal.
        left = {u.name for u in tracker.incomplete()}
    assert left <= abandoned
    assert len(left) >= PROCESSES, left

    resumers = _run_phase("resume", fake, run.id, tmp_path)
    resumed = Counter(name for r in resumers for name in r["resumed"])
    assert set(resumed) == left, "some crashed upload was never resumed"
    assert all(n == 1 for n in resumed.values()), f"resumed more than once: {resumed}"

    with UploadTracker(tmp_path / "shared-journal.sqlite3") as tracker:
        assert tracker.incomplete() == []

    expected = abandoned | {name for r in crashed + resumers for name in r["uploaded"]}
    assets = list(c.assets.list(run_id=run.id, limit=200))
    names = Counter(a.name for a in assets)
    assert set(names) == expected
    duplicates = {n: k for n, k in names.items() if k != 1}
    assert not duplicates, f"uploads that exist more than once: {duplicates}"
    assert all(a.state == "ready" for a in assets), [a for a in assets if a.state != "ready"]
    figures.set("tracker: processes sharing one file (per phase)", PROCESSES)
    figures.set("tracker: uploads completed exactly once", len(assets))
    figures.set("tracker: crashed uploads resumed", len(left))
