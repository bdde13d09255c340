"""Run handle: lifecycle calls return self and invalidate; environment snapshot."""

from __future__ import annotations

import os

import httpx2
import pytest

from methodic import Chronicle, Run, __version__, types
from methodic.run import environment_snapshot

from .scripted import RUN, ScriptedAPI, body_of


@pytest.fixture(autouse=True)
def _routes(api: ScriptedAPI) -> None:
    state = {"run": dict(RUN)}

    def transition(new_state: str):  # type: ignore[no-untyped-def]
        def reply(_req: httpx2.Request) -> httpx2.Response:
            state["run"] = {**state["run"], "state": new_state}
            return httpx2.Response(200, json=state["run"])

        return reply

    api.route("GET", "/runs/r1", reply=lambda _r: httpx2.Response(200, json=state["run"]))
    api.route("POST", "/runs/r1/start", reply=transition("running"))
    api.route("POST", "/runs/r1/heartbeat", reply=transition("running"))
    api.route("POST", "/runs/r1/succeed", reply=transition("succeeded"))
    api.route("POST", "/runs/r1/fail", reply=transition("failed"))
    api.route(
        "GET",
        "/runs/r1/config",
        json={"run_id": "r1", "variation_id": "v1", "experiment_id": "e1", "config_json": {}},
    )


def test_lifecycle_chains_and_refetches(api: ScriptedAPI, chronicle: Chronicle) -> None:
    run = Run(chronicle, "r1")
    assert run.state == "pending"
    assert run.start(environment={"python": "3"}) is run
    assert body_of(api.last) == {"environment": {"python": "3"}}
    assert run.state == "running"
    assert run.heartbeat({"step": 5}).heartbeat() is run
    assert body_of(api.last) == {}
    assert run.succeed().state == "succeeded"
    assert api.count("GET", "/runs/r1") == 3


def test_fail_defaults_to_crash(api: ScriptedAPI, chronicle: Chronicle) -> None:
    run = Run(chronicle, "r1")
    assert run.fail() is run
    assert body_of(api.last) == {"reason": "crash"}
    assert run.state == "failed"
    run.fail("abandoned", "user cancelled")
    assert body_of(api.last) == {"reason": "abandoned", "message": "user cancelled"}


def test_start_sends_environment_snapshot(api: ScriptedAPI, chronicle: Chronicle) -> None:
    Run(chronicle, "r1").start()
    env = body_of(api.last)["environment"]
    assert set(env) == {"python", "implementation", "platform", "hostname", "methodic"}
    assert env["methodic"] == __version__


def test_snapshot_never_holds_environment_variable_values(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MY_SECRET_TOKEN", "canary-env-value-123")
    text = repr(environment_snapshot())
    assert "canary-env-value-123" not in text
    assert not any(v in text for v in os.environ.values() if len(v) > 12 and "/" not in v)


def test_get_variation_config(api: ScriptedAPI, chronicle: Chronicle) -> None:
    config = Run(chronicle, "r1").get_variation_config()
    assert isinstance(config, types.VariationConfig) and config.run_id == "r1"


def test_tracker_is_kept_and_related_handles(chronicle: Chronicle) -> None:
    marker = object()
    run = Run(chronicle, types.Run.from_dict(RUN), tracker=marker)
    assert run._tracker is marker
    assert run.variation.id == "v1" and run.experiment.id == "e1"
    assert repr(run) == "<Run id='r1' state='pending'>"
