"""The background heartbeater: beats, stops cleanly, surfaces reaping."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from functools import partial
from typing import TYPE_CHECKING

import pytest

from methodic import AuthenticationError, Chronicle, ConflictError, NotFoundError, Run
from methodic.run import Heartbeater

from .conftest import wait_until

if TYPE_CHECKING:
    from methodic_fake.harness import FakeChronicle


def _beats_at_least(beater: Heartbeater, n: int) -> bool:
    return beater.beats >= n


def _heartbeat_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("methodic-heartbeat")]


def test_beats_periodically_and_stops_on_exit(
    worker: Chronicle, researcher: Chronicle, run_id: str
) -> None:
    run = Run(worker, run_id).start()
    progress = {"step": 0}

    with run.heartbeating(interval=0.02, progress=lambda: progress) as beater:
        assert beater.running
        [thread] = _heartbeat_threads()
        assert thread.daemon
        for step in range(1, 4):
            progress["step"] = step
            wait_until(partial(_beats_at_least, beater, beater.beats + 2))

    assert not beater.running
    assert _heartbeat_threads() == []
    assert beater.error is None and beater.failures == 0
    assert researcher.runs.get(run_id).progress == {"step": 3}


def test_reaping_is_surfaced_to_the_main_thread(
    worker: Chronicle, researcher: Chronicle, run_id: str, fake: FakeChronicle
) -> None:
    run = Run(worker, run_id).start()
    fake.advance(seconds=16 * 60)  # past the 15-minute watchdog

    with pytest.raises(ConflictError) as caught, run.heartbeating(interval=0.02) as beater:
        wait_until(lambda: not beater.running)

    assert beater.error is caught.value
    assert caught.value.status_code == 409
    # Recorded: later calls fail fast instead of pretending the run is alive.
    with pytest.raises(ConflictError):
        run.succeed()
    with pytest.raises(ConflictError):
        run.heartbeat()
    reaped = researcher.runs.get(run_id)
    assert reaped.state == "failed" and reaped.failure_reason == "heartbeat_timeout"


def test_finishing_inside_the_block_is_not_mistaken_for_reaping(
    worker: Chronicle, researcher: Chronicle, run_id: str
) -> None:
    run = Run(worker, run_id).start()

    with run.heartbeating(interval=0.01) as beater:
        wait_until(lambda: beater.beats >= 1)
        run.succeed()
        wait_until(lambda: not beater.running)

    assert beater.error is None
    assert researcher.runs.get(run_id).state == "succeeded"


def test_an_error_in_the_block_is_not_masked(worker: Chronicle, run_id: str) -> None:
    run = Run(worker, run_id).start()

    with pytest.raises(ValueError, match="boom"), run.heartbeating(interval=0.02):
        raise ValueError("boom")

    assert _heartbeat_threads() == []


def test_transient_failures_are_retried_at_the_next_beat(
    worker: Chronicle, run_id: str, fake: FakeChronicle
) -> None:
    run = Run(worker, run_id).start()
    fake.faults.add("runs.heartbeat", "status", status=503, times=2)

    with run.heartbeating(interval=0.02) as beater:
        wait_until(lambda: beater.beats >= 2)

    assert beater.failures == 2 and beater.error is None


def test_interval_must_be_positive(worker: Chronicle, run_id: str) -> None:
    run = Run(worker, run_id)
    with pytest.raises(ValueError, match="interval"), run.heartbeating(interval=0):
        pass


# Blocks a process may never leave before its interpreter exits. Python 3.13 hung at
# exit when the heartbeater was a generator context manager: finalizing the suspended
# generator joined a daemon thread that could no longer run.
NEVER_EXITED = {
    "beating": "run.start(); cm = run.heartbeating(interval=0.05)",
    "idle": "run.start(); cm = run.heartbeating(interval=3600)",
    "waiting for start": "cm = run.heartbeating(interval=0.05)",
    "lifecycle": "cm = run.lifecycle(heartbeat_interval=0.05)",
}


@pytest.mark.parametrize("block", sorted(NEVER_EXITED))
def test_the_heartbeater_never_keeps_the_process_alive(fake: FakeChronicle, block: str) -> None:
    from .conftest import new_run_id

    run_id = new_run_id(fake)
    script = textwrap.dedent(
        f"""
        import time
        from methodic import Chronicle, Run
        run = Run(Chronicle(), {run_id!r})
        {NEVER_EXITED[block]}
        cm.__enter__()          # never exited: the interpreter must still exit
        time.sleep(0.2)         # let it beat (or wait) for a while
        print("started", flush=True)
        """
    )
    try:
        child = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=30
        )
    except subprocess.TimeoutExpired as err:
        raise AssertionError(f"the interpreter did not exit: {err.stderr!r}") from err
    assert child.returncode == 0, child.stderr
    assert child.stdout.strip() == "started"


def test_an_unknown_run_stops_the_heartbeater_and_is_surfaced(worker: Chronicle) -> None:
    run = Run(worker, "run-that-does-not-exist")

    with pytest.raises(NotFoundError) as caught, run.heartbeating(interval=0.01) as beater:
        wait_until(lambda: not beater.running)

    assert beater.error is caught.value and beater.failures == 0
    with pytest.raises(NotFoundError):
        run.heartbeat()


def test_a_rejected_key_stops_the_heartbeater_and_is_surfaced(
    fake: FakeChronicle, run_id: str
) -> None:
    Run(fake.client("worker"), run_id).start()
    with Chronicle(fake.base_url, "sk_worker_unknownkey0000000000") as revoked:
        run = Run(revoked, run_id)

        with pytest.raises(AuthenticationError), run.heartbeating(interval=0.01) as beater:
            wait_until(lambda: not beater.running)

    assert isinstance(beater.error, AuthenticationError) and beater.failures == 0


@pytest.mark.parametrize("status", [408, 429, 500])
def test_timeouts_rate_limits_and_server_errors_are_retried(
    worker: Chronicle, run_id: str, fake: FakeChronicle, status: int
) -> None:
    run = Run(worker, run_id).start()
    fake.faults.add("runs.heartbeat", "status", status=status)

    with run.heartbeating(interval=0.01) as beater:
        wait_until(lambda: beater.beats >= 1)

    assert beater.failures == 1 and beater.error is None
