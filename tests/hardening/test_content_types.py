"""Guarantee: an asset's ``content_type`` is a media type, so every download can be served
(issue 19, finding 9).

A ``content_type`` with CR/LF or NUL used to be stored (201), and every later download
of the asset dropped the connection with no response: the value is sent back as the
storage response's ``Content-Type`` header. Registration now refuses anything that is
not an RFC 9110 media type of at most 255 characters with a 422 naming the field —
inline and presigned, over uvicorn — and creates nothing; every accepted one downloads.
A record written before this rule (a dev server's old data dir) is served as
``application/octet-stream`` instead of breaking the connection.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from methodic import Chronicle, UnprocessableEntityError
from methodic_fake import FakeChronicle
from methodic_fake.auth import Principal

BAD = {
    "crlf-header-injection": "text/plain\r\nX-Evil: 1",
    "lone-lf": "text/html\nx",
    "nul": "text/plain\x00",
    "empty": "",
    "no-subtype": "text",
    "empty-subtype": "text/",
    "empty-type": "/plain",
    "space-in-type": "text /plain",
    "parameter-without-value": "text/plain; charset",
    "non-ascii": "tëxt/plain",
    "unclosed-quote": 'text/plain; charset="utf-8',
    "256-characters": "application/" + "x" * 244,
}
GOOD = [
    "text/plain; charset=utf-8",
    "application/vnd.api+json",
    'multipart/form-data; boundary="a b;c"',
    "text/plain;charset=utf-8;format=flowed",
    'text/plain; note="say \\"hi\\""',
    "application/" + "x" * 243,  # 255 characters: the limit
]


@pytest.fixture
def researcher(methodic_fake: FakeChronicle) -> Chronicle:
    return methodic_fake.client("researcher")


@pytest.mark.parametrize("content_type", BAD.values(), ids=BAD.keys())
def test_an_inline_asset_with_a_bad_content_type_is_refused(
    researcher: Chronicle, content_type: str
) -> None:
    with pytest.raises(UnprocessableEntityError, match="content_type") as caught:
        researcher.assets.create_inline(
            kind="output", name="page", content="<b>hi</b>", content_type=content_type
        )
    assert "media type" in caught.value.message
    assert list(researcher.assets.list()) == []


@pytest.mark.parametrize("content_type", BAD.values(), ids=BAD.keys())
def test_a_presigned_component_with_a_bad_content_type_is_refused(
    researcher: Chronicle, content_type: str
) -> None:
    data = b"weights"
    component = {
        "name": "model.bin",
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "content_type": content_type,
    }
    with pytest.raises(UnprocessableEntityError, match=r"components\.0\.content_type"):
        researcher.assets.create(kind="checkpoint", name="step-1", components=[component])
    assert list(researcher.assets.list()) == []


@pytest.mark.parametrize("content_type", GOOD)
def test_every_media_type_is_accepted_and_downloads(
    researcher: Chronicle, content_type: str, tmp_path: Path
) -> None:
    asset = researcher.assets.create_inline(
        kind="output", name="page", content="hello", content_type=content_type
    )
    assert asset.components[0].content_type == content_type
    [url] = researcher.assets.download_urls(asset.id).values()
    response = researcher.transport.storage_request("GET", url)
    assert response.content == b"hello"
    assert response.headers["content-type"] == content_type


def test_an_old_record_with_a_bad_content_type_still_downloads(
    methodic_fake: FakeChronicle,
) -> None:
    # Written before the rule: straight through the domain, as an old data dir holds it.
    backend = methodic_fake.backend
    asset = backend.assets.create_inline(
        Principal("researcher", "old"),
        kind="output",
        name="old",
        content="still here",
        content_type="text/plain\r\nX-Evil: 1",
    )
    researcher = methodic_fake.client("researcher")
    [url] = researcher.assets.download_urls(asset["id"]).values()
    response = researcher.transport.storage_request("GET", url)
    assert response.content == b"still here"
    assert response.headers["content-type"] == "application/octet-stream"
    assert "x-evil" not in response.headers
