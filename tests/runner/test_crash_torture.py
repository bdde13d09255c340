"""SIGKILL a real uploader process anywhere in the journal; a fresh process must recover.

Every scenario uploads one three-component checkpoint from a child process
(``crash_child.py``) against the fake served by uvicorn in this process, kills or
breaks it somewhere, then runs a fresh child that resumes. Afterwards, always: one
asset for the run, ready, each component's sha256 equal to the source, and nothing
left in the tracker. The seed is fixed, so a failure replays exactly.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from methodic import Chronicle
from methodic.downloads import download_asset
from methodic.tracker import UploadTracker

from .conftest import make_files

if TYPE_CHECKING:
    from methodic_fake.harness import FakeChronicle

SEED = 20261127
CHILD = Path(__file__).with_name("crash_child.py")
SIZES = {"model.bin": 400_000, "optim.bin": 250_000, "meta.json": 3_000}
NAMED_POINTS = [
    "before_register",
    "after_register",
    "after_post",
    "after_asset_id",
    "mid_put:1",
    "mid_put:2",
    "mid_put:3",
    "after_put:1",
    "after_put:3",
    "after_mark:1",
    "after_mark:2",
    "after_mark:3",
    "before_finalize",
    "after_finalize",
    "after_finish",
]
TIMED_KILLS = 14
# (kind, status, after_bytes) of a storage.put fault
STORAGE_FAULTS = [("reset", 503, 0), ("status", 503, 0), ("truncate", 503, 100_000)]
# The resumer dies too, before a third process finishes the job.
DOUBLE_CRASHES = [("after_asset_id", "mid_put:2"), ("mid_put:1", "after_mark:1")]


@dataclass
class Scenario:
    label: str
    crash_at: str | None = None  # named journal point in the uploader
    kill_at: float | None = None  # or a SIGKILL this far (0..1) into a normal upload
    fault: tuple[str, int, int] | None = None  # or a storage fault
    resume_crash_at: str | None = None  # the first resumer dies here too


def _scenarios(rng: random.Random) -> list[Scenario]:
    scenarios = [Scenario(f"crash at {p}", crash_at=p) for p in NAMED_POINTS]
    scenarios += [
        # Stratified: one random moment in each 1/TIMED_KILLS of the upload's duration.
        Scenario(f"SIGKILL {fraction:.0%} into the upload", kill_at=fraction)
        for fraction in ((i + rng.random()) / TIMED_KILLS for i in range(TIMED_KILLS))
    ]
    scenarios += [Scenario(f"storage fault {f[0]}", fault=f) for f in STORAGE_FAULTS]
    scenarios += [
        Scenario(f"crash at {a}, resumer crash at {b}", crash_at=a, resume_crash_at=b)
        for a, b in DOUBLE_CRASHES
    ]
    rng.shuffle(scenarios)
    return scenarios


class Harness:
    def __init__(self, fake: FakeChronicle, workdir: Path) -> None:
        self.fake = fake
        self.researcher = fake.client("researcher")
        self.worker: Chronicle = fake.client("worker")
        self.db = workdir / "uploads.sqlite3"
        self.src = workdir / "src"
        self.files = make_files(self.src, SIZES, seed=SEED)
        self.shas = {n: hashlib.sha256(p.read_bytes()).hexdigest() for n, p in self.files.items()}
        self.workdir = workdir
        self.upload_seconds = 0.5
        exp = self.researcher.experiments.create("crash torture")
        self.researcher.experiments.commit(exp.id)
        self.variation_id = self.researcher.variations.create(exp.id, config={"x": 1}).id

    def new_run(self) -> str:
        run_id = self.researcher.runs.create(self.variation_id).id
        self.worker.runs.start(run_id)
        return run_id

    def spawn(self, mode: str, run_id: str, crash_at: str | None = None) -> subprocess.Popen[str]:
        env = dict(os.environ)
        env.update(CHRONICLE_BASE_URL=self.fake.base_url, CHRONICLE_API_KEY=self.fake.worker_key)
        env.pop("METHODIC_TEST_CRASH_AT", None)
        if crash_at:
            env["METHODIC_TEST_CRASH_AT"] = crash_at
        return subprocess.Popen(
            [sys.executable, str(CHILD), mode, run_id, str(self.db), str(self.src)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def widen_windows(self) -> None:
        # Latency on every step gives random kills something to land inside.
        faults = self.fake.faults
        faults.add("assets.create", "latency", seconds=0.08)
        faults.add("storage.put", "latency", seconds=0.12, times=3)
        faults.add("assets.finalize", "latency", seconds=0.08)

    def calibrate(self) -> None:
        """Time one undisturbed upload (with widened windows) to scale the timed kills.

        Scaling to this machine's speed, rather than using fixed delays, keeps the
        random kills spread over the whole journal on a fast or a loaded machine.
        """
        run_id = self.new_run()
        self.widen_windows()
        uploader = self.spawn("upload", run_id)
        assert uploader.stdout is not None
        assert uploader.stdout.readline().strip() == "ready"
        started = time.monotonic()
        code, _, err = _finish(uploader)
        self.upload_seconds = time.monotonic() - started
        assert code == 0, err
        self.verify(run_id, "calibration")

    def verify(self, run_id: str, context: str) -> None:
        assets = list(self.researcher.assets.list(run_id=run_id))
        assert len(assets) == 1, f"{context}: {len(assets)} assets"
        [asset] = assets
        assert asset.state == "ready", context
        assert {c.name: c.sha256 for c in asset.components} == self.shas, context
        dest = self.workdir / "check" / run_id
        for path in download_asset(self.researcher, asset, dest):
            assert path.read_bytes() == self.files[path.name].read_bytes(), context
        with UploadTracker(self.db) as tracker:
            assert tracker.incomplete() == [], context


@pytest.fixture
def harness(fake: FakeChronicle, tmp_path: Path) -> Iterator[Harness]:
    yield Harness(fake, tmp_path)


def _finish(child: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = child.communicate(timeout=60)
    return child.returncode, out, err


def _run_scenario(h: Harness, scenario: Scenario) -> str:
    """Run one scenario; returns the last journal point the uploader passed."""
    run_id = h.new_run()
    context = scenario.label
    if scenario.fault is not None:
        kind, status, after_bytes = scenario.fault
        h.fake.faults.add("storage.put", kind, status=status, after_bytes=after_bytes)
    if scenario.kill_at is not None:
        h.widen_windows()

    uploader = h.spawn("upload", run_id, scenario.crash_at)
    if scenario.kill_at is not None:
        assert uploader.stdout is not None
        assert uploader.stdout.readline().strip() == "ready", context
        time.sleep(scenario.kill_at * h.upload_seconds)
        uploader.send_signal(signal.SIGKILL)
    code, out, err = _finish(uploader)
    reached = [line[3:] for line in out.splitlines() if line.startswith("at ")]
    last = reached[-1] if reached else "nothing"
    context += f" (uploader reached: {last})"
    if scenario.crash_at is not None:
        assert code == -signal.SIGKILL, f"{context}: exit {code}\n{err}"
    elif scenario.fault is not None:
        assert code == 1 and "UploadError" in err, f"{context}: exit {code}\n{err}"
    h.fake.faults.clear()

    if scenario.resume_crash_at is not None:
        code, _, err = _finish(h.spawn("resume", run_id, scenario.resume_crash_at))
        assert code == -signal.SIGKILL, f"{context}: resumer exit {code}\n{err}"

    code, out, err = _finish(h.spawn("resume", run_id))
    assert code == 0, f"{context}: resumer exit {code}\n{err}"
    assert "resumed" in json.loads(out.splitlines()[-1]), context
    h.verify(run_id, context)
    return last


@pytest.mark.slow
def test_sigkill_anywhere_in_the_journal_is_recoverable(harness: Harness) -> None:
    scenarios = _scenarios(random.Random(SEED))
    assert len(scenarios) >= 30
    harness.calibrate()
    landed: Counter[str] = Counter()
    for scenario in scenarios:
        last = _run_scenario(harness, scenario)
        if scenario.kill_at is not None:
            landed[last] += 1
    # Shown with -s: where the randomly-timed kills fell (e.g. mid_put, after_post...).
    print("timed kills landed after:", dict(landed))


def test_two_processes_resuming_one_tracker_finish_the_upload_once(harness: Harness) -> None:
    for attempt in range(3):
        run_id = harness.new_run()
        code, _, err = _finish(harness.spawn("upload", run_id, "after_asset_id"))
        assert code == -signal.SIGKILL, err
        # Slow storage: whichever resumer claims the upload holds it while the other looks.
        harness.fake.faults.add("storage.put", "latency", seconds=0.3, times=3)

        resumers = [harness.spawn("resume", run_id) for _ in range(2)]
        results = [_finish(r) for r in resumers]

        for code, _, err in results:
            assert code == 0, err
        resumed = [json.loads(out.splitlines()[-1])["resumed"] for _, out, _ in results]
        assert sorted(resumed) == [0, 1], f"attempt {attempt}: {resumed}"
        harness.verify(run_id, f"attempt {attempt}")
        harness.fake.faults.clear()


# (where the first runner dies, where its restart dies too or None) — inside
# Run.lifecycle()'s enter and exit, and at journal points while its exit waits for the
# background upload.
LIFECYCLE_KILLS: list[tuple[str, str | None]] = [
    ("lc_before_start", None),
    ("lc_after_start", None),
    ("lc_after_beat", None),
    ("lc_before_resume", None),
    ("lc_after_resume", None),
    ("after_asset_id", None),
    ("mid_put:1", None),
    ("mid_put:2", None),
    ("after_mark:1", None),
    ("before_finalize", None),
    ("after_finalize", None),
    ("lc_before_succeed", None),
    ("lc_after_succeed", None),
    ("mid_put:1", "lc_after_start"),
    ("after_asset_id", "lc_before_resume"),
    ("mid_put:2", "lc_after_resume"),
    ("after_asset_id", "mid_put:1"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("crash_at", "restart_crash_at"), LIFECYCLE_KILLS)
def test_sigkill_inside_the_lifecycle_is_recoverable(
    harness: Harness, crash_at: str, restart_crash_at: str | None
) -> None:
    run_id = harness.researcher.runs.create(harness.variation_id).id  # pending
    context = f"lifecycle killed at {crash_at}, restart killed at {restart_crash_at}"

    code, _, err = _finish(harness.spawn("lifecycle", run_id, crash_at))
    assert code == -signal.SIGKILL, f"{context}: exit {code}\n{err}"
    if restart_crash_at is not None:
        code, _, err = _finish(harness.spawn("lifecycle", run_id, restart_crash_at))
        assert code == -signal.SIGKILL, f"{context}: restart exit {code}\n{err}"

    # The scheduler restarts the runner with the same run id.
    code, _, err = _finish(harness.spawn("lifecycle", run_id))
    run = harness.researcher.runs.get(run_id)
    if crash_at == "lc_after_succeed":
        # Nothing left to do: the restart is told clearly, and changes nothing.
        assert code == 1 and "ConflictError" in err and "neither started" in err, context
    else:
        assert code == 0, f"{context}: restart exit {code}\n{err}"
    assert run.state == "succeeded", f"{context}: {run.state} {run.failure_message}"
    harness.verify(run_id, context)
