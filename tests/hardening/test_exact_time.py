"""Guarantee: the watchdog boundary is exact for every clock offset, up to the clock's cap.

docs/api.md: "At exactly 900 s the run is still running; any later instant it is
failed." The fake keeps time as integer microseconds, so this holds whatever the
offset. A hypothesis property drives the in-process fake through the SDK with a
random (fractional) source time, a random clock offset anywhere in its range
(half the examples within an hour of the 100-year cap, where floating-point
seconds stop resolving microseconds) and a random gap before the last heartbeat:
after ``freeze()``, advancing exactly 900 s leaves the run running, and one more
microsecond fails it with ``finished_at == last_heartbeat_at + 15 min`` to the
microsecond. A deterministic case does the same for 40 runs started a microsecond
apart at the cap. Timestamps keep their wire format (RFC 3339, 6 decimals, ``Z``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from methodic import Chronicle
from methodic_fake import FakeChronicle
from methodic_fake.clock import MAX_ADVANCE, MAX_OFFSET, Clock

EXAMPLES = int(os.environ.get("METHODIC_PROPERTY_EXAMPLES", "30")) * 2
TIMEOUT = 900.0
US = 1e-6
WIRE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


class FixedSource:
    """A time source that stands still: only the fake's offset moves."""

    def __init__(self, t: float) -> None:
        self.t = t

    def now(self) -> float:
        return self.t


def _parse(stamp: str | None) -> datetime:
    assert stamp is not None and WIRE.match(stamp), stamp
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ")


def _running_run(chronicle: Chronicle, worker: Chronicle) -> str:
    exp = chronicle.experiments.create("exact time")
    variation = chronicle.variations.create(exp.id, config_json={})
    chronicle.experiments.commit(exp.id)
    run = chronicle.runs.create(variation.id)
    worker.runs.start(run.id)
    return run.id


# Room for the gap and the timeout below the cap.
HEADROOM = 2 * TIMEOUT + 1.0
offsets = st.one_of(
    st.floats(0, MAX_OFFSET - HEADROOM),
    st.floats(MAX_OFFSET - HEADROOM - 3600.0, MAX_OFFSET - HEADROOM),
)


SOURCE = FixedSource(0.0)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeChronicle]:
    with FakeChronicle.in_process(clock=Clock(source=SOURCE)) as fake:
        yield fake


def _move_to(fake: FakeChronicle, source: float, offset: float) -> None:
    """Reset the fake, then stand its clock at `source + offset` (steps of ≤ 10 years)."""
    fake.reset()
    SOURCE.t = source
    fake.freeze()
    while offset - fake.clock.offset >= US:  # what is left under 1 µs rounds away
        fake.advance(seconds=min(MAX_ADVANCE, offset - fake.clock.offset))


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    source=st.floats(1e9, 2.5e9),
    offset=offsets,
    gap=st.floats(0, TIMEOUT - 0.001),  # a heartbeat in time
)
def test_boundary_is_exact_for_every_offset(
    fake: FakeChronicle, source: float, offset: float, gap: float
) -> None:
    _move_to(fake, source, offset)
    chronicle, worker = fake.client("researcher"), fake.client("worker")
    run_id = _running_run(chronicle, worker)
    fake.advance(seconds=gap)
    beat = worker.runs.heartbeat(run_id)
    fake.advance(seconds=TIMEOUT)
    assert worker.runs.get(run_id).state == "running", "reaped at exactly 900 s"
    fake.advance(seconds=US)
    run = worker.runs.get(run_id)
    assert run.state == "failed", "not reaped 1 µs after the deadline"
    assert run.failure_reason == "heartbeat_timeout"
    assert run.last_heartbeat_at == beat.last_heartbeat_at
    assert _parse(run.finished_at) == _parse(run.last_heartbeat_at) + timedelta(minutes=15)
    fake.close_clients()


def test_forty_runs_a_microsecond_apart_at_the_cap(fake: FakeChronicle, figures: Any) -> None:
    _move_to(fake, 2e9 + 0.123457, MAX_OFFSET - 2 * HEADROOM)
    chronicle, worker = fake.client("researcher"), fake.client("worker")
    ids = []
    for _ in range(40):
        ids.append(_running_run(chronicle, worker))
        fake.advance(seconds=US)
    first = _parse(worker.runs.get(ids[0]).last_heartbeat_at)
    # The first run's deadline exactly: nobody is reaped yet.
    fake.advance(seconds=TIMEOUT - 40 * US)
    assert [worker.runs.get(i).state for i in ids] == ["running"] * 40
    for n, _ in enumerate(ids):
        fake.advance(seconds=US)
        states = [worker.runs.get(i).state for i in ids]
        assert states == ["failed"] * (n + 1) + ["running"] * (39 - n), n
    for i in ids:
        run = worker.runs.get(i)
        assert _parse(run.finished_at) == _parse(run.last_heartbeat_at) + timedelta(minutes=15)
    assert _parse(worker.runs.get(ids[-1]).last_heartbeat_at) - first == timedelta(microseconds=39)
    figures.set("exact time: runs reaped a microsecond apart at the clock cap", 40)


def test_the_offset_is_exact_in_microseconds() -> None:
    clock = Clock(source=FixedSource(1e9))
    clock.freeze()
    start = clock.now_us()
    for _ in range(1000):
        clock.advance(0.1)
    assert clock.now_us() - start == 100_000_000
    while clock.offset < MAX_OFFSET:  # up to the cap, in steps of at most 10 years
        clock.advance(min(MAX_ADVANCE, MAX_OFFSET - clock.offset))
    assert clock.offset == MAX_OFFSET
    assert clock.now_us() - start == round(MAX_OFFSET * 1e6)
