"""`Transport.server_time()`: the server's clock from its `Date` headers, for ages and
countdowns of server timestamps (the CLI's "heartbeat 12s ago")."""

from __future__ import annotations

import time
from email.utils import formatdate

import httpx2
import pytest

from methodic import NotFoundError
from methodic.transport import Transport
from methodic_fake import FakeChronicle

from .scripted import API_KEY, BASE_URL, EXPERIMENT, ScriptedAPI

# 2001-09-09T01:46:40Z: nowhere near this machine's clock.
THEN = 1_000_000_000


def _transport(api: ScriptedAPI) -> Transport:
    http = httpx2.Client(transport=httpx2.MockTransport(api.handler))
    return Transport(BASE_URL, API_KEY, http_client=http)


def test_none_until_a_response_carries_a_date(api: ScriptedAPI) -> None:
    transport = _transport(api)
    assert transport.server_time() is None
    api.route("GET", "/experiments/e1", json=EXPERIMENT)
    transport.request("GET", "/experiments/e1")
    assert transport.server_time() is None


def test_the_last_date_header_sets_the_clock_and_it_keeps_running(api: ScriptedAPI) -> None:
    transport = _transport(api)
    api.route(
        "GET", "/experiments/e1", json=EXPERIMENT, headers={"date": formatdate(THEN, usegmt=True)}
    )
    transport.request("GET", "/experiments/e1")
    first = transport.server_time()
    assert first is not None and THEN <= first <= THEN + 1  # whole seconds on the wire
    time.sleep(0.05)
    later = transport.server_time()
    assert later is not None and later - first >= 0.05  # extrapolated, not frozen


@pytest.mark.parametrize("date", ["not a date", "Thu, 99 Dec 2026 10:38:59 GMT", ""])
def test_an_unreadable_date_leaves_the_last_reading(api: ScriptedAPI, date: str) -> None:
    transport = _transport(api)
    api.route("GET", "/a", json={}, headers={"date": formatdate(THEN, usegmt=True)})
    api.route("GET", "/b", json={}, headers={"date": date})
    transport.request("GET", "/a")
    transport.request("GET", "/b")
    reading = transport.server_time()
    assert reading is not None and abs(reading - THEN) < 2


def test_zoneless_dates_are_gmt(api: ScriptedAPI) -> None:
    # asctime's form (RFC 9110 asks recipients to accept it) and "-0000" name no zone.
    transport = _transport(api)
    api.route("GET", "/a", json={}, headers={"date": formatdate(THEN)})
    transport.request("GET", "/a")
    reading = transport.server_time()
    assert reading is not None and abs(reading - THEN) < 2


def test_error_responses_count_too(api: ScriptedAPI) -> None:
    transport = _transport(api)
    api.route(
        "GET",
        "/runs/r1",
        status=404,
        json={"detail": "no"},
        headers={"date": formatdate(THEN, usegmt=True)},
    )
    with pytest.raises(NotFoundError):
        transport.request("GET", "/runs/r1")
    reading = transport.server_time()
    assert reading is not None and abs(reading - THEN) < 2


def test_the_fakes_moved_clock_reaches_the_client() -> None:
    with FakeChronicle.in_process() as fake:
        chronicle = fake.client()
        fake.advance(hours=3)
        chronicle.experiments.list()
        reading = chronicle.transport.server_time()
        assert reading is not None and abs(reading - (time.time() + 3 * 3600)) < 2


def test_with_options_clients_keep_the_one_server_clock() -> None:
    # One server, one clock: a derived client's responses set it for its parent (the
    # CLI and a Run read the parent's), and the parent's for every derived client.
    with FakeChronicle.in_process() as fake:
        chronicle = fake.client()
        derived = chronicle.with_options(timeout=5).with_options(headers={"X-Trace": "t1"})
        assert derived.transport.server_time() is None
        fake.advance(hours=3)
        derived.experiments.list()
        for client in (chronicle, derived):
            reading = client.transport.server_time()
            assert reading is not None and abs(reading - (time.time() + 3 * 3600)) < 2
        fake.advance(hours=2)
        chronicle.experiments.list()
        reading = derived.transport.server_time()
        assert reading is not None and abs(reading - (time.time() + 5 * 3600)) < 2
