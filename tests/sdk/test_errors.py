"""Status -> exception mapping, messages, request ids, and connection failures."""

from __future__ import annotations

import httpx2
import pytest

import methodic
from methodic import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    Chronicle,
    ChronicleError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ServerError,
)

from .scripted import API_KEY, BASE_URL, ScriptedAPI


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, BadRequestError),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
        (429, APIError),
        (418, APIError),
    ],
)
def test_status_maps_to_exception_class(
    api: ScriptedAPI, chronicle: Chronicle, status: int, cls: type[APIError]
) -> None:
    api.route("GET", "/experiments/e1", status=status, json={"detail": "nope"})
    with pytest.raises(cls) as info:
        chronicle.experiments.get("e1")
    assert type(info.value) is cls  # 429 must be plain APIError, not a subclass
    assert info.value.status_code == status
    assert info.value.message == "nope"
    assert info.value.body == {"detail": "nope"}
    assert isinstance(info.value.response, httpx2.Response)


def test_hierarchy() -> None:
    for cls in (BadRequestError, AuthenticationError, PermissionDeniedError, NotFoundError):
        assert issubclass(cls, APIError)
    assert issubclass(ConflictError, APIError) and issubclass(ServerError, APIError)
    assert issubclass(APIError, ChronicleError)
    assert issubclass(APITimeoutError, APIConnectionError)
    assert issubclass(APIConnectionError, ChronicleError)
    assert not issubclass(APIConnectionError, APIError)
    assert issubclass(methodic.UploadError, ChronicleError)
    assert issubclass(methodic.IntegrityError, ChronicleError)


def test_str_has_status_reason_message_and_request_id(
    api: ScriptedAPI, chronicle: Chronicle
) -> None:
    api.route(
        "POST",
        "/experiments/e1/commit",
        status=409,
        json={"detail": "experiment is committed"},
        headers={"x-request-id": "req-123"},
    )
    with pytest.raises(ConflictError) as info:
        chronicle.experiments.commit("e1")
    assert str(info.value) == "409 Conflict: experiment is committed (request id req-123)"
    assert info.value.request_id == "req-123"


def test_request_id_is_none_without_header(api: ScriptedAPI, chronicle: Chronicle) -> None:
    api.route("GET", "/experiments/e1", status=404, json={"detail": "experiment not found"})
    with pytest.raises(NotFoundError) as info:
        chronicle.experiments.get("e1")
    assert info.value.request_id is None
    assert str(info.value) == "404 Not Found: experiment not found"


def test_422_validation_list_is_flattened(api: ScriptedAPI, chronicle: Chronicle) -> None:
    detail = [
        {"loc": ["body", "title"], "msg": "Field required", "type": "missing"},
        {"loc": ["query", "limit"], "msg": "Input should be less than or equal to 200"},
    ]
    api.route("POST", "/experiments", status=422, json={"detail": detail})
    with pytest.raises(BadRequestError) as info:
        chronicle.experiments.create("x")
    assert info.value.message == (
        "body.title: Field required; query.limit: Input should be less than or equal to 200"
    )
    assert info.value.body == {"detail": detail}
    assert str(info.value).startswith("422 Unprocessable Entity: body.title: Field required")


def test_non_json_error_body_is_kept_as_text(api: ScriptedAPI, chronicle: Chronicle) -> None:
    api.route(
        "GET",
        "/experiments/e1",
        reply=lambda _req: httpx2.Response(502, text="<html>bad gateway</html>"),
    )
    with pytest.raises(ServerError) as info:
        chronicle.experiments.get("e1")
    assert info.value.body == "<html>bad gateway</html>"
    assert info.value.message == "<html>bad gateway</html>"


def test_empty_error_body_uses_reason_phrase(api: ScriptedAPI, chronicle: Chronicle) -> None:
    api.route("GET", "/experiments/e1", status=500)
    with pytest.raises(ServerError) as info:
        chronicle.experiments.get("e1")
    assert info.value.body is None
    assert info.value.message == "Internal Server Error"


