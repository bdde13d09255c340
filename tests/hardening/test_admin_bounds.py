"""Guarantee: every number the admin API takes has a documented bound, and a 422 beyond it.

For each numeric field of ``POST /_fake/faults`` and ``POST /_fake/clock/advance``
(the bounds of docs/fake.md, imported here from the modules that enforce them), the
bound itself is accepted and the first value past it, a huge integer and a huge
float are refused with 422 naming the field, and nothing is queued or moved. The
queue as a whole is bounded too (400 past it), so ``GET /_fake/faults`` answers 200
however the queue was filled. The harness API (``fake.faults.add``,
``fake.advance``) refuses the same values with ``ValueError``, at once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from methodic_fake import FakeChronicle
from methodic_fake.clock import MAX_ADVANCE
from methodic_fake.faults import (
    MAX_AFTER_BYTES,
    MAX_LATENCY,
    MAX_QUEUED,
    MAX_RETRY_AFTER,
    MAX_TIMES,
)

HUGE_INT = 1_000_000_000_000_000
HUGE_FLOAT = 1e300


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeChronicle]:
    with FakeChronicle.in_process() as fake:
        yield fake


@pytest.fixture
def admin(fake: FakeChronicle) -> Iterator[Any]:
    fake.reset()
    with fake.http(None) as client:
        yield client
    fake.reset()


# field -> (base body, lowest accepted, highest accepted)
FAULT_FIELDS: dict[str, tuple[dict[str, Any], float, float]] = {
    "times": ({"operation": "runs.get", "kind": "status"}, 1, MAX_TIMES),
    "status": ({"operation": "runs.get", "kind": "status"}, 400, 599),
    "retry_after": ({"operation": "runs.get", "kind": "status"}, 0, MAX_RETRY_AFTER),
    "after_bytes": ({"operation": "storage.put", "kind": "truncate"}, 0, MAX_AFTER_BYTES),
    "seconds": ({"operation": "runs.get", "kind": "latency"}, 0, MAX_LATENCY),
}


def _beyond(low: float, high: float) -> list[Any]:
    step = 0.5 if isinstance(high, float) else 1
    return [low - step, high + step, HUGE_INT, -HUGE_INT, HUGE_FLOAT, 1.5]


@pytest.mark.parametrize("field", list(FAULT_FIELDS))
def test_fault_numbers_are_bounded(admin: Any, fake: FakeChronicle, field: str) -> None:
    base, low, high = FAULT_FIELDS[field]
    for value in (low, high):
        response = admin.post("/_fake/faults", json={**base, field: value})
        assert response.status_code == 201, (field, value, response.text[:300])
        admin.delete("/_fake/faults")
    for value in _beyond(low, high):
        if field == "seconds" and value == 1.5:
            continue  # seconds are fractional
        response = admin.post("/_fake/faults", json={**base, field: value})
        assert response.status_code == 422, (field, value, response.text[:300])
        locs = [e["loc"] for e in response.json()["detail"]]
        assert ["body", field] in locs, locs
        assert len(fake.faults) == 0
        listed = admin.get("/_fake/faults")
        assert listed.status_code == 200 and listed.json()["faults"] == []


def test_the_queue_is_bounded_and_listing_it_never_fails(admin: Any, fake: FakeChronicle) -> None:
    body = {"operation": "runs.get", "kind": "latency", "times": MAX_TIMES}
    for _ in range(MAX_QUEUED // MAX_TIMES):
        assert admin.post("/_fake/faults", json=body).status_code == 201
    refused = admin.post("/_fake/faults", json={**body, "times": 1})
    assert refused.status_code == 400
    assert str(MAX_QUEUED) in refused.json()["detail"]
    listed = admin.get("/_fake/faults")
    assert listed.status_code == 200
    assert len(listed.json()["faults"]) == MAX_QUEUED


def test_clock_advance_is_bounded(admin: Any, fake: FakeChronicle) -> None:
    for value in (-1e-6, MAX_ADVANCE + 1, HUGE_INT, HUGE_FLOAT):
        response = admin.post(
            "/_fake/clock/advance",
            content=json.dumps({"seconds": value}),
            headers={"content-type": "application/json"},
        )
        assert response.status_code == 422, (value, response.text[:300])
        assert fake.clock.offset == 0
    assert admin.post("/_fake/clock/advance", json={"seconds": MAX_ADVANCE}).status_code == 200


@pytest.mark.parametrize(
    "options",
    [
        {"times": HUGE_INT},
        {"times": 0},
        {"status": 10**20},
        {"retry_after": -1},
        {"retry_after": HUGE_INT},
        {"seconds": HUGE_FLOAT},
    ],
    ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items()),
)
def test_harness_refuses_the_same_values(fake: FakeChronicle, options: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        fake.faults.add("runs.get", "status", **options)
    with pytest.raises(ValueError):
        fake.faults.add("storage.put", "truncate", after_bytes=MAX_AFTER_BYTES + 1)
    assert len(fake.faults) == 0
    with pytest.raises(ValueError):
        fake.advance(hours=HUGE_INT)
    assert fake.clock.offset == 0
