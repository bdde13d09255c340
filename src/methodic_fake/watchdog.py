"""The heartbeat watchdog, as a pure function of a run and the time.

There are no timers: whoever touches the registry first after the deadline
applies the same transition with the same `finished_at`
(`last_heartbeat_at + 15 min`), so the outcome never depends on who looked first
or when. The dev server also sweeps periodically so its database catches up
while nobody is calling.
"""

from __future__ import annotations

from methodic_fake.models import Run

HEARTBEAT_TIMEOUT = 15 * 60.0


def deadline(run: Run, timeout: float = HEARTBEAT_TIMEOUT) -> float | None:
    """When a running run will be failed unless it heartbeats, or None."""
    if run.state != "running" or run.last_heartbeat_at is None:
        return None
    return run.last_heartbeat_at + timeout


def reap(run: Run, now: float, timeout: float = HEARTBEAT_TIMEOUT) -> bool:
    """Fail `run` if its heartbeat is more than `timeout` old at `now`; True if it did."""
    due = deadline(run, timeout)
    if due is None or now <= due:
        return False
    run.state = "failed"
    run.failure_reason = "heartbeat_timeout"
    run.failure_message = f"no heartbeat for {int(timeout)} seconds"
    run.finished_at = due
    return True
