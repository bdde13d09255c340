"""A planted secret never shows up in logs, reprs, or exceptions.

The canary is the secret part of an API key (and a whole Auth0-style token); the
presigned-URL signature is a second canary that must stay out of logs.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable

import httpx2
import pytest

from methodic import (
    APIConnectionError,
    APIError,
    Chronicle,
    ChronicleError,
    Experiment,
    Run,
    Variation,
)

from .scripted import BASE_URL, EXPERIMENT, RUN, ScriptedAPI

CANARY = "CaNaRy0d1e2a3d4b5e6e7f"
SIGNATURE = "SiGnAtUrE9f8e7d6c5b4a"
KEYS = [f"sk_worker_{CANARY}", f"eyJ{CANARY}.payload.sig"]
STORAGE_URL = f"{BASE_URL}/_storage/a1/c?op=put&expires=1&signature={SIGNATURE}"


def _scripted(api: ScriptedAPI) -> None:
    api.route("GET", "/experiments/e1", json=EXPERIMENT, headers={"x-request-id": "rq1"})
    api.route("GET", "/runs/r1", json=RUN)
    api.route("POST", "/experiments", status=401, json={"detail": "invalid token"})
    api.route("POST", "/experiments/e1/commit", status=409, json={"detail": "not a draft"})
    api.route("GET", "/experiments/boom", status=500, reply=lambda _r: httpx2.Response(500))
    api.route("PUT", "/_storage/a1/c", status=403, json={"detail": "bad signature"})


def _everything_visible(exc: BaseException) -> str:
    parts = [str(exc), repr(exc), repr(exc.args), "".join(traceback.format_exception(exc))]
    if isinstance(exc, APIError):
        parts += [exc.message, repr(exc.body), str(exc.request_id)]
    return "\n".join(parts)


@pytest.mark.parametrize("key", KEYS, ids=["api-key", "auth0-token"])
def test_canary_never_leaks(api: ScriptedAPI, caplog: pytest.LogCaptureFixture, key: str) -> None:
    _scripted(api)
    caplog.set_level(logging.DEBUG)  # root and every library logger, httpx2 included
    seen: list[str] = []
    http = httpx2.Client(transport=httpx2.MockTransport(api.handler))
    chronicle = Chronicle(BASE_URL, key, http_client=http)
    seen += [repr(chronicle), repr(chronicle.transport), repr(chronicle.experiments)]

    exp = Experiment(chronicle, "e1")
    _ = exp.state
    run = Run(chronicle, "r1")
    _ = run.state
    seen += [repr(exp), repr(run), repr(Variation(chronicle, "v1")), str(exp.data)]

    failing: list[Callable[[], object]] = [
        lambda: chronicle.experiments.create("t"),
        lambda: chronicle.experiments.commit("e1"),
        lambda: chronicle.experiments.get("boom"),
        lambda: chronicle.transport.storage_request("PUT", STORAGE_URL, content=b"x"),
        lambda: chronicle.transport.storage_request(
            "PUT", STORAGE_URL, content=b"x", headers={"Authorization": f"Bearer {key}"}
        ),
    ]
    for call in failing:
        with pytest.raises(ChronicleError) as info:
            call()
        seen.append(_everything_visible(info.value))

    def refuse(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("refused")

    broken = Chronicle(
        BASE_URL, key, http_client=httpx2.Client(transport=httpx2.MockTransport(refuse))
    )
    for call in (lambda: broken.experiments.get("e1"), lambda: broken.runs.succeed("r1")):
        with pytest.raises(APIConnectionError) as conn:
            call()
        seen.append(_everything_visible(conn.value))
    with pytest.raises(APIConnectionError) as conn:
        broken.transport.storage_request("PUT", STORAGE_URL, content=b"x")
    seen.append(_everything_visible(conn.value))

    logged = "\n".join([caplog.text] + [r.getMessage() + repr(r.args) for r in caplog.records])
    everything = "\n".join([*seen, logged])
    assert CANARY not in everything
    assert SIGNATURE not in logged
    # The check must have looked at real output, not an empty string.
    assert "GET /experiments/e1 -> 200" in logged
    assert "storage PUT http://chronicle.test/_storage/a1/c -> 403" in logged
    assert "PUT http://chronicle.test/_storage/a1/c?<redacted>" in logged  # httpx2's own line
    chronicle.close()
    broken.close()


def test_log_record_has_method_path_status_duration(
    api: ScriptedAPI, chronicle: Chronicle, caplog: pytest.LogCaptureFixture
) -> None:
    _scripted(api)
    with caplog.at_level(logging.DEBUG, logger="methodic"):
        chronicle.experiments.get("e1")
        with pytest.raises(APIError):
            chronicle.experiments.commit("e1")
    messages = [r.getMessage() for r in caplog.records if r.name == "methodic"]
    assert messages[0].startswith("GET /experiments/e1 -> 200 (")
    assert messages[0].endswith(" ms)")
    assert messages[1].startswith("POST /experiments/e1/commit -> 409 (")


def test_no_log_records_when_debug_is_off(
    api: ScriptedAPI, chronicle: Chronicle, caplog: pytest.LogCaptureFixture
) -> None:
    _scripted(api)
    with caplog.at_level(logging.INFO, logger="methodic"):
        chronicle.experiments.get("e1")
    assert [r for r in caplog.records if r.name == "methodic"] == []


def test_httpx_filter_leaves_ordinary_urls_alone(caplog: pytest.LogCaptureFixture) -> None:
    Chronicle(BASE_URL, KEYS[0]).close()  # installs the filter
    with caplog.at_level(logging.INFO, logger="httpx2"):
        logging.getLogger("httpx2").info("HTTP Request: %s", httpx2.URL(f"{BASE_URL}/runs?limit=5"))
        logging.getLogger("httpx2").info("HTTP Request: %s", httpx2.URL(STORAGE_URL))
    assert caplog.records[0].getMessage() == f"HTTP Request: {BASE_URL}/runs?limit=5"
    assert caplog.records[1].getMessage() == f"HTTP Request: {BASE_URL}/_storage/a1/c?<redacted>"


def test_connection_failure_is_logged_without_secrets(caplog: pytest.LogCaptureFixture) -> None:
    def refuse(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("refused")

    http = httpx2.Client(transport=httpx2.MockTransport(refuse))
    chronicle = Chronicle(BASE_URL, KEYS[0], http_client=http)
    with caplog.at_level(logging.DEBUG, logger="methodic"), pytest.raises(APIConnectionError):
        chronicle.runs.get("r1")
    (record,) = [r for r in caplog.records if r.name == "methodic"]
    assert record.getMessage().startswith("GET /runs/r1 -> ConnectError (")
    assert CANARY not in caplog.text


def test_token_echoed_by_a_server_is_scrubbed(api: ScriptedAPI) -> None:
    key = KEYS[0]
    api.route("GET", "/runs/r1", status=401, json={"detail": f"unknown key {key}", "echo": [key]})
    api.route(
        "GET", "/runs/r2", reply=lambda _r: httpx2.Response(502, text=f"proxy saw Bearer {key}")
    )
    http = httpx2.Client(transport=httpx2.MockTransport(api.handler))
    with Chronicle(BASE_URL, key, http_client=http) as chronicle:
        with pytest.raises(APIError) as unauthorized:
            chronicle.runs.get("r1")
        with pytest.raises(APIError) as bad_gateway:
            chronicle.runs.get("r2")
    assert unauthorized.value.message == "unknown key <redacted>"
    assert unauthorized.value.body == {"detail": "unknown key <redacted>", "echo": ["<redacted>"]}
    assert bad_gateway.value.body == "proxy saw Bearer <redacted>"
    for err in (unauthorized.value, bad_gateway.value):
        assert CANARY not in _everything_visible(err)
