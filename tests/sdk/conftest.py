"""Fixtures for SDK unit tests: a scripted API and a Chronicle wired to it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest

from methodic import Chronicle

from .scripted import API_KEY, BASE_URL, ScriptedAPI


@pytest.fixture
def api() -> ScriptedAPI:
    return ScriptedAPI()


@pytest.fixture
def chronicle(api: ScriptedAPI) -> Iterator[Chronicle]:
    http = httpx2.Client(transport=httpx2.MockTransport(api.handler))
    with Chronicle(BASE_URL, API_KEY, http_client=http) as client:
        yield client
    http.close()
