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
    ContentTooLargeError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    UnprocessableEntityError,
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
        (413, ContentTooLargeError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
        (416, APIError),
        (418, APIError),
    ],
)
def test_status_maps_to_exception_class(
    api: ScriptedAPI, chronicle: Chronicle, status: int, cls: type[APIError]
) -> None:
    api.route("GET", "/experiments/e1", status=status, json={"detail": "nope"})
    with pytest.raises(cls) as info:
        chronicle.experiments.get("e1")
    assert type(info.value) is cls  # 416 must be plain APIError, not a subclass
    assert info.value.status_code == status
    assert info.value.message == "nope"
    assert info.value.body == {"detail": "nope"}
    assert isinstance(info.value.response, httpx2.Response)


def test_seed_mapping_holds_through_inheritance() -> None:
    # docs/api.md (seed): 400 and 422 are BadRequestError; code catching that still works.
    assert issubclass(UnprocessableEntityError, BadRequestError)
    assert issubclass(RateLimitError, APIError) and not issubclass(RateLimitError, ServerError)
    assert not issubclass(ContentTooLargeError, BadRequestError)


@pytest.mark.parametrize(
    ("header", "expected"),
    [("7", 7.0), (" 120 ", 120.0), (None, None), ("soon", None), ("-3", None), ("1.5", None)],
)
def test_rate_limit_carries_retry_after_seconds(
    api: ScriptedAPI, chronicle: Chronicle, header: str | None, expected: float | None
) -> None:
    headers = {"Retry-After": header} if header is not None else {}
    api.route("GET", "/runs/r1", status=429, json={"detail": "slow down"}, headers=headers)
    with pytest.raises(RateLimitError) as info:
        chronicle.runs.get("r1")
    assert info.value.retry_after == expected
    assert info.value.message == "slow down"


def test_rate_limit_retry_after_as_an_http_date(api: ScriptedAPI, chronicle: Chronicle) -> None:
    from datetime import UTC, datetime, timedelta
    from email.utils import format_datetime

    when = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    api.route("GET", "/runs/r1", status=429, json={"detail": "x"}, headers={"Retry-After": when})
    with pytest.raises(RateLimitError) as info:
        chronicle.runs.get("r1")
    assert info.value.retry_after is not None and 80 <= info.value.retry_after <= 90
    past = "Wed, 21 Oct 2015 07:28:00 GMT"
    api.route("GET", "/runs/r1", status=429, json={"detail": "x"}, headers={"Retry-After": past})
    with pytest.raises(RateLimitError) as info:
        chronicle.runs.get("r1")
    assert info.value.retry_after == 0.0


def test_new_errors_pickle_with_their_fields() -> None:
    import pickle

    limited = RateLimitError("slow", status_code=429, body={"detail": "slow"}, retry_after=3.0)
    again = pickle.loads(pickle.dumps(limited))
    assert type(again) is RateLimitError and again.retry_after == 3.0
    assert again.status_code == 429 and again.body == {"detail": "slow"}
    invalid = methodic.ResponseValidationError("bad", type_name="Run", field="id")
    again_invalid = pickle.loads(pickle.dumps(invalid))
    assert (again_invalid.type_name, again_invalid.field, str(again_invalid)) == (
        "Run",
        "id",
        "bad",
    )


def test_upload_error_exposes_the_api_error_it_wraps() -> None:
    refused = ConflictError("asset is ready", status_code=409, request_id="req-1")
    try:
        try:
            raise refused
        except ConflictError as err:
            raise methodic.UploadError("registering x failed") from err
    except methodic.UploadError as err:
        wrapped = err
    assert wrapped.api_error is refused
    assert (wrapped.status_code, wrapped.request_id) == (409, "req-1")
    local = methodic.UploadError("file changed")
    assert (local.api_error, local.status_code, local.request_id) == (None, None, None)


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
    # RFC 9110's reason phrase on every Python (3.13 renamed it; older ones say "Entity").
    assert str(info.value).startswith("422 Unprocessable Content: body.title: Field required")


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
