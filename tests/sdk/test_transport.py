"""Transport: path joining and escaping, per-request headers, JSON, timeouts."""

from __future__ import annotations

import httpx2
import pytest

from methodic import Chronicle, ChronicleError, __version__
from methodic.transport import Transport

from .scripted import API_KEY, BASE_URL, EXPERIMENT, ScriptedAPI


def _transport(api: ScriptedAPI, **kwargs: object) -> Transport:
    http = httpx2.Client(transport=httpx2.MockTransport(api.handler))
    return Transport(BASE_URL, API_KEY, http_client=http, **kwargs)  # type: ignore[arg-type]


def test_path_percent_encodes_each_segment(api: ScriptedAPI) -> None:
    t = _transport(api)
    assert t.path("runs", "x y?#%", "start") == "/runs/x%20y%3F%23%25/start"
    assert t.path("experiments", "é") == "/experiments/%C3%A9"


# Servers and proxies decode %2F before routing, so no encoding can keep a slash
# inside one segment: "<id>/lineage" would reach another route.
@pytest.mark.parametrize("bad", ["", ".", "..", "a/b", "id/lineage", "/"])
def test_path_rejects_empty_dot_and_slash_segments(api: ScriptedAPI, bad: str) -> None:
    with pytest.raises(ValueError, match="invalid id"):
        _transport(api).path("experiments", bad)


@pytest.mark.parametrize("bad", ["", ".", "..", "a/b"])
def test_namespaces_reject_bad_ids_before_sending(
    api: ScriptedAPI, chronicle: Chronicle, bad: str
) -> None:
    with pytest.raises(ValueError):
        chronicle.experiments.get(bad)
    with pytest.raises(ValueError):
        chronicle.runs.start(bad)
    assert api.requests == []


def test_every_request_carries_bearer_and_user_agent(
    api: ScriptedAPI, chronicle: Chronicle
) -> None:
    api.route("GET", "/experiments/e1", json=EXPERIMENT)
    chronicle.experiments.get("e1")
    chronicle.experiments.get("e1")
    for request in api.requests:
        assert request.headers["Authorization"] == f"Bearer {API_KEY}"
        assert request.headers["User-Agent"] == f"methodic-python/{__version__}"
        assert request.headers["Accept"] == "application/json"


def test_bearer_is_not_a_client_default(chronicle: Chronicle) -> None:
    # A client default would follow the client anywhere (storage, user code).
    assert "authorization" not in chronicle.transport.http_client.headers


def test_own_client_has_no_bearer_default() -> None:
    with Chronicle(BASE_URL, API_KEY) as chronicle:
        assert "authorization" not in chronicle.transport.http_client.headers


def test_custom_user_agent(api: ScriptedAPI) -> None:
    api.route("GET", "/experiments/e1", json=EXPERIMENT)
    http = httpx2.Client(transport=httpx2.MockTransport(api.handler))
    with Chronicle(BASE_URL, API_KEY, http_client=http, user_agent="menlo-park/2") as chronicle:
        chronicle.experiments.get("e1")
    assert api.last.headers["User-Agent"] == "menlo-park/2"


def test_base_url_path_prefix_and_trailing_slash(api: ScriptedAPI) -> None:
    api.route("GET", "/api/v1/experiments/e1", json=EXPERIMENT)
    http = httpx2.Client(transport=httpx2.MockTransport(api.handler))
    with Chronicle(BASE_URL + "/api/v1/", API_KEY, http_client=http) as chronicle:
        chronicle.experiments.get("e1")
    assert str(api.last.url) == BASE_URL + "/api/v1/experiments/e1"


def test_none_params_are_dropped(api: ScriptedAPI) -> None:
    api.route("GET", "/things", json={"ok": True})
    t = _transport(api)
    assert t.request("GET", "/things", params={"a": 1, "b": None}) == {"ok": True}
    assert dict(api.last.url.params) == {"a": "1"}


def test_empty_body_decodes_to_none(api: ScriptedAPI) -> None:
    api.route("POST", "/things", status=204)
    assert _transport(api).request("POST", "/things") is None


def test_json_body_and_extra_headers(api: ScriptedAPI) -> None:
    api.route("POST", "/things", status=201, json={"id": "t1"})
    t = _transport(api)
    out = t.request("POST", "/things", json={"x": [1, 2]}, headers={"Idempotency-Key": "k1"})
    assert out == {"id": "t1"}
    assert api.last.content == b'{"x":[1,2]}'
    assert api.last.headers["Content-Type"] == "application/json"
    assert api.last.headers["Idempotency-Key"] == "k1"
    assert api.last.headers["Authorization"] == f"Bearer {API_KEY}"


def test_default_timeout_is_finite_and_applied_per_request(api: ScriptedAPI) -> None:
    seen: list[dict[str, float | None]] = []

    def reply(request: httpx2.Request) -> httpx2.Response:
        seen.append(request.extensions["timeout"])
        return httpx2.Response(200, json={})

    api.route("GET", "/things", reply=reply)
    _transport(api).request("GET", "/things")
    _transport(api, timeout=2.5).request("GET", "/things")
    assert seen[0] == {"connect": 30.0, "read": 30.0, "write": 30.0, "pool": 30.0}
    assert seen[1]["read"] == 2.5


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf")])
def test_a_timeout_must_be_a_positive_number_of_seconds(bad: float) -> None:
    with pytest.raises(ValueError, match="timeout must be a positive number"):
        Transport(BASE_URL, API_KEY, timeout=bad)


def test_an_httpx_timeout_or_none_sets_no_total_deadline(api: ScriptedAPI) -> None:
    api.route("GET", "/things", reply=lambda request: httpx2.Response(200, json={}))
    assert _transport(api, timeout=httpx2.Timeout(1.0, connect=2.0)).request("GET", "/things") == {}
    assert _transport(api, timeout=None).request("GET", "/things") == {}


def test_rejects_non_http_base_url() -> None:
    with pytest.raises(ChronicleError, match="http"):
        Transport("ftp://example.com", API_KEY)


def test_close_only_closes_a_client_it_created() -> None:
    mine = Transport(BASE_URL, API_KEY)
    client = mine.http_client
    mine.close()
    assert client.is_closed
    theirs = httpx2.Client()
    Transport(BASE_URL, API_KEY, http_client=theirs).close()
    assert not theirs.is_closed
    theirs.close()


def test_own_client_is_created_on_first_use_only() -> None:
    t = Transport(BASE_URL, API_KEY)
    assert t._client is None  # construction stays cheap (no SSL context yet)
    assert t.http_client is t.http_client
    t.close()


def test_calls_after_close_raise_chronicle_error(api: ScriptedAPI) -> None:
    used = _transport(api)
    used.close()
    unused = Transport(BASE_URL, API_KEY)
    unused.close()
    for t in (used, unused):
        with pytest.raises(ChronicleError, match="closed"):
            t.request("GET", "/experiments")
        with pytest.raises(ChronicleError, match="closed"):
            t.storage_request("GET", BASE_URL + "/_storage/a/b")
