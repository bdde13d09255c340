"""Copied into an empty temp dir (as a test file) and run with the pytest of a fresh venv
holding ``methodic[fake]``. There is no conftest and no source checkout on the path, so
the ``methodic_fake`` fixture can only come from the wheel's ``pytest11`` entry point.
"""

from __future__ import annotations

import importlib.metadata
import os
from typing import Any

import pytest


def test_methodic_fake_fixture_comes_from_the_installed_entry_point(
    methodic_fake: Any, request: pytest.FixtureRequest
) -> None:
    declared = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="pytest11")}
    assert declared.get("methodic_fake") == "methodic_fake.pytest_plugin"

    # pytest registers entry-point plugins under the entry point's name.
    plugin = request.config.pluginmanager.get_plugin("methodic_fake")
    assert plugin is not None, "the pytest11 entry point was not loaded"
    assert plugin.__name__ == "methodic_fake.pytest_plugin"
    assert plugin.__file__ is not None and "site-packages" in plugin.__file__

    assert type(methodic_fake).__module__.split(".", 1)[0] == "methodic_fake"


def test_installed_sdk_round_trips_through_the_installed_fake(methodic_fake: Any) -> None:
    # A real HTTP exchange on loopback: the wheel's SDK against the wheel's fake, which
    # proves the [fake] extra pulls in everything the server needs.
    from methodic import Chronicle

    researcher = methodic_fake.client("researcher")
    created = researcher.experiments.create("wheel smoke test")
    assert researcher.experiments.get(created.id).title == "wheel smoke test"

    # The fixture points a bare Chronicle() (env configuration) at the fake.
    assert os.environ["CHRONICLE_BASE_URL"] == methodic_fake.base_url
    with Chronicle() as worker:
        assert worker.base_url.rstrip("/") == methodic_fake.base_url.rstrip("/")


def test_installed_fake_serves_its_dashboard_and_offline_docs(methodic_fake: Any) -> None:
    # Templates, scripts and styles are package data, and Swagger UI comes with the
    # [fake] extra: a wheel missing any of them would render blank pages.
    import urllib.request

    researcher = methodic_fake.client("researcher")
    researcher.experiments.create("shown on the dashboard")
    for path, expected in [
        ("/_fake/ui/", "shown on the dashboard"),
        ("/_fake/ui/static/dashboard.js", "data-live"),
        ("/_fake/ui/static/dashboard.css", "system-ui"),
        ("/docs", "/docs/static/swagger-ui-bundle.js"),
        ("/docs/static/swagger-ui-bundle.js", "SwaggerUIBundle"),
    ]:
        with urllib.request.urlopen(methodic_fake.base_url + path, timeout=10) as response:
            assert expected in response.read().decode("utf-8"), path
