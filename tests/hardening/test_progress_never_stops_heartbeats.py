"""Guarantee: a run's liveness never depends on its progress payload (issue 19, findings 1-2).

A training loop hands ``progress`` whatever it has: a loss that went NaN, a numpy
scalar, a ``Decimal``, a ``datetime``, an object with no JSON form, or a callable that
raises. Each beat must still reach Chronicle (the uvicorn-served fake, over a real
socket): values JSON cannot carry are sent in docs/api.md's encoding (``"NaN"``,
``"Infinity"``, ``"-Infinity"``, plain numbers, RFC 3339), what has no form is dropped,
and each problem is logged once and shown in ``run.heartbeat_health.progress_problem``
— never a skipped beat, never a run reaped while it trains.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from methodic import Chronicle, Run
from methodic_fake import FakeChronicle

BEAT = 0.05


def _new_run(fake: FakeChronicle) -> str:
    researcher = fake.client("researcher")
    exp = researcher.experiments.create("diverging loss")
    researcher.experiments.commit(exp.id)
    variation = researcher.variations.create(exp.id, config={"lr": 3.0})
    return researcher.runs.create(variation.id).id


def _a_beat_lands_after(researcher: Chronicle, run_id: str, since: str | None) -> bool:
    """Wait (up to 10 s) until Chronicle records a beat newer than ``since``."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        current = researcher.runs.get(run_id)
        if current.state != "running":
            return False
        if current.last_heartbeat_at != since:
            return True
        time.sleep(BEAT)
    return False


def test_a_nan_loss_keeps_the_run_alive_past_the_watchdog(methodic_fake: FakeChronicle) -> None:
    researcher = methodic_fake.client("researcher")
    run_id = _new_run(methodic_fake)
    progress = lambda: {"step": 7, "loss": float("nan"), "grad": float("-inf")}  # noqa: E731

    with (
        Chronicle() as worker,
        Run(worker, run_id).lifecycle(heartbeat_interval=BEAT, progress=progress) as run,
    ):
        # 2 x 10 minutes of the fake's clock: past the 15-minute watchdog, so the run
        # is alive at the end only if beats carrying the NaN landed in between.
        for _ in range(2):
            methodic_fake.advance(seconds=10 * 60)
            since = researcher.runs.get(run_id).last_heartbeat_at
            assert _a_beat_lands_after(researcher, run_id, since), (
                f"no heartbeat reached Chronicle: the run is {researcher.runs.get(run_id).state}"
            )
        alive = researcher.runs.get(run_id)
        assert alive.state == "running"
        assert alive.progress == {"step": 7, "loss": "NaN", "grad": "-Infinity"}
        assert run.heartbeat_health.error is None
        assert run.heartbeat_health.progress_problem is None  # a documented form, not a loss

    assert researcher.runs.get(run_id).state == "succeeded"


class Scalar:
    """Quacks like a numpy / torch scalar: ``.item()`` gives the Python number."""

    def __init__(self, value: float) -> None:
        self.value = value

    def item(self) -> float:
        return self.value


class Array:
    """Quacks like a numpy array: ``.tolist()`` gives nested Python lists."""

    def tolist(self) -> list[list[float]]:
        return [[0.5, float("nan")], [float("inf"), 2.0]]


class Opaque:
    """No JSON form at all."""


def _raises() -> dict[str, Any]:
    raise ZeroDivisionError("loss / 0")


def _nested(levels: int) -> dict[str, Any]:
    top: dict[str, Any] = {}
    inner = top
    for _ in range(levels - 1):
        inner["x"] = {}
        inner = inner["x"]
    return top


def _depth(value: Any) -> int:
    """Levels of nested objects, counting ``value`` itself (docs/api.md counts so)."""
    if not isinstance(value, dict):
        return 0
    return 1 + max((_depth(child) for child in value.values()), default=0)


