"""The `/_fake` HTTP control surface (what another process or the dev server uses)."""

from __future__ import annotations

import pytest

from methodic import Chronicle
from methodic_fake import FakeChronicle
from methodic_fake.clock import MAX_ADVANCE, Clock

from .conftest import committed_variation


def test_keys_reset_clock_and_search(fake: FakeChronicle, researcher: Chronicle) -> None:
    admin = fake.http(None)
    assert admin.get("/_fake/keys").json() == fake.keys
    researcher.experiments.create("gone after reset")
    assert admin.post("/_fake/reset").status_code == 204
    assert researcher.experiments.list().items == []

    before = admin.get("/_fake/clock").json()
    after = admin.post("/_fake/clock/advance", json={"seconds": 3600}).json()
    assert after["offset_seconds"] == before["offset_seconds"] + 3600
    assert admin.post("/_fake/clock/advance", json={"seconds": -1}).status_code == 422

    assert admin.put("/_fake/search", json={"configured": False}).json() == {"configured": False}
    assert admin.get("/_fake/search").json() == {"configured": False}
    assert fake.search_configured is False


def test_clock_advance_over_http_reaps_runs(fake: FakeChronicle, researcher: Chronicle) -> None:
    _, variation_id = committed_variation(researcher)
    run = researcher.runs.create(variation_id)
    researcher.runs.start(run.id)
    fake.http(None).post("/_fake/clock/advance", json={"seconds": 901})
    assert researcher.runs.get(run.id).failure_reason == "heartbeat_timeout"


def test_admin_refuses_non_loopback_clients(in_process: FakeChronicle) -> None:
    testclient_cls = type(in_process.http(None))
    remote = testclient_cls(in_process.app, base_url="http://testserver", client=("10.1.2.3", 5))
    with remote:
        response = remote.get("/_fake/keys")
    assert response.status_code == 403
    assert "loopback" in response.json()["detail"]


@pytest.mark.parametrize(
    "body",
    ['{"seconds": 1e999}', '{"seconds": Infinity}', '{"seconds": NaN}', '{"seconds": 1e300}'],
)
def test_clock_advance_refuses_unbounded_values(fake: FakeChronicle, body: str) -> None:
    admin = fake.http(None)
    response = admin.post(
        "/_fake/clock/advance", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert fake.clock.offset == 0
    # Nothing was damaged: timestamps still render.
    assert fake.client().experiments.create("fine").title == "fine"


def test_clock_refuses_non_finite_and_huge_steps() -> None:
    clock = Clock()
    for bad in (float("inf"), float("nan"), 1e300, MAX_ADVANCE + 1):
        with pytest.raises(ValueError):
            clock.advance(bad)
    assert clock.offset == 0
    clock.advance(MAX_ADVANCE)  # the largest single step is fine


def test_latency_faults_are_bounded(fake: FakeChronicle) -> None:
    admin = fake.http(None)
    response = admin.post(
        "/_fake/faults",
        content='{"operation": "runs.get", "kind": "latency", "seconds": 1e999}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422
    too_long = {"operation": "runs.get", "kind": "latency", "seconds": 10**9}
    assert admin.post("/_fake/faults", json=too_long).status_code == 422
    with pytest.raises(ValueError):
        fake.faults.add("runs.get", "latency", seconds=float("inf"))
    assert fake.faults.pending() == []


@pytest.mark.parametrize("host", ["attacker.example", "attacker.example:8765", "10.0.0.1"])
def test_admin_refuses_a_foreign_host_header(in_process: FakeChronicle, host: str) -> None:
    """DNS rebinding: a page on attacker.example resolving to 127.0.0.1 must not read keys."""
    response = in_process.http(None).get("/_fake/keys", headers={"Host": host})
    assert response.status_code == 403
    assert "Host" in response.json()["detail"]


@pytest.mark.parametrize(
    "host", ["127.0.0.1:8765", "localhost", "LOCALHOST:1", "[::1]:8765", "testserver"]
)
def test_admin_accepts_loopback_host_headers(in_process: FakeChronicle, host: str) -> None:
    assert in_process.http(None).get("/_fake/keys", headers={"Host": host}).status_code == 200


def test_admin_refuses_cross_origin_requests(in_process: FakeChronicle) -> None:
    """CSRF: a browser POSTing text/plain from another site must not wipe the fake."""
    in_process.client().experiments.create("kept")
    admin = in_process.http(None)
    for origin in ("https://evil.example", "null", "http://127.0.0.1.evil.example"):
        response = admin.post(
            "/_fake/reset", headers={"Origin": origin, "Content-Type": "text/plain"}
        )
        assert response.status_code == 403, origin
        assert "Origin" in response.json()["detail"]
    assert len(in_process.client().experiments.list().items) == 1
    # A local tool (or a page served from the fake's own loopback origin) may.
    response = admin.post("/_fake/reset", headers={"Origin": "http://localhost:3000"})
    assert response.status_code == 204
    assert in_process.client().experiments.list().items == []


def test_a_frozen_clock_stands_still_until_advanced() -> None:
    import time

    clock = Clock()
    clock.freeze()
    frozen = clock.now()
    time.sleep(0.01)
    assert clock.now() == frozen and clock.frozen
    clock.advance(900)
    assert clock.now() == frozen + 900
    clock.unfreeze()
    assert not clock.frozen and clock.now() >= frozen + 900
    clock.freeze()
    clock.reset()  # back to unfrozen real time
    assert not clock.frozen and clock.offset == 0


def test_freeze_over_http_and_reset_unfreezes(fake: FakeChronicle) -> None:
    admin = fake.http(None)
    frozen = admin.post("/_fake/clock/freeze").json()
    assert frozen["frozen"] is True
    assert admin.get("/_fake/clock").json() == frozen
    assert admin.post("/_fake/clock/unfreeze").json()["frozen"] is False
    fake.freeze()
    fake.reset()
    assert admin.get("/_fake/clock").json()["frozen"] is False
