"""Guarantee: bad input to the fake gets a precise 4xx with a useful detail, and changes nothing.

Each case sends something a careless or hostile client might send, asserts the
exact status and that ``detail`` says what was wrong, then asserts that the fake's
observable state (every experiment, variation, run and asset, with their states
and component upload flags) is byte-for-byte what it was before.

The cases run against both stores the fake has (in memory, and the SQLite store
the dev server uses), because a value the memory store keeps may be one the
SQLite store cannot serialise.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from methodic_fake import FakeChronicle

INLINE_LIMIT = 1024 * 1024  # docs/api.md: inline content over 1 MiB is a 413
SHA_X = hashlib.sha256(b"x").hexdigest()


def _test_client(fake: FakeChronicle, role: str | None = "researcher") -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    headers = {"Authorization": f"Bearer {fake.token(role)}"} if role else {}
    # raise_server_exceptions=False: a 500 must show up as a status we can assert
    # on, exactly as a real client would see it, not as an exception in the test.
    return TestClient(
        fake.app, base_url=fake.base_url, headers=headers, raise_server_exceptions=False
    )


# One fake per store for the whole module: every test compares state before and
# after its own requests, so sharing the fake costs no isolation and saves a setup
# per case.
@pytest.fixture(scope="module", params=["memory", "sqlite"])
def fake(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FakeChronicle]:
    data_dir = tmp_path_factory.mktemp("bad-input") if request.param == "sqlite" else None
    with FakeChronicle.in_process(data_dir=data_dir) as fake:
        yield fake


@pytest.fixture(scope="module")
def http(fake: FakeChronicle) -> Iterator[Any]:
    with _test_client(fake) as client:
        yield client


@pytest.fixture(scope="module")
def world(http: Any) -> dict[str, Any]:
    """A little of everything, so 'nothing changed' has something to compare."""
    exp = _ok(http.post("/experiments", json={"title": "bad-input base", "tags": ["t"]}))
    var = _ok(http.post(f"/experiments/{exp['id']}/variations", json={"config_json": {"lr": 1}}))
    _ok(http.post(f"/experiments/{exp['id']}/commit"))
    run = _ok(http.post(f"/variations/{var['id']}/runs"))
    presigned = _ok(
        http.post(
            "/assets",
            json={
                "kind": "checkpoint",
                "name": "ckpt",
                "run_id": run["id"],
                "presign": True,
                "components": [{"name": "model.bin", "size": 4, "sha256": _sha(b"abcd")}],
            },
        )
    )
    draft = _ok(http.post("/experiments", json={"title": "bad-input draft"}))
    return {"experiment": exp, "draft": draft, "variation": var, "run": run, "presigned": presigned}


def _ok(response: Any) -> Any:
    assert response.status_code < 300, response.text
    return response.json()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def snapshot(http: Any) -> str:
    """Everything a client can observe, as one canonical string."""

    def all_items(path: str, **params: Any) -> list[Any]:
        items, cursor = [], None
        while True:
            query = {**params, "limit": 200, **({"cursor": cursor} if cursor else {})}
            page = _ok(http.get(path, params=query))
            items.extend(page["items"])
            cursor = page["next_cursor"]
            if not cursor:
                return items

    experiments = all_items("/experiments")
    state = {
        "experiments": [_ok(http.get(f"/experiments/{e['id']}")) for e in experiments],
        "runs": all_items("/runs"),
        "assets": all_items("/assets"),
    }
    return json.dumps(state, sort_keys=True)


def assert_rejected(response: Any, status: int, *words: str) -> None:
    """`status`, a JSON `detail`, and every word (case-insensitive) in that detail."""
    assert response.status_code == status, (
        f"expected {status}, got {response.status_code}: {response.text[:300]}"
    )
    body = response.json()
    detail = body["detail"]
    text = json.dumps(detail) if not isinstance(detail, str) else detail
    assert text.strip(), "empty detail"
    for word in words:
        assert word.lower() in text.lower(), f"{word!r} not in detail {text[:300]!r}"


# -- oversized inline content -------------------------------------------------------------


def test_inline_content_over_the_limit_is_413(http: Any, world: dict[str, Any]) -> None:
    before = snapshot(http)
    over = http.post(
        "/assets", json={"kind": "output", "name": "big", "content": "a" * (INLINE_LIMIT + 1)}
    )
    assert_rejected(over, 413, "limit")
    # The limit is on bytes, not characters: 600 Ki two-byte characters are 1.2 MiB.
    wide = http.post(
        "/assets", json={"kind": "output", "name": "wide", "content": "é" * (600 * 1024)}
    )
    assert_rejected(wide, 413, "limit")
    assert snapshot(http) == before
    # The boundary itself is allowed: the limit is inclusive, not off by one.
    exact = http.post(
        "/assets", json={"kind": "output", "name": "exact", "content": "a" * INLINE_LIMIT}
    )
    assert exact.status_code == 201, exact.text
    assert exact.json()["state"] == "ready"


# -- component names and sizes ------------------------------------------------------------

BAD_NAMES = [
    "../escape",
    "../../etc/passwd",
    "a/b",
    "a\\b",
    "..",
    ".",
    "",
    "x" * 129,
    "nul\x00byte",
    "new\nline",
    "sp ace",
    "caf\u00e9",
    "%2e%2e",
    "a%2Fb",
    "emoji\U0001f600",
]


def _presign_one(http: Any, name: str = "a", size: Any = 1, sha256: str = SHA_X) -> Any:
    """POST /assets (presign) with a single component: the body every case here varies."""
    component = {"name": name, "size": size, "sha256": sha256}
    body = {"kind": "output", "name": "n", "presign": True, "components": [component]}
    return http.post("/assets", json=body)


@pytest.mark.parametrize("name", BAD_NAMES, ids=[repr(n)[:24] for n in BAD_NAMES])
def test_odd_component_names_are_400(http: Any, world: dict[str, Any], name: str) -> None:
    before = snapshot(http)
    response = _presign_one(http, name=name)
    assert_rejected(response, 400, "component name")
    assert snapshot(http) == before


def test_longest_and_oddest_legal_component_name_is_accepted(
    http: Any, world: dict[str, Any]
) -> None:
    # Positive control for the test above: the rule is a whitelist, not a blacklist.
    name = ("A-z_0.9" * 19)[:128]
    response = _presign_one(http, name=name)
    assert response.status_code == 201, response.text
    assert list(response.json()["upload_urls"]) == [name]


def test_duplicate_component_names_are_400(http: Any, world: dict[str, Any]) -> None:
    before = snapshot(http)
    response = http.post(
        "/assets",
        json={
            "kind": "output",
            "name": "n",
            "presign": True,
            "components": [
                {"name": "weights", "size": 1, "sha256": SHA_X},
                {"name": "other", "size": 1, "sha256": SHA_X},
                {"name": "weights", "size": 2, "sha256": SHA_X},
            ],
        },
    )
    assert_rejected(response, 400, "duplicate", "weights")
    assert snapshot(http) == before


@pytest.mark.parametrize("size", [-1, -(2**63), 5 * 2**40 + 1, 2**63, 2**64, 10**30])
def test_component_size_out_of_range_is_422(http: Any, world: dict[str, Any], size: int) -> None:
    """Sizes are 0..5 TiB: no object store takes more in one object, and JSON loses
    integers past 2**53."""
    before = snapshot(http)
    response = _presign_one(http, size=size)
    assert_rejected(response, 422, "size")
    assert snapshot(http) == before


@pytest.mark.parametrize("size", [1.5, "12", None, [1], {"n": 1}])
def test_non_integer_component_size_is_422(http: Any, world: dict[str, Any], size: Any) -> None:
    before = snapshot(http)
    response = _presign_one(http, size=size)
    if size == "12":
        # pydantic's lax mode reads a numeric string as an int: a documented FastAPI
        # behaviour, so the only requirement is that it is not an error.
        assert response.status_code == 201, response.text
        return
    assert_rejected(response, 422, "size")
    assert snapshot(http) == before


@pytest.mark.parametrize("sha", ["", "ABC", SHA_X.upper(), SHA_X[:-1], SHA_X + "0", "g" * 64])
def test_malformed_sha256_is_422(http: Any, world: dict[str, Any], sha: str) -> None:
    before = snapshot(http)
    response = _presign_one(http, sha256=sha)
    assert_rejected(response, 422, "sha256")
    assert snapshot(http) == before


# -- YAML that is not a config --------------------------------------------------------------

NOT_MAPPINGS = {
    "list": "- a\n- b",
    "string": "just a string",
    "int": "42",
    "empty": "",
    "null": "null",
}


@pytest.mark.parametrize("yaml_text", list(NOT_MAPPINGS.values()), ids=list(NOT_MAPPINGS))
def test_non_mapping_yaml_is_400(http: Any, world: dict[str, Any], yaml_text: str) -> None:
    before = snapshot(http)
    response = http.post(
        f"/experiments/{world['draft']['id']}/variations", json={"config_yaml": yaml_text}
    )
    assert_rejected(response, 400, "config_yaml", "mapping")
    assert snapshot(http) == before


def _alias_bomb(levels: int, fan_out: int = 10) -> str:
    lines = [f"l0: &l0 [{', '.join(['x'] * fan_out)}]"]
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * fan_out)}]")
    return "\n".join(lines)


HOSTILE_YAML = {
    "unparseable": "a: [",
    "python-tag": "!!python/object/apply:os.system ['true']",
    "self-referencing-alias": "a: &x [*x]",
    "nested-900-block": "a:\n"
    + "".join("  " * (i + 1) + "b:\n" for i in range(900))
    + "  " * 901
    + "c: 1\n",
    "nested-900-flow": "a: " + "[" * 900 + "]" * 900,
    # ~300 bytes of YAML that expand to a million-element, 4.7 MB config.
    "alias-bomb": _alias_bomb(6),
}


@pytest.mark.parametrize("yaml_text", list(HOSTILE_YAML.values()), ids=list(HOSTILE_YAML))
def test_hostile_yaml_is_400(http: Any, world: dict[str, Any], yaml_text: str) -> None:
    before = snapshot(http)
    response = http.post(
        f"/experiments/{world['draft']['id']}/variations", json={"config_yaml": yaml_text}
    )
    assert_rejected(response, 400, "config_yaml")
    assert snapshot(http) == before


# -- JSON that is too deep, not JSON, or not encodable ------------------------------------------


def test_deeply_nested_request_body_is_400(http: Any, world: dict[str, Any]) -> None:
    before = snapshot(http)
    body = "[" * 100_000 + "]" * 100_000
    response = http.post("/experiments", content=body, headers={"content-type": "application/json"})
    assert_rejected(response, 400, "pars")
    nested = '{"title": "x", "tags": ' + "[" * 5000 + "]" * 5000 + "}"
    response = http.post(
        "/experiments", content=nested, headers={"content-type": "application/json"}
    )
    assert_rejected(response, 400, "pars")
    assert snapshot(http) == before


@pytest.mark.parametrize("depth", [100, 700, 950])
def test_deeply_nested_config_is_kept_or_refused_never_500(
    http: Any, world: dict[str, Any], depth: int
) -> None:
    """Deep but parseable JSON: either stored faithfully or refused with a 4xx, on every store."""
    before = snapshot(http)
    config: Any = 1
    for _ in range(depth):
        config = {"a": config}
    body = '{"config_json": ' + '{"a": ' * depth + "1" + "}" * depth + "}"
    response = http.post(
        f"/experiments/{world['draft']['id']}/variations",
        content=body,
        headers={"content-type": "application/json"},
    )
    assert response.status_code in (201, 400, 413, 422), response.text[:300]
    if response.status_code == 201:
        stored = _ok(http.get(f"/variations/{response.json()['id']}"))
        assert stored["config_json"] == config
    else:
        assert response.json()["detail"]
        assert snapshot(http) == before


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity", "1e999"])
@pytest.mark.parametrize(
    ("path_key", "field"),
    [("variation", "config_json"), ("experiment_assets", "metadata"), ("run_start", "environment")],
)
def test_non_finite_numbers_are_rejected(
    http: Any, world: dict[str, Any], token: str, path_key: str, field: str
) -> None:
    """JSON has no NaN or Infinity; Python's parser accepts them, so the fake must refuse them."""
    before = snapshot(http)
    if path_key == "variation":
        path, extra = f"/experiments/{world['draft']['id']}/variations", ""
    elif path_key == "experiment_assets":
        path, extra = "/assets", '"kind": "output", "name": "n", "content": "c", '
    else:
        path, extra = f"/runs/{world['run']['id']}/start", ""
    body = "{" + extra + f'"{field}": {{"x": {token}}}' + "}"
    response = http.post(path, content=body, headers={"content-type": "application/json"})
    assert 400 <= response.status_code < 500, f"{response.status_code}: {response.text[:200]}"
    assert response.json()["detail"]
    assert snapshot(http) == before


