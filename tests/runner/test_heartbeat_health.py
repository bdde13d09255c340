"""Heartbeat health on the handle ``lifecycle()`` yields (issue 20, items 6 and 8).

A runner author holds only the ``Run`` the ``with`` gives them; from it they must
be able to tell that beats are failing (and since when) and stop early, and leaving
the block after the watchdog reaped the run must say so once, not twice.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import pytest

from methodic import Chronicle, ConflictError, HeartbeatHealth, Run, ServerError

from .conftest import wait_until

if TYPE_CHECKING:
    from methodic_fake.harness import FakeChronicle

BEAT = 0.02


def test_a_fresh_lifecycle_reports_healthy_beats(
    worker: Chronicle, researcher: Chronicle, run_id: str
) -> None:
    with Run(worker, run_id).lifecycle(heartbeat_interval=BEAT) as run:
        wait_until(lambda: run.heartbeat_health.beats >= 2)
        health = run.heartbeat_health
        assert isinstance(health, HeartbeatHealth)
        assert health.error is None and not health.stopped
        assert health.consecutive_failures == 0 and health.progress_problem is None
        assert health.seconds_since_beat is not None and 0 <= health.seconds_since_beat < 5
        # The server's own record of the last beat, on the server's clock.
        assert health.last_beat_at is not None
        assert health.last_beat_at <= researcher.runs.get(run_id).last_heartbeat_at  # type: ignore[operator]


def test_start_counts_as_the_first_beat(worker: Chronicle, run_id: str) -> None:
    run = Run(worker, run_id)
    assert run.heartbeat_health == HeartbeatHealth()
    run.start()
    health = run.heartbeat_health
    assert health.beats == 0 and health.last_beat_at == run.started_at
    assert health.seconds_since_beat is not None


def test_failing_beats_show_on_the_handle_and_clear_when_one_passes(
    worker: Chronicle, run_id: str, fake: FakeChronicle
) -> None:
    with Run(worker, run_id).lifecycle(heartbeat_interval=BEAT) as run:
        wait_until(lambda: run.heartbeat_health.beats >= 1)
        fake.faults.add("runs.heartbeat", "status", status=503, times=3)
        wait_until(lambda: run.heartbeat_health.consecutive_failures >= 2)
        failing = run.heartbeat_health
        assert isinstance(failing.error, ServerError) and failing.error.status_code == 503
        assert not failing.stopped  # a 503 may pass at the next beat
        wait_until(lambda: run.heartbeat_health.consecutive_failures == 0)
        assert run.heartbeat_health.error is None


def _train(run: Run, steps: int) -> None:
    """The loop docs/runner.md shows: stop when Chronicle stops hearing from us."""
    for _ in range(steps):
        health = run.heartbeat_health
        if health.stopped or health.consecutive_failures >= 3:
            raise RuntimeError(f"stopping early, heartbeats failing: {health.error}")
        time.sleep(BEAT)  # one training step


def test_a_runner_stops_early_when_beats_keep_failing(
    worker: Chronicle, researcher: Chronicle, run_id: str, fake: FakeChronicle
) -> None:
    fake.faults.add("runs.heartbeat", "status", status=503, times=1000)
    with (
        pytest.raises(RuntimeError, match="stopping early, heartbeats failing: 503"),
        Run(worker, run_id).lifecycle(heartbeat_interval=BEAT) as run,
    ):
        _train(run, steps=10_000)
    fake.faults.clear()
    failed = researcher.runs.get(run_id)
    assert failed.state == "failed" and failed.failure_reason == "crash"
    assert "heartbeats failing" in (failed.failure_message or "")


def test_a_reaped_run_shows_as_stopped(worker: Chronicle, run_id: str, fake: FakeChronicle) -> None:
    run = Run(worker, run_id).start()
    fake.advance(seconds=16 * 60)
    with pytest.raises(ConflictError), run.heartbeating(interval=BEAT) as beater:
        wait_until(lambda: not beater.running)
    health = run.heartbeat_health
    assert health.stopped and health.error is beater.error
    assert isinstance(health.error, ConflictError)
    assert health.last_beat_at == run.started_at  # nothing got through after start


@pytest.mark.parametrize("leave", ["cleanly", "raising"])
def test_leaving_after_a_reap_says_so_once(
    worker: Chronicle,
    researcher: Chronicle,
    run_id: str,
    fake: FakeChronicle,
    caplog: pytest.LogCaptureFixture,
    leave: str,
) -> None:
    caplog.set_level(logging.INFO, logger="methodic")
    expected = ConflictError if leave == "cleanly" else KeyError
    with pytest.raises(expected), Run(worker, run_id).lifecycle(heartbeat_interval=BEAT) as run:
        fake.advance(seconds=16 * 60)
        wait_until(lambda: run.heartbeat_health.stopped)
        if leave == "raising":
            raise KeyError("the loop noticed")
    problems = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(problems) == 1 and "can no longer heartbeat" in problems[0], problems
    assert not any("could not report" in message for message in problems)
    reaped = researcher.runs.get(run_id)
    assert reaped.state == "failed" and reaped.failure_reason == "heartbeat_timeout"
