"""Guarantee: a presigned storage URL works exactly as issued, and not one bit otherwise.

For upload (PUT) and download (GET) URLs alike: changing, dropping, repeating or
adding any query parameter, pointing the path at another asset or component,
using the URL for the other method, using it after it expires, or using one fake's
URL on another is a 403 with a detail, and stores (or serves) nothing. Each test
ends with the untouched URL working, so a refusal can't be a broken fixture.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest

from methodic_fake import FakeChronicle

DATA = b"presigned payload"
OTHER = b"other payload!!!!"  # same length: only the signature can stop the swap
TTL = 3600  # docs/api.md: URLs expire; the fake's default lifetime


def _storage_client(fake: FakeChronicle) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    return TestClient(fake.app, base_url=fake.base_url, raise_server_exceptions=False)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def fake() -> Iterator[FakeChronicle]:
    with FakeChronicle.in_process() as fake:
        yield fake


@pytest.fixture
def storage(fake: FakeChronicle) -> Iterator[Any]:
    with _storage_client(fake) as client:
        yield client


@pytest.fixture
def upload(fake: FakeChronicle) -> dict[str, Any]:
    c = fake.client("researcher")
    exp = c.experiments.create("presign")
    created = c.assets.create(
        kind="output",
        name="two parts",
        experiment_id=exp.id,
        components=[
            {"name": "a", "size": len(DATA), "sha256": _sha(DATA)},
            {"name": "b", "size": len(OTHER), "sha256": _sha(OTHER)},
        ],
    )
    other = c.assets.create(
        kind="output",
        name="another",
        experiment_id=exp.id,
        components=[{"name": "a", "size": len(DATA), "sha256": _sha(DATA)}],
    )
    return {
        "chronicle": c,
        "asset": created.asset.id,
        "urls": created.upload_urls,
        "other": other.asset.id,
    }


def _with_query(url: str, pairs: list[tuple[str, str]]) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query=urlencode(pairs)))


def _with_path(url: str, path: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=path))


def _flip(value: str) -> str:
    last = value[-1]
    return value[:-1] + ("0" if last != "0" else "1")


def _changed(key: str, value: str) -> str:
    if key == "op":
        return "get" if value == "put" else "put"
    if key == "expires":
        return str(int(value) + 1)
    return _flip(value)


def tampered_variants(url: str) -> dict[str, str]:
    """Every way to change one thing about a presigned URL's query."""
    query = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    assert {k for k, _ in query} == {"op", "expires", "signature"}, url
    variants: dict[str, str] = {}
    for i, (key, value) in enumerate(query):
        changed = _changed(key, value)
        variants[f"{key} changed"] = _with_query(url, [*query[:i], (key, changed), *query[i + 1 :]])
        variants[f"{key} dropped"] = _with_query(url, query[:i] + query[i + 1 :])
        variants[f"{key} repeated"] = _with_query(url, [*query, (key, value)])
        variants[f"{key} repeated with other value"] = _with_query(url, [*query, (key, changed)])
        variants[f"{key} emptied"] = _with_query(url, [*query[:i], (key, ""), *query[i + 1 :]])
        variants[f"{key} renamed"] = _with_query(
            url, [*query[:i], (key.upper(), value), *query[i + 1 :]]
        )
    variants["expires far future"] = _with_query(
        url, [(k, str(int(v) + 10**6) if k == "expires" else v) for k, v in query]
    )
    variants["signature truncated"] = _with_query(
        url, [(k, v[:32] if k == "signature" else v) for k, v in query]
    )
    variants["signature uppercased"] = _with_query(
        url, [(k, v.upper() if k == "signature" else v) for k, v in query]
    )
    variants["extra parameter"] = _with_query(url, [*query, ("x-amz-acl", "public-read")])
    variants["no query at all"] = _with_query(url, [])
    return variants


def _assert_403(response: Any, label: str) -> None:
    assert response.status_code == 403, f"{label}: {response.status_code} {response.text[:200]}"
    assert response.json()["detail"], label


def _components(upload: dict[str, Any]) -> dict[str, bool]:
    asset = upload["chronicle"].assets.get(upload["asset"])
    return {c.name: c.uploaded for c in asset.components}


