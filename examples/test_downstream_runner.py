"""How a runner author tests their runner against the fake Chronicle.

Install `methodic[fake]` and the `methodic_fake` fixture is available in every test
(no conftest needed). The fixture points `CHRONICLE_BASE_URL` / `CHRONICLE_API_KEY`
at a fresh fake with a *worker* key, so the runner below uses a bare `Chronicle()`
exactly as it would in production. Set-up that a researcher would do in real life
goes through `methodic_fake.client("researcher")`.

Run with: pytest examples/test_downstream_runner.py
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

import pytest

from methodic import (
    Chronicle,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    Run,
    ServerError,
)

T = TypeVar("T")

# --- the "runner" under test (what a downstream project would ship) -------------------


def with_retries(call: Callable[[], T], attempts: int = 3) -> T:
    """The SDK does not retry; runners wrap calls that may meet a transient 5xx."""
    for attempt in range(attempts):
        try:
            return call()
        except ServerError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


def train(
    run_id: str, steps: int = 3, between_steps: Callable[[int], None] = lambda _: None
) -> str:
    """A toy training loop: resume if possible, heartbeat each step, report the outcome."""
    with Chronicle() as chronicle:  # CHRONICLE_BASE_URL / CHRONICLE_API_KEY from the env
        run = Run(chronicle, run_id)
        config = run.get_variation_config().config_json
        try:
            resume = chronicle.runs.checkpoint(run_id)
            start_step = int(resume.metadata["step"])
        except NotFoundError:
            start_step = 0
        run.start(environment={"runner": "toy"})
        loss = 1.0
        for step in range(start_step, start_step + steps):
            loss *= 1 - config["lr"]
            between_steps(step)
            try:
                with_retries(partial(run.heartbeat, progress={"step": step, "loss": loss}))
            except ConflictError:
                return "reaped"  # the server's watchdog failed the run: stop working
            chronicle.assets.create_inline(
                kind="checkpoint",
                name=f"step-{step + 1}",
                content=json.dumps({"loss": loss}),
                content_type="application/json",
                run_id=run_id,
                metadata={"step": step + 1},
            )
        run.succeed()
        return "succeeded"


# --- the runner author's tests ------------------------------------------------------------


@pytest.fixture
def new_run(methodic_fake: Any) -> Callable[..., str]:
    """Create a committed experiment/variation and return a factory for its runs."""
    researcher = methodic_fake.client("researcher")
    exp = researcher.experiments.create("toy sweep")
    researcher.experiments.commit(exp.id)
    variation = researcher.variations.create(exp.id, config_yaml="lr: 0.5\n")

    def make(**kwargs: Any) -> str:
        return str(researcher.runs.create(variation.id, **kwargs).id)

    return make


def test_runner_completes_a_run(methodic_fake: Any, new_run: Callable[..., str]) -> None:
    run_id = new_run()
    assert train(run_id) == "succeeded"

    researcher = methodic_fake.client("researcher")
    run = researcher.runs.get(run_id)
    assert run.state == "succeeded"
    assert run.progress == {"step": 2, "loss": 0.125}
    checkpoints = researcher.assets.list(run_id=run_id, kind="checkpoint")
    assert [a.name for a in checkpoints] == ["step-3", "step-2", "step-1"]  # newest first


def test_runner_resumes_from_the_crashed_runs_checkpoint(
    methodic_fake: Any, new_run: Callable[..., str]
) -> None:
    first = new_run()
    researcher = methodic_fake.client("researcher")

    def crash_after_two_steps(step: int) -> None:
        if step == 2:
            raise RuntimeError("OOM")

    with pytest.raises(RuntimeError):
        train(first, between_steps=crash_after_two_steps)
    researcher.runs.fail(first, reason="crash", message="OOM")

    second = new_run(resume_from_run_id=first)
    assert train(second) == "succeeded"
    assert researcher.runs.get(second).progress["step"] == 4  # resumed at step 2


def test_runner_stops_when_the_watchdog_reaped_it(
    methodic_fake: Any, new_run: Callable[..., str]
) -> None:
    run_id = new_run()
    # A step that takes longer than the 15-minute heartbeat window.
    outcome = train(run_id, between_steps=lambda step: methodic_fake.advance(minutes=16))
    assert outcome == "reaped"
    run = methodic_fake.client("researcher").runs.get(run_id)
    assert (run.state, run.failure_reason) == ("failed", "heartbeat_timeout")


def test_runner_rides_out_transient_server_errors(
    methodic_fake: Any, new_run: Callable[..., str]
) -> None:
    methodic_fake.faults.add("runs.heartbeat", "status", status=503, times=2)
    assert train(new_run()) == "succeeded"


def test_runner_needs_no_researcher_powers(methodic_fake: Any) -> None:
    # The fixture hands runners a worker key, as production does.
    with Chronicle() as chronicle, pytest.raises(PermissionDeniedError):
        chronicle.experiments.create("runners do not create experiments")
