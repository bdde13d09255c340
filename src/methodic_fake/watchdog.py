"""The heartbeat watchdog, as a pure function of a run and the time.

There are no timers: whoever touches the registry first after the deadline
applies the same transition with the same `finished_at`
(`last_heartbeat_at + 15 min`), so the outcome never depends on who looked first
or when. The dev server also sweeps periodically so its database catches up
while nobody is calling.
"""

from __future__ import annotations

from methodic_fake.clock import US_PER_SECOND
from methodic_fake.models import Run

HEARTBEAT_TIMEOUT = 15 * 60  # seconds
HEARTBEAT_TIMEOUT_US = HEARTBEAT_TIMEOUT * US_PER_SECOND


def deadline(run: Run, timeout_us: int = HEARTBEAT_TIMEOUT_US) -> int | None:
    """When (µs since the epoch) a running run will be failed unless it heartbeats, or None."""
    if run.state != "running" or run.last_heartbeat_at is None:
        return None
    return run.last_heartbeat_at + timeout_us


def reap(run: Run, now_us: int, timeout_us: int = HEARTBEAT_TIMEOUT_US) -> bool:
    """Fail `run` if its heartbeat is more than `timeout_us` old at `now_us`; True if it did.

    Integers on both sides: "at exactly the deadline still running" is exact.
    """
    due = deadline(run, timeout_us)
    if due is None or now_us <= due:
        return False
    run.state = "failed"
    run.failure_reason = "heartbeat_timeout"
    run.failure_message = f"no heartbeat for {timeout_us // US_PER_SECOND} seconds"
    run.finished_at = due
    return True
