"""Presigned storage URLs: signatures, expiry, size limits, Range downloads."""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx2
import pytest

from methodic import BadRequestError, Chronicle, PermissionDeniedError
from methodic_fake import FakeChronicle

from .test_assets import running_run, spec

DATA = bytes(range(256)) * 40  # 10240 bytes


@pytest.fixture
def pending(researcher: Chronicle, worker: Chronicle) -> tuple[str, str]:
    """(asset_id, PUT url) of a pending one-component asset."""
    run_id = running_run(researcher, worker)
    created = worker.assets.create(
        kind="output", name="o", run_id=run_id, components=[spec("blob", DATA)]
    )
    return created.asset.id, created.upload_urls["blob"]


@pytest.fixture
def ready(worker: Chronicle, pending: tuple[str, str]) -> tuple[str, str]:
    """(asset_id, GET url) of the same asset once uploaded and finalized."""
    asset_id, url = pending
    worker.transport.storage_request("PUT", url, content=DATA)
    worker.assets.finalize(asset_id)
    return asset_id, worker.assets.download_urls(asset_id)["blob"]


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def test_url_format(fake: FakeChronicle, pending: tuple[str, str]) -> None:
    asset_id, url = pending
    parts = urlsplit(url)
    assert url.startswith(fake.base_url + f"/_storage/{asset_id}/blob?")
    query = dict(parse_qsl(parts.query))
    assert set(query) == {"op", "expires", "signature"} and query["op"] == "put"
    assert int(query["expires"]) == pytest.approx(fake.now() + 3600, abs=5)
    assert len(query["signature"]) == 64


@pytest.mark.parametrize(
    "tamper",
    [
        lambda u: with_query(
            u, expires=str(int(dict(parse_qsl(urlsplit(u).query))["expires"]) + 60)
        ),
        lambda u: with_query(u, signature="0" * 64),
        lambda u: with_query(u, op="get"),
        lambda u: with_query(u, extra="1"),
        lambda u: u + "&op=put",
        lambda u: u.replace("/blob?", "/other?"),
    ],
    ids=["expires", "signature", "op", "extra-param", "repeated-param", "path"],
)
def test_tampered_urls_are_403(fake: FakeChronicle, pending: tuple[str, str], tamper) -> None:  # type: ignore[no-untyped-def]
    _, url = pending
    response = fake.http(None).put(tamper(url), content=DATA)
    assert response.status_code == 403
    assert isinstance(response.json()["detail"], str)
    assert response.headers["x-request-id"]


@pytest.mark.parametrize(
    "rewrite",
    [
        lambda v: "+" + v,
        lambda v: "0" + v,
        lambda v: " " + v,
        lambda v: v + " ",
        lambda v: v[:2] + "_" + v[2:],
        lambda v: "\uff11" + v[1:],  # a fullwidth digit: int() accepts it
    ],
    ids=["plus", "leading-zero", "leading-space", "trailing-space", "underscore", "fullwidth"],
)
def test_rewritten_expires_is_403(fake: FakeChronicle, pending: tuple[str, str], rewrite) -> None:  # type: ignore[no-untyped-def]
    # The signature covers the expiry as sent: a value int() reads the same way
    # but spelled differently is a different URL, and must not be honoured.
    asset_id, url = pending
    expires = dict(parse_qsl(urlsplit(url).query))["expires"]
    response = fake.http(None).put(with_query(url, expires=rewrite(expires)), content=DATA)
    assert response.status_code == 403, response.text
    assert fake.backend.registry.assets[asset_id].components[0].uploaded is False


def test_rewritten_signature_case_is_403(fake: FakeChronicle, pending: tuple[str, str]) -> None:
    _, url = pending
    signature = dict(parse_qsl(urlsplit(url).query))["signature"]
    response = fake.http(None).put(with_query(url, signature=signature.upper()), content=DATA)
    assert response.status_code == 403


def test_url_from_another_fake_is_403(pending: tuple[str, str]) -> None:
    from methodic_fake import FakeChronicle

    _, url = pending
    with FakeChronicle.in_process() as other:
        path = url.split("/_storage/", 1)[1]
        response = other.http(None).put("/_storage/" + path, content=DATA)
    assert response.status_code == 403


