"""The 15-minute heartbeat watchdog, decided lazily from the fake's clock."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from methodic import Chronicle, ConflictError
from methodic_fake import FakeChronicle
from methodic_fake.clock import Clock
from methodic_fake.models import Run
from methodic_fake.watchdog import HEARTBEAT_TIMEOUT, HEARTBEAT_TIMEOUT_US, reap

from .conftest import committed_variation


def _parse(ts: str) -> datetime:
    return datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ")


def _running_run(researcher: Chronicle, worker: Chronicle) -> str:
    _, variation_id = committed_variation(researcher)
    run = researcher.runs.create(variation_id)
    worker.runs.start(run.id)
    return run.id


def test_still_running_one_second_before_the_deadline(
    fake: FakeChronicle, researcher: Chronicle, worker: Chronicle
) -> None:
    fake.freeze()  # no real time passes between the start and the check
    run_id = _running_run(researcher, worker)
    fake.advance(seconds=HEARTBEAT_TIMEOUT - 1)
    assert worker.runs.get(run_id).state == "running"


def test_still_running_at_exactly_the_deadline(
    fake: FakeChronicle, researcher: Chronicle, worker: Chronicle
) -> None:
    fake.freeze()
    run_id = _running_run(researcher, worker)
    fake.advance(seconds=HEARTBEAT_TIMEOUT)
    assert worker.runs.get(run_id).state == "running"
    fake.advance(seconds=0.001)
    assert worker.runs.get(run_id).state == "failed"


def test_failed_one_second_after_the_deadline(
    fake: FakeChronicle, researcher: Chronicle, worker: Chronicle
) -> None:
    fake.freeze()
    run_id = _running_run(researcher, worker)
    fake.advance(seconds=HEARTBEAT_TIMEOUT + 1)
    run = worker.runs.get(run_id)
    assert (run.state, run.failure_reason) == ("failed", "heartbeat_timeout")
    assert run.last_heartbeat_at is not None and run.finished_at is not None
    assert _parse(run.finished_at) - _parse(run.last_heartbeat_at) == timedelta(minutes=15)


def test_heartbeats_push_the_deadline(
    fake: FakeChronicle, researcher: Chronicle, worker: Chronicle
) -> None:
    fake.freeze()
    run_id = _running_run(researcher, worker)
    for _ in range(3):
        fake.advance(seconds=HEARTBEAT_TIMEOUT - 1)
        worker.runs.heartbeat(run_id)
    assert worker.runs.get(run_id).state == "running"


def test_reaped_run_learns_it_from_its_heartbeat(
    fake: FakeChronicle, researcher: Chronicle, worker: Chronicle
) -> None:
    run_id = _running_run(researcher, worker)
    fake.advance(minutes=16)
    # The heartbeat is the first call after the deadline: it must see the reap.
    with pytest.raises(ConflictError) as info:
        worker.runs.heartbeat(run_id)
    assert "it is failed (heartbeat_timeout)" in info.value.body["detail"]
    with pytest.raises(ConflictError):
        worker.runs.succeed(run_id)


def test_outcome_does_not_depend_on_who_looks_first(
    fake: FakeChronicle, researcher: Chronicle, worker: Chronicle
) -> None:
    exp_id, variation_id = committed_variation(researcher)
    runs = [researcher.runs.create(variation_id).id for _ in range(2)]
    for run_id in runs:
        worker.runs.start(run_id)
    fake.advance(hours=1)
    # Look at them through different doors, in different orders, much later.
    detail = researcher.experiments.get(exp_id)
    assert detail.run_counts == {"failed": 2}
    fake.advance(hours=5)
    listed = {r.id: r for r in researcher.runs.list(state="failed")}
    direct = {run_id: worker.runs.get(run_id) for run_id in reversed(runs)}
    for run_id in runs:
        assert listed[run_id].finished_at == direct[run_id].finished_at
        assert _parse(direct[run_id].finished_at) - _parse(
            direct[run_id].last_heartbeat_at
        ) == timedelta(minutes=15)
    # The experiment can now be concluded: no run is active any more.
    assert researcher.experiments.conclude(exp_id, conclusion="done").state == "concluded"


def test_pending_runs_are_never_reaped(fake: FakeChronicle, researcher: Chronicle) -> None:
    _, variation_id = committed_variation(researcher)
    run = researcher.runs.create(variation_id)
    fake.advance(hours=24)
    assert researcher.runs.get(run.id).state == "pending"


def test_reap_is_a_pure_function_of_run_and_time() -> None:
    clock = Clock()
    # Times are integer microseconds.
    run = Run(id="r", created_at=0, seq=1, state="running", last_heartbeat_at=100)
    assert not reap(run, 100 + HEARTBEAT_TIMEOUT_US)
    assert reap(run, 100 + HEARTBEAT_TIMEOUT_US + 1)
    assert run.finished_at == 100 + HEARTBEAT_TIMEOUT_US
    assert run.failure_message == "no heartbeat for 900 seconds"
    assert not reap(run, clock.now_us())  # already failed: nothing more happens
