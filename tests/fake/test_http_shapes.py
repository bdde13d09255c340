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