@pytest.mark.parametrize(
    "body",
    [
        '{"kind": "output", "name": "n", "content": "\\ud800"}',
        '{"kind": "output", "name": "\\udfff", "content": "c"}',
        '{"kind": "output", "name": "n", "content": "c", "metadata": {"\\ud800": 1}}',
    ],
    ids=["content", "name", "metadata-key"],
)
def test_lone_surrogates_are_rejected(http: Any, world: dict[str, Any], body: str) -> None:
    """A JSON escape for half a UTF-16 pair is valid JSON but no valid string: refuse it."""
    before = snapshot(http)
    response = http.post("/assets", content=body, headers={"content-type": "application/json"})
    assert 400 <= response.status_code < 500, f"{response.status_code}: {response.text[:200]}"
    assert response.json()["detail"]
    assert snapshot(http) == before


def test_invalid_utf8_body_is_400(http: Any, world: dict[str, Any]) -> None:
    before = snapshot(http)
    for raw in (b'{"title": "\xff\xfe"}', b'{"title": "\xc3"}', b"\xef\xbb\xbf\xff"):
        response = http.post(
            "/experiments", content=raw, headers={"content-type": "application/json"}
        )
        assert_rejected(response, 400, "pars")
    assert snapshot(http) == before


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml", None]
)
def test_wrong_content_type_is_422_on_the_body(
    http: Any, world: dict[str, Any], content_type: str | None
) -> None:
    before = snapshot(http)
    headers = {"content-type": content_type} if content_type else {}
    response = http.post("/experiments", content=b'{"title": "x"}', headers=headers)
    assert_rejected(response, 422, "body")
    assert snapshot(http) == before


