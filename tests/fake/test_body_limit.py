"""Chronicle routes refuse oversized request bodies before buffering them."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest

from methodic_fake import FakeChronicle
from methodic_fake.middleware import MAX_JSON_BODY

from .conftest import committed_variation


def _oversized() -> bytes:
    return b'{"title": "' + b"x" * MAX_JSON_BODY + b'"}'


def test_declared_oversized_body_is_413(any_mode: FakeChronicle) -> None:
    response = any_mode.http().post(
        "/experiments", content=_oversized(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert str(MAX_JSON_BODY) in response.json()["detail"]
    assert response.headers["x-request-id"]
    assert any_mode.client().experiments.list().items == []


def test_streamed_oversized_body_is_413(any_mode: FakeChronicle) -> None:
    body = _oversized()

    def chunks() -> Iterator[bytes]:  # no Content-Length: chunked transfer encoding
        for start in range(0, len(body), 1 << 20):
            yield body[start : start + (1 << 20)]

    response = any_mode.http().post(
        "/experiments", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert any_mode.client().experiments.list().items == []


def test_bodies_under_the_limit_still_work(any_mode: FakeChronicle) -> None:
    chronicle = any_mode.client()
    exp = chronicle.experiments.create("big inline")
    # The largest inline content, all newlines: JSON escaping doubles it on the wire.
    content = "\n" * (1024 * 1024)
    asset = chronicle.assets.create_inline(
        kind="output", name="o", content=content, experiment_id=exp.id
    )
    assert asset.components[0].size == len(content)


def test_storage_uploads_are_not_capped(in_process: FakeChronicle) -> None:
    chronicle = in_process.client()
    _, variation_id = committed_variation(chronicle)
    run = chronicle.runs.create(variation_id)
    data = b"y" * (MAX_JSON_BODY + 1)
    created = chronicle.assets.create(
        kind="checkpoint",
        name="c",
        run_id=run.id,
        components=[{"name": "m", "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}],
    )
    chronicle.transport.storage_request("PUT", created.upload_urls["m"], content=data)
    assert chronicle.assets.finalize(created.asset.id).state == "ready"


@pytest.fixture(params=["server", "in-process"])
def any_mode(request: pytest.FixtureRequest, methodic_fake: FakeChronicle) -> FakeChronicle:
    if request.param == "server":
        return methodic_fake
    fake = FakeChronicle.in_process()
    request.addfinalizer(fake.stop)
    return fake