def test_tampered_put_query_is_403_and_stores_nothing(
    storage: Any, upload: dict[str, Any], figures: Any
) -> None:
    url = upload["urls"]["a"]
    variants = tampered_variants(url)
    for label, bad in variants.items():
        _assert_403(storage.put(bad, content=DATA), label)
    assert _components(upload) == {"a": False, "b": False}
    assert storage.put(url, content=DATA).status_code == 200
    assert _components(upload) == {"a": True, "b": False}
    figures.add("presigned: tampered URLs refused", len(variants))


def test_put_url_path_swaps_are_403(
    fake: FakeChronicle, storage: Any, upload: dict[str, Any]
) -> None:
    url_a = upload["urls"]["a"]
    path = urlsplit(url_a).path
    asset = upload["asset"]
    swaps = {
        # The URL for component a, aimed at component b of the same asset.
        "other component": path.replace(f"/{asset}/a", f"/{asset}/b"),
        # ... and at the same component name of another asset.
        "other asset": path.replace(asset, upload["other"]),
        "asset id uppercased": path.replace(asset, asset.upper()),
        "component renamed": path.replace(f"/{asset}/a", f"/{asset}/A"),
    }
    for label, new_path in swaps.items():
        assert new_path != path, label
        _assert_403(storage.put(_with_path(url_a, new_path), content=OTHER), label)
    assert _components(upload) == {"a": False, "b": False}
    assert fake.client("researcher").assets.get(upload["other"]).components[0].uploaded is False
    assert storage.put(url_a, content=DATA).status_code == 200


def test_put_url_cannot_download_and_get_url_cannot_upload(
    storage: Any, upload: dict[str, Any]
) -> None:
    c = upload["chronicle"]
    url_a, url_b = upload["urls"]["a"], upload["urls"]["b"]
    assert storage.put(url_a, content=DATA).status_code == 200
    assert storage.put(url_b, content=OTHER).status_code == 200
    c.assets.finalize(upload["asset"])
    _assert_403(storage.get(url_a), "PUT URL used to GET")
    download = c.assets.download_urls(upload["asset"])
    _assert_403(storage.put(download["a"], content=OTHER), "GET URL used to PUT")
    for label, bad in tampered_variants(download["a"]).items():
        _assert_403(storage.get(bad), f"download {label}")
    fetched = storage.get(download["a"])
    assert fetched.status_code == 200
    assert fetched.content == DATA


def test_expired_urls_are_403(fake: FakeChronicle, storage: Any, upload: dict[str, Any]) -> None:
    url_a, url_b = upload["urls"]["a"], upload["urls"]["b"]
    fake.advance(seconds=TTL - 5)
    # Still inside its lifetime: works.
    assert storage.put(url_b, content=OTHER).status_code == 200
    fake.advance(seconds=10)
    response = storage.put(url_a, content=DATA)
    _assert_403(response, "expired PUT")
    assert "expired" in response.json()["detail"]
    assert _components(upload) == {"a": False, "b": True}
    # The documented way out: fresh URLs for what is still missing.
    fresh = upload["chronicle"].assets.upload_urls(upload["asset"])
    assert list(fresh) == ["a"]
    assert storage.put(fresh["a"], content=DATA).status_code == 200


def test_url_from_one_fake_is_refused_by_another(storage: Any, upload: dict[str, Any]) -> None:
    url = upload["urls"]["a"]
    with FakeChronicle.in_process() as other, _storage_client(other) as elsewhere:
        # Each fake signs with its own random secret, and checks the signature before
        # looking anything up, so the answer is 403 (not a 404 that confirms an id).
        _assert_403(elsewhere.put(url, content=DATA), "another fake's URL")
        assert other.client("researcher").assets.list().items == []
    assert storage.put(url, content=DATA).status_code == 200


def test_bearer_token_on_storage_is_refused(
    fake: FakeChronicle, storage: Any, upload: dict[str, Any]
) -> None:
    """Storage never sees the bearer token; the fake says so loudly if a client sends it."""
    response = storage.put(
        upload["urls"]["a"], content=DATA, headers={"Authorization": f"Bearer {fake.worker_key}"}
    )
    assert 400 <= response.status_code < 500, response.text
    assert "authorization" in response.json()["detail"].lower()
    assert fake.worker_key not in response.text
    assert _components(upload) == {"a": False, "b": False}
    assert storage.put(upload["urls"]["a"], content=DATA).status_code == 200