def test_expired_url_is_403(
    fake: FakeChronicle, worker: Chronicle, pending: tuple[str, str]
) -> None:
    _, url = pending
    fake.advance(seconds=3601)
    with pytest.raises(PermissionDeniedError) as info:
        worker.transport.storage_request("PUT", url, content=DATA)
    assert info.value.body == {"detail": "presigned URL expired"}


def test_wrong_method_for_op_is_403(fake: FakeChronicle, ready: tuple[str, str]) -> None:
    _, get_url = ready
    response = fake.http(None).put(get_url, content=DATA)
    assert response.status_code == 403
    assert "op='get'" in response.json()["detail"]


def test_put_to_a_ready_asset_is_403(worker: Chronicle, pending: tuple[str, str]) -> None:
    asset_id, url = pending
    worker.transport.storage_request("PUT", url, content=DATA)
    worker.assets.finalize(asset_id)
    with pytest.raises(PermissionDeniedError) as info:
        worker.transport.storage_request("PUT", url, content=DATA)
    assert (
        info.value.body["detail"]
        == f"cannot upload to asset {asset_id}: it is ready (needs pending)"
    )


def test_oversized_put_is_400_and_leaves_nothing(
    fake: FakeChronicle, worker: Chronicle, pending: tuple[str, str]
) -> None:
    asset_id, url = pending
    # Declared too large: rejected before reading.
    with pytest.raises(BadRequestError) as info:
        worker.transport.storage_request("PUT", url, content=DATA + b"!")
    assert "exceeds the registered size" in info.value.body["detail"]
    # Streamed without a length: rejected as soon as the running total passes the size.
    chunks = iter([DATA, b"one byte too many"])
    with pytest.raises(BadRequestError):
        worker.transport.storage_request("PUT", url, content=chunks)
    assert not fake.backend.blobs.path(asset_id, "blob").exists()
    assert list((fake.backend.blobs.root / ".tmp").iterdir()) == []
    assert not worker.assets.get(asset_id).components[0].uploaded


def test_re_put_replaces_the_component(worker: Chronicle, pending: tuple[str, str]) -> None:
    asset_id, url = pending
    worker.transport.storage_request("PUT", url, content=b"wrong")
    worker.transport.storage_request("PUT", url, content=DATA)
    assert worker.assets.finalize(asset_id).state == "ready"


def test_bearer_token_is_refused_by_storage(fake: FakeChronicle, pending: tuple[str, str]) -> None:
    _, url = pending
    response = fake.http("worker").put(url, content=DATA)
    assert response.status_code == 400
    assert "Authorization" in response.json()["detail"]


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-99", 0, 99),
        ("bytes=10000-", 10000, 10239),
        ("bytes=-40", 10200, 10239),
        ("bytes=10230-99999", 10230, 10239),
        ("BYTES=0-9", 0, 9),  # range units are case-insensitive (RFC 9110)
        ("Bytes=-10", 10230, 10239),
    ],
)
def test_range_downloads(
    worker: Chronicle, ready: tuple[str, str], header: str, start: int, end: int
) -> None:
    _, url = ready
    response = worker.transport.storage_request("GET", url, headers={"Range": header})
    assert response.status_code == 206
    assert response.content == DATA[start : end + 1]
    assert response.headers["content-range"] == f"bytes {start}-{end}/{len(DATA)}"


def test_full_download_headers(worker: Chronicle, ready: tuple[str, str]) -> None:
    _, url = ready
    response = worker.transport.storage_request("GET", url)
    assert response.status_code == 200 and response.content == DATA
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["etag"] == f'"{hashlib.sha256(DATA).hexdigest()}"'
    with worker.transport.storage_stream("GET", url) as streamed:
        assert b"".join(streamed.iter_bytes()) == DATA