@pytest.mark.parametrize("raw", [b"[]", b'"experiment"', b"null", b"42", b""])
def test_non_object_body_is_422(http: Any, world: dict[str, Any], raw: bytes) -> None:
    before = snapshot(http)
    response = http.post("/experiments", content=raw, headers={"content-type": "application/json"})
    assert_rejected(response, 422, "body")
    assert snapshot(http) == before


ODD_IDS = [
    "%00",
    "..%2F..%2Fetc%2Fpasswd",
    "x" * 4000,
    "%C3%A9",
    "%FF",
    "%2e%2e",
    "a%20b",
    "'; DROP TABLE experiments; --",
]


@pytest.mark.parametrize("odd", ODD_IDS, ids=[o[:16] for o in ODD_IDS])
def test_odd_ids_in_paths_are_404(http: Any, world: dict[str, Any], odd: str) -> None:
    before = snapshot(http)
    for path in (f"/experiments/{odd}", f"/runs/{odd}", f"/assets/{odd}", f"/variations/{odd}"):
        response = http.get(path)
        assert_rejected(response, 404, "not found")
        # An id echoed back must not turn a 404 into a megabyte response.
        assert len(response.content) < 8192
    for path in (f"/experiments/{odd}/commit", f"/runs/{odd}/heartbeat"):
        assert_rejected(http.post(path), 404, "not found")
    assert snapshot(http) == before