def test_search_not_configured_is_server_error_503(api: ScriptedAPI, chronicle: Chronicle) -> None:
    api.route("GET", "/search", status=503, json={"detail": "search is not configured"})
    with pytest.raises(ServerError) as info:
        chronicle.search.query("warmup")
    assert info.value.status_code == 503
    assert info.value.message == "search is not configured"


def _failing_client(exc: Exception) -> httpx2.Client:
    def handler(request: httpx2.Request) -> httpx2.Response:
        raise exc

    return httpx2.Client(transport=httpx2.MockTransport(handler))


def test_connection_failure_is_wrapped_with_cause() -> None:
    cause = httpx2.ConnectError("connection refused")
    chronicle = Chronicle(BASE_URL, API_KEY, http_client=_failing_client(cause))
    with pytest.raises(APIConnectionError) as info:
        chronicle.experiments.get("e1")
    assert type(info.value) is APIConnectionError
    assert info.value.__cause__ is cause
    assert "connection refused" in str(info.value)
    assert "GET http://chronicle.test/experiments/e1" in str(info.value)


@pytest.mark.parametrize(
    "cause", [httpx2.ReadTimeout("read timed out"), httpx2.ConnectTimeout("connect timed out")]
)
def test_timeout_is_wrapped(cause: Exception) -> None:
    chronicle = Chronicle(BASE_URL, API_KEY, http_client=_failing_client(cause))
    with pytest.raises(APITimeoutError) as info:
        chronicle.runs.heartbeat("r1")
    assert info.value.__cause__ is cause
    assert "timed out" in str(info.value)


@pytest.mark.parametrize(
    "cause",
    [httpx2.DecodingError("invalid gzip body"), httpx2.TooManyRedirects("too many redirects")],
)
def test_every_httpx_request_error_is_wrapped(cause: Exception) -> None:
    # Not only TransportError: a broken body encoding or a redirect loop is still
    # "no usable response", and must not escape as a raw httpx2 exception.
    chronicle = Chronicle(BASE_URL, API_KEY, http_client=_failing_client(cause))
    with pytest.raises(APIConnectionError) as info:
        chronicle.experiments.get("e1")
    assert info.value.__cause__ is cause
    with pytest.raises(APIConnectionError):
        chronicle.transport.storage_request("GET", BASE_URL + "/_storage/a/b?signature=s")


def test_malformed_presigned_url_raises_chronicle_error() -> None:
    chronicle = Chronicle(BASE_URL, API_KEY, http_client=_failing_client(AssertionError()))
    with pytest.raises(ChronicleError, match="presigned URL"):
        chronicle.transport.storage_request("PUT", "http://[::1/_storage/a?signature=s")
    stream = chronicle.transport.storage_stream("GET", "http://[::1/_storage/a?signature=s")
    with pytest.raises(ChronicleError, match="presigned URL"), stream:
        pass


def test_non_json_success_body_raises_chronicle_error(
    api: ScriptedAPI, chronicle: Chronicle
) -> None:
    api.route("GET", "/experiments/e1", reply=lambda _req: httpx2.Response(200, text="hello"))
    with pytest.raises(ChronicleError, match="not JSON"):
        chronicle.experiments.get("e1")


def test_api_errors_pickle(api: ScriptedAPI, chronicle: Chronicle) -> None:
    # Errors cross process boundaries (multiprocessing, ProcessPoolExecutor).
    import pickle

    api.route(
        "POST",
        "/runs/r1/succeed",
        status=409,
        json={"detail": "not running"},
        headers={"x-request-id": "rq"},
    )
    with pytest.raises(ConflictError) as info:
        chronicle.runs.succeed("r1")
    copy = pickle.loads(pickle.dumps(info.value))
    assert type(copy) is ConflictError
    assert (copy.status_code, copy.message, copy.request_id) == (409, "not running", "rq")
    assert copy.body == {"detail": "not running"} and str(copy) == str(info.value)
    assert copy.response is None
