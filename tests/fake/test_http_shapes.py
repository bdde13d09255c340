"""Wire conventions every response follows: x-request-id, `{"detail": ...}` errors, OpenAPI."""

from __future__ import annotations

import pytest

from methodic import Chronicle, NotFoundError
from methodic_fake import FakeChronicle


def test_every_response_carries_a_request_id(fake: FakeChronicle) -> None:
    http = fake.http("researcher")
    responses = [
        http.get("/experiments"),  # 200
        http.post("/experiments", json={"title": "t"}),  # 201
        http.get("/experiments/missing"),  # 404
        http.post("/experiments", json={}),  # 422
        http.get("/no/such/route"),  # unknown route
        http.delete("/experiments"),  # 405
        fake.http(None).get("/experiments"),  # 401
        fake.http(None).get("/_fake/keys"),  # admin
    ]
    ids = [r.headers["x-request-id"] for r in responses]
    assert all(i.startswith("req_") for i in ids)
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("mode", ["server", "in-process"])
def test_every_response_is_dated_by_the_fakes_clock(
    fake: FakeChronicle, in_process: FakeChronicle, mode: str
) -> None:
    # Clients measure ages of server timestamps against Date (docs/api.md), so it must
    # follow advance(), and a server must not add its own wall-clock Date beside it.
    from email.utils import parsedate_to_datetime

    target = fake if mode == "server" else in_process
    target.freeze()
    target.advance(hours=5)
    target.faults.add("runs.list", "status", status=503)
    http = target.http("researcher")
    responses = {
        "200": http.get("/experiments"),
        "404": http.get("/experiments/missing"),
        "unknown route": http.get("/no/such/route"),
        "401": target.http(None).get("/experiments"),
        "admin": http.get("/_fake/clock"),
        "dashboard": http.get("/_fake/ui/"),
        "injected fault": http.get("/runs"),
    }
    assert responses["injected fault"].status_code == 503
    for name, response in responses.items():
        dates = response.headers.get_list("date")
        assert len(dates) == 1, (name, dates)
        assert abs(parsedate_to_datetime(dates[0]).timestamp() - target.now()) < 1, name


def test_sdk_errors_expose_the_request_id(researcher: Chronicle) -> None:
    with pytest.raises(NotFoundError) as info:
        researcher.runs.get("missing")
    assert info.value.request_id is not None and info.value.request_id.startswith("req_")


def test_unknown_route_and_wrong_method_use_the_detail_shape(fake: FakeChronicle) -> None:
    http = fake.http("researcher")
    assert http.get("/no/such/route").json() == {"detail": "Not Found"}
    wrong = http.delete("/experiments")
    assert wrong.status_code == 405 and wrong.json() == {"detail": "Method Not Allowed"}


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b'{"title": "\xff"}',
        b"[" * 5000 + b"]" * 5000,  # parses on 3.13+ (C-stack limit), not on 3.11/3.12
        b"[" * 513 + b"]" * 513,  # parses everywhere: the fake's own 512-level limit
    ],
)
def test_unparseable_body_is_400(fake: FakeChronicle, raw: bytes) -> None:
    response = fake.http("researcher").post(
        "/experiments", content=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith("There was an error parsing the body")


def test_just_under_the_parser_limit_is_a_422(fake: FakeChronicle) -> None:
    raw = b"[" * 512 + b"]" * 512
    response = fake.http("researcher").post(
        "/experiments", content=raw, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422


def test_wrong_shape_is_422(fake: FakeChronicle) -> None:
    response = fake.http("researcher").post("/experiments", json={"title": ["not", "a", "str"]})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "title"]


def test_openapi_documents_chronicle_routes_only(fake: FakeChronicle) -> None:
    schema = fake.http(None).get("/openapi.json").json()
    paths = set(schema["paths"])
    assert "/experiments" in paths and "/assets/{asset_id}/finalize" in paths
    assert not any(p.startswith(("/_fake", "/_storage")) for p in paths)


def test_timestamps_are_rfc3339_utc(researcher: Chronicle) -> None:
    exp = researcher.experiments.create("t")
    assert exp.created_at.endswith("Z") and "T" in exp.created_at
