"""Guarantee: an internal error is a JSON 500 with the request id, and poisons nothing.

No exception escapes the fake's app to the server: a last-resort handler answers
``500 {"detail": ..., "request_id": ...}`` with the same id in ``x-request-id``,
and ends the response normally, so uvicorn keeps the keep-alive connection open
and the *next, unrelated* call on the same ``Chronicle`` succeeds (10 of 10,
checked over a real socket). In-process (starlette's TestClient, which re-raises
whatever escapes the app) the SDK sees ``ServerError``, never a raw exception.

The error is provoked with the fake's own ``raise`` fault kind (an exception
raised inside the app, before the request is handled), so no code is patched.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from methodic import ServerError
from methodic_fake import FakeChronicle

ROUNDS = 10


@pytest.fixture(scope="module")
def served() -> Iterator[FakeChronicle]:
    with FakeChronicle.start() as fake:
        yield fake


def test_next_call_on_the_same_client_succeeds_after_an_internal_error(
    served: FakeChronicle, figures: object
) -> None:
    chronicle = served.client("researcher")
    exp = chronicle.experiments.create("internal errors")
    recovered = 0
    for _ in range(ROUNDS):
        served.faults.add("experiments.get", "raise")
        with pytest.raises(ServerError) as caught:
            chronicle.experiments.get(exp.id)
        error = caught.value
        assert error.status_code == 500
        assert error.request_id and error.request_id.startswith("req_")
        assert error.body["request_id"] == error.request_id
        assert error.request_id in error.body["detail"]
        # Unrelated, on the same client and its pooled connection.
        page = chronicle.experiments.list(limit=5)
        assert exp.id in [e.id for e in page.items]
        recovered += 1
    assert recovered == ROUNDS
    figures.set("internal errors answered 500, then the next call succeeded", recovered)  # type: ignore[attr-defined]


def test_the_connection_stays_open_after_a_500(served: FakeChronicle) -> None:
    """Seen on the wire: same socket, no `Connection: close`, the next request answered."""
    url = urlsplit(served.base_url)
    assert url.hostname is not None
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    auth = {"Authorization": f"Bearer {served.researcher_token}"}
    try:
        for _ in range(ROUNDS):
            served.faults.add("experiments.list", "raise")
            conn.request("GET", "/experiments", headers=auth)
            sock = conn.sock
            response = conn.getresponse()
            body = json.loads(response.read())
            assert response.status == 500
            assert response.getheader("content-type") == "application/json"
            assert body["request_id"] == response.getheader("x-request-id")
            assert (response.getheader("connection") or "").lower() != "close"
            conn.request("GET", "/experiments?limit=1", headers=auth)
            assert conn.sock is sock, "the server closed the keep-alive connection"
            response = conn.getresponse()
            response.read()
            assert response.status == 200
    finally:
        conn.close()


def test_in_process_the_sdk_sees_server_error() -> None:
    with FakeChronicle.in_process() as fake:
        chronicle = fake.client("researcher")
        exp = chronicle.experiments.create("in-process internal error")
        fake.faults.add("experiments.get", "raise")
        with pytest.raises(ServerError) as caught:
            chronicle.experiments.get(exp.id)
        assert caught.value.status_code == 500
        assert chronicle.experiments.get(exp.id).id == exp.id


def test_raise_fault_over_the_admin_api(served: FakeChronicle) -> None:
    with served.http(None) as admin:
        response = admin.post("/_fake/faults", json={"operation": "runs.get", "kind": "raise"})
        assert response.status_code == 201, response.text
        assert {"operation": "runs.get", "kind": "raise"} in response.json()["faults"]
        admin.delete("/_fake/faults")
