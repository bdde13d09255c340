"""Guarantee: the 15-minute heartbeat watchdog reaps exactly the silent runs, at exactly the deadline.

200 runs are running at once against a uvicorn-served fake whose clock only moves
when the test says so (a frozen time source plus ``advance``). They start in four
staggered batches, then half of them heartbeat (from 8 threads sharing one
``Chronicle``). Stepping the clock across each deadline shows:

- at the deadline itself nothing is reaped ("more than 15 minutes");
- one second later exactly the silent runs of that batch are ``failed`` with
  ``failure_reason == "heartbeat_timeout"`` and
  ``finished_at == last_heartbeat_at + 15 min`` to the microsecond;
- runs that heartbeated are untouched until their own deadline;
- the list endpoints agree with per-run reads (nobody has to look for it to happen),
  and a reaped run's next heartbeat is a 409 (that is how a runner learns).
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import pytest

from methodic import Chronicle, ConflictError
from methodic_fake import FakeChronicle
from methodic_fake.clock import Clock

RUNS = 200
BATCHES = 4
BATCH_GAP = 60.0
TIMEOUT = 15 * 60.0
T0 = 1_800_000_000.0  # a round instant, so every expected timestamp is exact


class FrozenTime:
    """A time source that never moves by itself: only ``advance`` moves the fake."""

    def now(self) -> float:
        return T0


def _parse(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ")


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeChronicle]:
    with FakeChronicle.start(clock=Clock(source=FrozenTime())) as fake:
        yield fake


def _states(chronicle: Chronicle, variation_id: str) -> dict[str, Any]:
    runs = list(chronicle.runs.list(variation_id=variation_id, limit=200))
    return {run.id: run for run in runs}


def test_exactly_the_silent_runs_are_reaped_at_the_boundary(
    fake: FakeChronicle, figures: Any
) -> None:
    chronicle = fake.client("researcher")
    worker = fake.client("worker")
    exp = chronicle.experiments.create("watchdog boundary")
    variation = chronicle.variations.create(exp.id, config_json={"steps": 1})
    chronicle.experiments.commit(exp.id)

    started_at: dict[str, float] = {}
    for _batch in range(BATCHES):
        for _ in range(RUNS // BATCHES):
            run = worker.runs.start(chronicle.runs.create(variation.id).id)
            started_at[run.id] = fake.now()
        fake.advance(seconds=BATCH_GAP)
    ids = list(started_at)
    assert len(ids) == RUNS

    # Heartbeat every other run, concurrently, 10 minutes after the first batch.
    fake.advance(seconds=600 - BATCHES * BATCH_GAP)
    beating = set(ids[::2])
    silent = [i for i in ids if i not in beating]
    with ThreadPoolExecutor(max_workers=8) as pool:
        beats = list(
            pool.map(lambda rid: worker.runs.heartbeat(rid, progress={"step": 1}), beating)
        )
    assert all(b.state == "running" for b in beats)
    beat_at = fake.now()

    def deadline(run_id: str) -> float:
        last = beat_at if run_id in beating else started_at[run_id]
        return last + TIMEOUT

    reaped_so_far: set[str] = set()
    for batch in range(BATCHES):
        batch_deadline = T0 + batch * BATCH_GAP + TIMEOUT
        # Exactly at the deadline: not yet ("more than 15 minutes").
        fake.advance(seconds=batch_deadline - fake.now())
        states = _states(chronicle, variation.id)
        failed = {rid for rid, run in states.items() if run.state == "failed"}
        assert failed == reaped_so_far, f"batch {batch}: reaped at the deadline itself"
        fake.advance(seconds=1)
        states = _states(chronicle, variation.id)
        failed = {rid for rid, run in states.items() if run.state == "failed"}
        expected = {rid for rid in silent if deadline(rid) < fake.now()}
        assert failed == expected, f"batch {batch}: reaped {len(failed)}, expected {len(expected)}"
        reaped_so_far = failed

    assert reaped_so_far == set(silent)
    states = _states(chronicle, variation.id)
    for rid in silent:
        run = states[rid]
        assert run.failure_reason == "heartbeat_timeout", run
        assert run.last_heartbeat_at is not None and run.finished_at is not None
        assert _parse(run.finished_at) == _parse(run.last_heartbeat_at) + timedelta(minutes=15), run
    for rid in beating:
        assert states[rid].state == "running", states[rid]
        assert states[rid].finished_at is None
        assert states[rid].progress == {"step": 1}

    # Filtering by state sees the same thing as reading every run.
    assert (
        len(list(chronicle.runs.list(variation_id=variation.id, state="failed", limit=200)))
        == RUNS // 2
    )
    assert (
        len(list(chronicle.runs.list(variation_id=variation.id, state="running", limit=200)))
        == RUNS // 2
    )
    detail = chronicle.experiments.get(exp.id)
    assert detail.run_counts.get("failed") == RUNS // 2
    assert detail.run_counts.get("running") == RUNS // 2

    # A reaped runner learns it from its next heartbeat.
    for rid in silent[:10]:
        with pytest.raises(ConflictError):
            worker.runs.heartbeat(rid)

    # And the heartbeating half falls to the same rule at its own deadline.
    fake.advance(seconds=beat_at + TIMEOUT + 1 - fake.now())
    states = _states(chronicle, variation.id)
    assert all(run.state == "failed" for run in states.values())
    for rid in beating:
        assert _parse(states[rid].finished_at) == _parse(states[rid].last_heartbeat_at) + timedelta(
            minutes=15
        )
    figures.set("watchdog: concurrent runs", RUNS)
    figures.set("watchdog: runs reaped at the boundary", len(silent))
