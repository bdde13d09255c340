"""The normaliser: deterministic placeholders, scrubbed secrets, storage markers."""

from __future__ import annotations

import hashlib
import json

from vcr.request import Request

from .normalise import (
    FIXED_TIMESTAMP,
    PLACEHOLDER_ORIGIN,
    CassetteNormaliser,
    RequestFilter,
    filter_response,
    storage_marker,
)

ORIGIN = "http://127.0.0.1:40123"
EXP = "3f2b8c1e-9a4d-4e6f-8b7a-1c2d3e4f5a6b"
ASSET = "b7e6d5c4-b3a2-4190-8f7e-6d5c4b3a2190"


def response(body: object, status: int = 200) -> dict[str, object]:
    return {
        "status": {"code": status, "message": "OK"},
        "headers": {"Content-Type": ["application/json"], "X-Request-Id": ["r-1"], "Date": ["x"]},
        "body": {"string": json.dumps(body).encode()},
    }


def test_request_filter_keeps_roles_not_tokens_and_marks_storage_bodies() -> None:
    request_filter = RequestFilter(ORIGIN, {"sk_worker_abc": "worker"})
    api = request_filter(
        Request(
            "POST",
            f"{ORIGIN}/experiments",
            b'{"title": "t"}',
            {
                "Authorization": "Bearer sk_worker_abc",
                "User-Agent": "methodic/1",
                "Idempotency-Key": "k",
            },
        )
    )
    assert dict(api.headers) == {"idempotency-key": "k", "authorization": "Bearer <worker>"}
    assert api.body == b'{"title": "t"}'
    data = b"\x00\x01binary"
    put = request_filter(Request("PUT", f"{ORIGIN}/_storage/a/w?op=put&signature=ab", data, {}))
    assert put.body == storage_marker(data).encode()
    assert hashlib.sha256(data).hexdigest() in put.body.decode()
    stranger = request_filter(
        Request("GET", f"{ORIGIN}/runs", None, {"authorization": "Bearer ???"})
    )
    assert stranger.headers["authorization"] == "Bearer <unrecognised>"


def test_normaliser_maps_ids_in_first_seen_order_across_requests_and_responses() -> None:
    normalise = CassetteNormaliser(ORIGIN, run_tag="c0ffee")
    created = response(
        {"id": EXP, "created_at": "2026-11-27T06:21:02.123456Z", "parent_ids": []}, 201
    )
    _, saved = normalise(
        Request("POST", f"{ORIGIN}/experiments", b"{}", {"idempotency-key": "contract-c0ffee-x"}),
        created,
    )
    placeholder = "00000000-0000-4000-8000-000000000001"
    assert json.loads(saved["body"]["string"]) == {
        "id": placeholder,
        "created_at": FIXED_TIMESTAMP,
        "parent_ids": [],
    }
    request, _ = normalise(
        Request(
            "GET",
            f"{ORIGIN}/experiments/{EXP}?cursor=abc%3D%3D",
            None,
            {"idempotency-key": "contract-c0ffee-x"},
        ),
        response({"items": [], "next_cursor": None}),
    )
    assert request.uri == f"{PLACEHOLDER_ORIGIN}/experiments/{placeholder}?cursor=abc%3D%3D"
    assert request.headers["idempotency-key"] == "contract-run-tag-x"


def test_normaliser_scrubs_presigned_urls_and_learns_cursors() -> None:
    normalise = CassetteNormaliser(ORIGIN)
    url = f"{ORIGIN}/_storage/{ASSET}/weights.bin?op=put&expires=1798000000&signature=9f8e7d"
    _, saved = normalise(
        Request("POST", f"{ORIGIN}/assets", b"{}", {}),
        response(
            {
                "asset": {"id": ASSET},
                "upload_urls": {"weights.bin": url},
                "next_cursor": "opaque/+=",
            }
        ),
    )
    body = json.loads(saved["body"]["string"])
    assert body["upload_urls"]["weights.bin"] == (
        f"{PLACEHOLDER_ORIGIN}/_storage/00000000-0000-4000-8000-000000000001/weights.bin"
        "?op=put&expires=4102444800&signature=scrubbed"
    )
    assert body["next_cursor"] == "cursor-1"
    request, _ = normalise(
        Request("GET", f"{ORIGIN}/assets?cursor=opaque%2F%2B%3D", None, {}), response({})
    )
    assert request.uri.endswith("?cursor=cursor-1")


def test_unknown_ids_a_scenario_sends_first_are_left_alone() -> None:
    normalise = CassetteNormaliser(ORIGIN)
    fixed = "00000000-0000-4000-8000-0000deadbeef"
    request, saved = normalise(
        Request("GET", f"{ORIGIN}/experiments/{fixed}", None, {}),
        response({"detail": f"experiment {fixed} not found"}, 404),
    )
    assert fixed in request.uri
    assert json.loads(saved["body"]["string"]) == {"detail": f"experiment {fixed} not found"}


def test_two_recordings_with_different_ids_normalise_identically() -> None:
    def record(exp_id: str, port: int) -> list[object]:
        origin = f"http://127.0.0.1:{port}"
        normalise = CassetteNormaliser(origin)
        first = normalise(
            Request("POST", f"{origin}/experiments", b'{"title":"t"}', {}),
            response({"id": exp_id, "updated_at": "2026-01-01T00:00:00+00:00"}),
        )
        second = normalise(
            Request("POST", f"{origin}/experiments/{exp_id}/commit", b"", {}),
            response({"id": exp_id, "state": "committed"}),
        )
        return [(r.uri, r.body, s["body"]) for r, s in (first, second)]

    assert record(EXP, 40123) == record(ASSET, 51234)


def test_response_filter_drops_volatile_headers() -> None:
    assert filter_response(response({}))["headers"] == {"content-type": ["application/json"]}


def test_lists_of_bare_id_tuples_are_ordered_by_placeholder() -> None:
    low, high = sorted([EXP, ASSET])

    def edges_after(first: str, second: str) -> object:
        normalise = CassetteNormaliser(ORIGIN)
        for exp_id in (first, second):  # learn placeholders in creation order
            normalise(Request("POST", f"{ORIGIN}/experiments", b"{}", {}), response({"id": exp_id}))
        edges = sorted(
            [{"parent_id": first, "child_id": second}, {"parent_id": second, "child_id": first}],
            key=lambda e: e["parent_id"],
        )
        _, saved = normalise(Request("GET", f"{ORIGIN}/x", None, {}), response({"edges": edges}))
        return json.loads(saved["body"]["string"])

    assert edges_after(low, high) == edges_after(high, low)


def test_lists_in_a_meaningful_order_are_kept() -> None:
    low, high = sorted([EXP, ASSET])
    for first, second in ((low, high), (high, low)):
        normalise = CassetteNormaliser(ORIGIN)
        normalise(Request("POST", f"{ORIGIN}/experiments", b"{}", {}), response({"id": second}))
        _, saved = normalise(
            Request("GET", f"{ORIGIN}/experiments", None, {}),
            response({"items": [{"id": first, "title": "a"}, {"id": second, "title": "b"}]}),
        )
        assert [i["title"] for i in json.loads(saved["body"]["string"])["items"]] == ["a", "b"]