# -- storage PUT bodies that don't match the registration -----------------------------------


def _presign(http: Any, run_id: str, data: bytes) -> tuple[str, str]:
    created = _ok(
        http.post(
            "/assets",
            json={
                "kind": "checkpoint",
                "name": "sized",
                "run_id": run_id,
                "presign": True,
                "components": [{"name": "blob", "size": len(data), "sha256": _sha(data)}],
            },
        )
    )
    return created["asset"]["id"], created["upload_urls"]["blob"]


def _storage_put(fake: FakeChronicle, url: str, data: bytes) -> Any:
    with _test_client(fake, role=None) as storage:
        return storage.put(url, content=data)


def test_storage_put_larger_than_registered_is_400_and_stores_nothing(
    fake: FakeChronicle, http: Any, world: dict[str, Any]
) -> None:
    data = b"0123456789"
    asset_id, url = _presign(http, world["run"]["id"], data)
    before = snapshot(http)
    response = _storage_put(fake, url, data + b"!")
    assert_rejected(response, 400, "registered size")
    assert snapshot(http) == before
    asset = _ok(http.get(f"/assets/{asset_id}"))
    assert asset["state"] == "pending"
    assert asset["components"][0]["uploaded"] is False
    assert_rejected(http.put(f"/assets/{asset_id}/finalize"), 409, "blob", "missing")
    # Nothing half-written blocks the honest retry.
    assert _storage_put(fake, url, data).status_code == 200
    assert _ok(http.put(f"/assets/{asset_id}/finalize"))["state"] == "ready"


