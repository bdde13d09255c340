"""chronicle.runs: lifecycle calls, config, checkpoint, listing."""

from __future__ import annotations

import httpx2
import pytest

from methodic import Chronicle, NotFoundError, types

from .scripted import ASSET, RUN, ScriptedAPI, body_of


def test_create(api: ScriptedAPI, chronicle: Chronicle) -> None:
    api.route("POST", "/variations/v1/runs", status=201, json=RUN)
    run = chronicle.runs.create("v1")
    assert isinstance(run, types.Run) and run.state == "pending"
    assert body_of(api.last) == {}
    assert "idempotency-key" not in api.last.headers
    chronicle.runs.create("v1", resume_from_run_id="r0", idempotency_key="k9")
    assert body_of(api.last) == {"resume_from_run_id": "r0"}
    assert api.last.headers["Idempotency-Key"] == "k9"


def test_get(api: ScriptedAPI, chronicle: Chronicle) -> None:
    reaped = {**RUN, "state": "failed", "failure_reason": "heartbeat_timeout"}
    api.route("GET", "/runs/r1", json=reaped)
    assert chronicle.runs.get("r1").failure_reason == "heartbeat_timeout"


def test_list_is_one_page_that_iterates_all(api: ScriptedAPI, chronicle: Chronicle) -> None:
    pages = {
        None: {"items": [RUN], "next_cursor": "n"},
        "n": {"items": [{**RUN, "id": "r2"}], "next_cursor": None},
    }
    api.route(
        "GET", "/runs", reply=lambda r: httpx2.Response(200, json=pages[r.url.params.get("cursor")])
    )
    page = chronicle.runs.list(variation_id="v1", experiment_id="e1", state="running", limit=5)
    assert [r.id for r in page.items] == ["r1"]
    assert dict(api.last.url.params) == {
        "variation_id": "v1",
        "experiment_id": "e1",
        "state": "running",
        "limit": "5",
    }
    assert [r.id for r in chronicle.runs.list(variation_id="v1")] == ["r1", "r2"]
    assert dict(api.last.url.params) == {"variation_id": "v1", "cursor": "n"}


def test_config(api: ScriptedAPI, chronicle: Chronicle) -> None:
    api.route(
        "GET",
        "/runs/r1/config",
        json={
            "run_id": "r1",
            "variation_id": "v1",
            "experiment_id": "e1",
            "config_json": {"lr": 0.1},
            "launch_config": {"gpus": 2},
        },
    )
    config = chronicle.runs.config("r1")
    assert isinstance(config, types.VariationConfig)
    assert config.config_json == {"lr": 0.1} and config.accelerate_config_json is None


def test_start(api: ScriptedAPI, chronicle: Chronicle) -> None:
    api.route("POST", "/runs/r1/start", json={**RUN, "state": "running"})
    assert chronicle.runs.start("r1", environment={"python": "3.11"}).state == "running"
    assert body_of(api.last) == {"environment": {"python": "3.11"}}
    chronicle.runs.start("r1")
    assert body_of(api.last) == {}


def test_heartbeat(api: ScriptedAPI, chronicle: Chronicle) -> None:
    api.route("POST", "/runs/r1/heartbeat", json={**RUN, "state": "running"})
    chronicle.runs.heartbeat("r1", progress={"step": 10})
    assert body_of(api.last) == {"progress": {"step": 10}}
    chronicle.runs.heartbeat("r1")
    assert body_of(api.last) == {}


def test_succeed(api: ScriptedAPI, chronicle: Chronicle) -> None:
    api.route("POST", "/runs/r1/succeed", json={**RUN, "state": "succeeded"})
    assert chronicle.runs.succeed("r1").state == "succeeded"
    assert api.last.content == b""


@pytest.mark.parametrize("reason", ["crash", "abandoned"])
def test_fail(api: ScriptedAPI, chronicle: Chronicle, reason: str) -> None:
    api.route("POST", "/runs/r1/fail", json={**RUN, "state": "failed", "failure_reason": reason})
    run = chronicle.runs.fail("r1", reason=reason, message="boom")  # type: ignore[arg-type]
    assert run.failure_reason == reason
    assert body_of(api.last) == {"reason": reason, "message": "boom"}
    chronicle.runs.fail("r1", reason=reason)  # type: ignore[arg-type]
    assert body_of(api.last) == {"reason": reason}


def test_checkpoint(api: ScriptedAPI, chronicle: Chronicle) -> None:
    api.route("GET", "/runs/r1/checkpoint", json={**ASSET, "kind": "checkpoint", "state": "ready"})
    assert chronicle.runs.checkpoint("r1").kind == "checkpoint"
    api.route("GET", "/runs/r2/checkpoint", status=404, json={"detail": "no checkpoint"})
    with pytest.raises(NotFoundError):
        chronicle.runs.checkpoint("r2")
