"""Every committed cassette is safe to publish and together they cover the API."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from .hygiene import (
    all_interactions,
    documented_endpoints,
    error_detail,
    secret_problems,
    status_of,
    template_regex,
)
from .recorder import CASSETTE_DIR, load_cassette
from .scenarios import SCENARIOS

CASSETTES = sorted(CASSETTE_DIR.glob("*.yaml"))
SDK_MAPPED_STATUSES = {400, 401, 403, 404, 409, 422, 503}


def test_one_cassette_per_scenario() -> None:
    assert {p.stem for p in CASSETTES} == set(SCENARIOS)


@pytest.mark.parametrize("path", CASSETTES, ids=lambda p: p.name)
def test_cassette_holds_no_secret_or_bulk(path: Path) -> None:
    assert secret_problems(path) == []


@pytest.mark.parametrize("path", CASSETTES, ids=lambda p: p.name)
def test_cassette_says_where_it_was_recorded(path: Path) -> None:
    metadata = load_cassette(path).get("metadata") or {}
    assert metadata.get("scenario") == path.stem
    assert metadata.get("recorded_against")


def test_scanner_catches_planted_secrets(tmp_path: Path) -> None:
    planted = tmp_path / "planted.yaml"
    planted.write_text(
        "interactions:\n"
        "- request:\n"
        "    method: PUT\n"
        "    uri: http://127.0.0.1:8765/_storage/a/b?op=put&signature=deadbeef\n"
        "    body: null\n"
        "    headers:\n"
        "      authorization: [Bearer eyJhbGciOi.secret]\n"
        "      x-key: [sk_agent_123secret]\n"
        "  response:\n"
        "    status: {code: 200, message: OK}\n"
        "    headers: {}\n"
        f"    body: {{string: '{'x' * 20000}'}}\n"
    )
    problems = "\n".join(secret_problems(planted))
    for what in ("bearer token", "sk_ API key", "signature", "loopback host", "20000 bytes"):
        assert what in problems


def test_every_documented_endpoint_is_recorded() -> None:
    recorded = {
        (i["request"]["method"], urlsplit(i["request"]["uri"]).path)
        for _, i in all_interactions(CASSETTE_DIR)
    }
    missing = [
        f"{method} {template}"
        for method, template in documented_endpoints()
        if not any(m == method and template_regex(template).fullmatch(p) for m, p in recorded)
    ]
    assert missing == [], "endpoints no cassette exercises"


def test_every_mapped_error_status_is_recorded_with_detail() -> None:
    errors = [(name, i) for name, i in all_interactions(CASSETTE_DIR) if status_of(i) >= 400]
    assert {status_of(i) for _, i in errors} >= SDK_MAPPED_STATUSES
    assert [f"{n}: {i['request']['uri']}" for n, i in errors if error_detail(i) is None] == []


def test_storage_flow_is_recorded_without_a_bearer_token() -> None:
    storage = [
        i
        for _, i in all_interactions(CASSETTE_DIR)
        if "signature=scrubbed" in i["request"]["uri"].lower()
    ]
    methods = {i["request"]["method"] for i in storage}
    assert methods >= {"PUT", "GET"}
    assert all("authorization" not in i["request"]["headers"] for i in storage)