@pytest.mark.parametrize(
    ("sent", "problem"),
    [(b"01234", "size"), (b"", "size"), (b"9876543210", "sha256")],
    ids=["shorter", "empty", "same-size-wrong-bytes"],
)
def test_storage_put_not_matching_registration_cannot_be_finalized(
    fake: FakeChronicle, http: Any, world: dict[str, Any], sent: bytes, problem: str
) -> None:
    """Storage can't know a stream is short until it ends; finalize is where it is refused."""
    data = b"0123456789"
    asset_id, url = _presign(http, world["run"]["id"], data)
    response = _storage_put(fake, url, sent)
    assert response.status_code in (200, 400), response.text
    before = snapshot(http)
    assert_rejected(http.put(f"/assets/{asset_id}/finalize"), 409, "blob", problem)
    assert snapshot(http) == before
    assert _ok(http.get(f"/assets/{asset_id}"))["state"] == "pending"
    # The component is offered again, and the right bytes then finalize.
    urls = _ok(http.post(f"/assets/{asset_id}/upload-urls"))["upload_urls"]
    assert list(urls) == ["blob"]
    assert _storage_put(fake, urls["blob"], data).status_code == 200
    assert _ok(http.put(f"/assets/{asset_id}/finalize"))["state"] == "ready"


# -- idempotency keys ---------------------------------------------------------------------


def test_idempotency_key_reused_with_other_parameters_is_400(
    http: Any, world: dict[str, Any]
) -> None:
    """A retried create returns the first result; a *different* create under the same key is refused."""
    key = {"Idempotency-Key": "hardening-reuse"}
    first = http.post("/experiments", json={"title": "first use"}, headers=key)
    assert first.status_code == 201, first.text
    again = http.post("/experiments", json={"title": "first use"}, headers=key)
    assert again.status_code == 201 and again.json()["id"] == first.json()["id"]
    before = snapshot(http)
    other = http.post("/experiments", json={"title": "something else"}, headers=key)
    assert_rejected(other, 400, "idempotency-key", "different")
    assert snapshot(http) == before