@pytest.mark.parametrize("header", ["bytes=20000-", "bytes=5-2", "items=0-1", "bytes=0-1,5-6"])
def test_unsatisfiable_range_is_416(
    fake: FakeChronicle, ready: tuple[str, str], header: str
) -> None:
    _, url = ready
    response = fake.http(None).get(url, headers={"Range": header})
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{len(DATA)}"
    assert "detail" in response.json()


def test_download_url_is_get_only(fake: FakeChronicle, pending: tuple[str, str]) -> None:
    _, put_url = pending
    response = fake.http(None).get(put_url)
    assert response.status_code == 403


def test_storage_errors_use_the_detail_shape(fake: FakeChronicle) -> None:
    client = httpx2.Client(base_url=fake.base_url) if not fake.in_process_mode else fake.http(None)
    with client:
        response = client.put("/_storage/nope/blob?op=put&expires=1&signature=00", content=b"")
    assert response.status_code == 403
    assert set(response.json()) == {"detail"}


def test_client_vanishing_mid_upload_leaves_nothing(
    fake: FakeChronicle, worker: Chronicle, pending: tuple[str, str]
) -> None:
    import socket
    import time

    asset_id, url = pending
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    head = (
        f"PUT {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Content-Length: {len(DATA)}\r\n\r\n"
    ).encode()
    with socket.create_connection((parts.hostname, parts.port)) as sock:
        sock.sendall(head + DATA[:1000])  # a crashed runner: the rest never comes
    # The server keeps serving; the complete upload that follows is the only one kept.
    worker.transport.storage_request("PUT", url, content=DATA)
    assert worker.assets.finalize(asset_id).state == "ready"
    tmp_dir = fake.backend.blobs.root / ".tmp"
    for _ in range(100):  # the aborted request is cleaned up asynchronously
        if not list(tmp_dir.glob("*")):
            break
        time.sleep(0.02)
    assert list(tmp_dir.glob("*")) == []


def test_put_reports_what_was_stored(worker: Chronicle, pending: tuple[str, str]) -> None:
    _, url = pending
    response = worker.transport.storage_request("PUT", url, content=DATA)
    digest = hashlib.sha256(DATA).hexdigest()
    assert response.json() == {"size": len(DATA)}
    assert response.headers["etag"] == f'"{digest}"'


def test_head_gives_headers_without_body(fake: FakeChronicle, ready: tuple[str, str]) -> None:
    _, url = ready
    response = fake.http(None).head(url)
    assert response.status_code == 200
    assert response.headers["content-length"] == str(len(DATA))
    assert response.content == b""


@pytest.mark.parametrize("method", ["GET", "HEAD", "range"])
def test_downloads_are_never_active_content_on_the_fake_s_origin(
    fake: FakeChronicle, ready: tuple[str, str], method: str
) -> None:
    # Storage shares the dashboard's origin (issue 19, finding 3; the browser test is
    # tests/browser/test_storage_origin.py).
    _, url = ready
    http = fake.http(None)
    if method == "range":
        response = http.get(url, headers={"Range": "bytes=0-9"})
    else:
        response = http.request(method, url)
    assert response.status_code in (200, 206)
    assert response.headers["content-disposition"] == (
        "attachment; filename=\"blob\"; filename*=UTF-8''blob"
    )
    assert response.headers["content-security-policy"] == "sandbox; default-src 'none'"
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    ("component", "disposition"),
    [
        (
            "model.safetensors",
            "attachment; filename=\"model.safetensors\"; filename*=UTF-8''model.safetensors",
        ),
        # Component names will hold directories: the file is the last segment.
        ("ckpt/step-1/model.bin", "attachment; filename=\"model.bin\"; filename*=UTF-8''model.bin"),
        (
            'r\u00e9sum\u00e9 "v2".txt',
            "attachment; filename=\"r_sum_ _v2_.txt\"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%22v2%22.txt",
        ),
    ],
)
def test_the_attachment_is_named_per_rfc_6266(component: str, disposition: str) -> None:
    from methodic_fake.routes.storage import _download_headers

    headers = _download_headers(component, "0" * 64, None)
    assert headers["Content-Disposition"] == disposition
    assert headers["Content-Type"] == "application/octet-stream"