# name: (progress source, what Chronicle should hold, a problem it reports, or None)
CASES: dict[str, tuple[Any, Any, str | None]] = {
    "decimal": ({"lr": Decimal("0.125")}, {"lr": 0.125}, None),
    "decimal-nan": ({"lr": Decimal("NaN")}, {"lr": "NaN"}, None),
    "numpy-like-scalar": ({"loss": Scalar(0.25)}, {"loss": 0.25}, None),
    "numpy-like-array": ({"hist": Array()}, {"hist": [[0.5, "NaN"], ["Infinity", 2.0]]}, None),
    "datetime": (
        {"at": datetime(2026, 1, 2, 3, 4, 5, 600000, tzinfo=UTC)},
        {"at": "2026-01-02T03:04:05.600000Z"},
        None,
    ),
    "date": ({"day": date(2026, 1, 2)}, {"day": "2026-01-02"}, None),
    "tuple-and-int-keys": ({"shape": (2, 3), 1: "one"}, {"shape": [2, 3], "1": "one"}, None),
    "object": ({"step": 1, "model": Opaque()}, {"step": 1}, "has no JSON form"),
    "bytes": ({"step": 1, "raw": b"\x00"}, {"step": 1}, "bytes has no JSON form"),
    "huge-integer": ({"step": 1, "n": 10**5000}, {"step": 1}, "more than 4300 digits"),
    "lone-surrogate": ({"note": "a\ud800b"}, {"note": "a\ufffdb"}, "surrogate"),
    "callable-raises": (_raises, None, "raised ZeroDivisionError: loss / 0"),
    "not-a-mapping": (lambda: [1, 2], None, "not a mapping"),
    "refused-by-chronicle": ({"blob": "x" * (9 << 20)}, None, "413"),
}


@pytest.mark.parametrize(("source", "stored", "problem"), CASES.values(), ids=CASES.keys())
def test_every_payload_still_beats(
    methodic_fake: FakeChronicle,
    caplog: pytest.LogCaptureFixture,
    source: Any,
    stored: Any,
    problem: str | None,
) -> None:
    researcher = methodic_fake.client("researcher")
    run_id = _new_run(methodic_fake)
    caplog.set_level(logging.WARNING, logger="methodic")
    progress: Callable[[], Any] = source if callable(source) else (lambda: source)

    with (
        Chronicle() as worker,
        Run(worker, run_id).lifecycle(heartbeat_interval=BEAT, progress=progress) as run,
    ):
        for _ in range(3):  # several beats: the problem is reported once, not per beat
            methodic_fake.advance(seconds=60)
            since = researcher.runs.get(run_id).last_heartbeat_at
            assert _a_beat_lands_after(researcher, run_id, since), "the beat was skipped"
        assert researcher.runs.get(run_id).progress == stored
        health = run.heartbeat_health
        assert health.error is None and health.beats >= 3

    warnings = [r.getMessage() for r in caplog.records if "heartbeat progress" in r.getMessage()]
    if problem is None:
        assert health.progress_problem is None
        assert warnings == []
    else:
        assert health.progress_problem is not None and problem in health.progress_problem
        assert len(warnings) == 1 and problem in warnings[0], warnings
    assert researcher.runs.get(run_id).state == "succeeded"


def test_nesting_past_the_limit_is_cut_at_the_limit(methodic_fake: FakeChronicle) -> None:
    researcher = methodic_fake.client("researcher")
    run_id = _new_run(methodic_fake)
    with Chronicle() as worker:
        run = Run(worker, run_id).start()
        run.heartbeat(progress={"deep": _nested(100)})
    assert _depth(researcher.runs.get(run_id).progress) == 64
    assert "nested deeper than 64 levels" in (run.heartbeat_health.progress_problem or "")


def test_a_direct_heartbeat_sends_the_same_encoding(methodic_fake: FakeChronicle) -> None:
    researcher = methodic_fake.client("researcher")
    run_id = _new_run(methodic_fake)
    with Chronicle() as worker:
        Run(worker, run_id).start().heartbeat(progress={"loss": float("nan")})
        assert researcher.runs.get(run_id).progress == {"loss": "NaN"}
        worker.runs.heartbeat(run_id, progress={"loss": float("inf"), "lr": Decimal("0.5")})
    assert researcher.runs.get(run_id).progress == {"loss": "Infinity", "lr": 0.5}
