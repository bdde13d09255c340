"""Every namespace method sends the bearer token and User-Agent, and only creating
calls send Idempotency-Key (when asked)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx2
import pytest

from methodic import Chronicle, __version__

from .scripted import API_KEY, ASSET, BASE_URL, EXPERIMENT, RUN, VARIATION

SHA = "c" * 64
PAGE = {"next_cursor": None}
CONFIG = {"run_id": "r1", "variation_id": "v1", "experiment_id": "e1"}
LINEAGE = {"root_id": "e1", "nodes": [], "edges": []}


def _payload(request: httpx2.Request) -> Any:
    method, path = request.method, request.url.path
    routes: list[tuple[str, str, Any]] = [
        ("GET", "/experiments", {**PAGE, "items": [EXPERIMENT]}),
        ("GET", "/lineage", LINEAGE),
        ("GET", "/variations", {**PAGE, "items": [VARIATION]}),
        ("POST", "/variations", VARIATION),
        ("GET", "/config", CONFIG),
        ("GET", "/checkpoint", ASSET),
        ("POST", "/runs", RUN),
        ("GET", "/runs", {**PAGE, "items": [RUN]}),
        ("POST", "/upload-urls", {"upload_urls": {}}),
        ("GET", "/download-urls", {"urls": {}}),
        ("GET", "/assets", {**PAGE, "items": [ASSET]}),
        ("GET", "/search", {"query": "q", "total": 0, "results": []}),
    ]
    for m, suffix, body in routes:
        if method == m and path.endswith(suffix):
            return body
    if path == "/assets" and method == "POST":
        return {"asset": ASSET, "upload_urls": {}} if b"presign" in request.content else ASSET
    if path.startswith("/assets"):
        return ASSET
    if path.startswith("/runs"):
        return RUN
    if path.startswith("/variations"):
        return VARIATION
    return {**EXPERIMENT, "variations": [], "run_counts": {}}


Call = Callable[[Chronicle], object]
CALLS: dict[str, Call] = {
    "experiments.create": lambda c: c.experiments.create("t"),
    "experiments.get": lambda c: c.experiments.get("e1"),
    "experiments.list": lambda c: c.experiments.list(),
    "experiments.update": lambda c: c.experiments.update("e1", title="t"),
    "experiments.commit": lambda c: c.experiments.commit("e1"),
    "experiments.conclude": lambda c: c.experiments.conclude("e1", conclusion="c"),
    "experiments.retract": lambda c: c.experiments.retract("e1", reason="r"),
    "experiments.lineage": lambda c: c.experiments.lineage("e1"),
    "variations.create": lambda c: c.variations.create("e1", config_json={"a": 1}),
    "variations.get": lambda c: c.variations.get("v1"),
    "variations.list": lambda c: c.variations.list("e1"),
    "runs.create": lambda c: c.runs.create("v1"),
    "runs.get": lambda c: c.runs.get("r1"),
    "runs.list": lambda c: c.runs.list(),
    "runs.config": lambda c: c.runs.config("r1"),
    "runs.start": lambda c: c.runs.start("r1"),
    "runs.heartbeat": lambda c: c.runs.heartbeat("r1"),
    "runs.succeed": lambda c: c.runs.succeed("r1"),
    "runs.fail": lambda c: c.runs.fail("r1", reason="crash"),
    "runs.checkpoint": lambda c: c.runs.checkpoint("r1"),
    "assets.create": lambda c: c.assets.create(
        kind="output", name="n", components=[{"name": "c", "size": 1, "sha256": SHA}]
    ),
    "assets.create_inline": lambda c: c.assets.create_inline(kind="k", name="n", content="x"),
    "assets.finalize": lambda c: c.assets.finalize("a1"),
    "assets.get": lambda c: c.assets.get("a1"),
    "assets.list": lambda c: c.assets.list(),
    "assets.upload_urls": lambda c: c.assets.upload_urls("a1"),
    "assets.download_urls": lambda c: c.assets.download_urls("a1"),
    "search.query": lambda c: c.search.query("q"),
}


@pytest.mark.parametrize("name", list(CALLS))
def test_bearer_and_user_agent_on_every_method(name: str) -> None:
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, json=_payload(request))

    with Chronicle(
        BASE_URL, API_KEY, http_client=httpx2.Client(transport=httpx2.MockTransport(handler))
    ) as c:
        CALLS[name](c)
    assert seen
    for request in seen:
        assert request.headers["Authorization"] == f"Bearer {API_KEY}"
        assert request.headers["User-Agent"] == f"methodic-python/{__version__}"
        assert "idempotency-key" not in request.headers


def test_every_public_namespace_method_is_covered() -> None:
    with Chronicle(BASE_URL, API_KEY) as c:
        spaces = {"experiments": c.experiments, "variations": c.variations, "runs": c.runs}
        spaces |= {"assets": c.assets, "search": c.search}
        public = {
            f"{space_name}.{attr}"
            for space_name, space in spaces.items()
            for attr in dir(space)
            if not attr.startswith("_")
        }
    assert public == set(CALLS)
