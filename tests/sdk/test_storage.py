"""Storage calls to presigned URLs: never a bearer token, typed errors, streaming."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest

from methodic import APIConnectionError, PermissionDeniedError
from methodic.transport import Transport

from .scripted import API_KEY, BASE_URL, ScriptedAPI

PUT_URL = BASE_URL + "/_storage/a1/model.bin?op=put&expires=99&signature=abc"
GET_URL = BASE_URL + "/_storage/a1/model.bin?op=get&expires=99&signature=def"


def _transport(api: ScriptedAPI, **client_kwargs: object) -> Transport:
    http = httpx2.Client(transport=httpx2.MockTransport(api.handler), **client_kwargs)  # type: ignore[arg-type]
    return Transport(BASE_URL, API_KEY, http_client=http)


def test_storage_put_sends_bytes_without_authorization(api: ScriptedAPI) -> None:
    api.route("PUT", "/_storage/a1/model.bin", status=200)
    response = _transport(api).storage_request("PUT", PUT_URL, content=b"weights")
    assert response.status_code == 200
    sent = api.last
    assert sent.content == b"weights"
    assert "authorization" not in sent.headers
    assert sent.url.params["signature"] == "abc"
    assert sent.headers["User-Agent"].startswith("methodic-python/")


def test_storage_strips_authorization_passed_by_caller(api: ScriptedAPI) -> None:
    api.route("PUT", "/_storage/a1/model.bin", status=200)
    _transport(api).storage_request(
        "PUT", PUT_URL, content=b"x", headers={"authorization": f"Bearer {API_KEY}"}
    )
    assert "authorization" not in api.last.headers


def test_storage_strips_authorization_default_of_callers_client(api: ScriptedAPI) -> None:
    api.route("PUT", "/_storage/a1/model.bin", status=200)
    api.route("GET", "/_storage/a1/model.bin", status=200)
    t = _transport(api, headers={"Authorization": "Bearer leaked"}, auth=("user", "pw"))
    t.storage_request("PUT", PUT_URL, content=b"x")
    assert "authorization" not in api.last.headers
    with t.storage_stream("GET", GET_URL) as response:
        response.read()
    assert "authorization" not in api.last.headers


def test_storage_streams_an_iterator_body(api: ScriptedAPI) -> None:
    api.route("PUT", "/_storage/a1/model.bin", status=200)

    def chunks() -> Iterator[bytes]:
        yield b"ab"
        yield b"cd"

    _transport(api).storage_request(
        "PUT", PUT_URL, content=chunks(), headers={"Content-Length": "4"}
    )
    assert api.last.read() == b"abcd"
    assert api.last.headers["Content-Length"] == "4"


def test_storage_error_is_typed(api: ScriptedAPI) -> None:
    api.route("PUT", "/_storage/a1/model.bin", status=403, json={"detail": "bad signature"})
    with pytest.raises(PermissionDeniedError) as info:
        _transport(api).storage_request("PUT", PUT_URL, content=b"x")
    assert info.value.message == "bad signature"
    assert "signature=abc" not in str(info.value)


def test_storage_stream_yields_body_in_chunks(api: ScriptedAPI) -> None:
    api.route(
        "GET",
        "/_storage/a1/model.bin",
        reply=lambda _r: httpx2.Response(200, content=b"0123456789"),
    )
    with _transport(api).storage_stream("GET", GET_URL) as response:
        assert b"".join(response.iter_bytes(chunk_size=4)) == b"0123456789"
    assert "authorization" not in api.last.headers


def test_storage_stream_error_is_typed(api: ScriptedAPI) -> None:
    api.route("GET", "/_storage/a1/model.bin", status=403, json={"detail": "expired"})
    stream = _transport(api).storage_stream("GET", GET_URL)
    with pytest.raises(PermissionDeniedError, match="expired"), stream:
        pytest.fail("the body must not run on an error status")


def test_storage_connection_error_hides_signature() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("refused")

    t = Transport(
        BASE_URL, API_KEY, http_client=httpx2.Client(transport=httpx2.MockTransport(handler))
    )
    with pytest.raises(APIConnectionError) as info:
        t.storage_request("PUT", PUT_URL, content=b"x")
    assert "signature" not in str(info.value)
    assert "/_storage/a1/model.bin" in str(info.value)
