"""Run state machine through the SDK: legal paths, every illegal transition, config."""

from __future__ import annotations

import pytest

from methodic import BadRequestError, Chronicle, ConflictError, NotFoundError
from methodic_fake import FakeChronicle

from .conftest import committed_variation


def test_happy_path_pending_running_succeeded(researcher: Chronicle, worker: Chronicle) -> None:
    _, variation_id = committed_variation(researcher)
    run = researcher.runs.create(variation_id)
    assert run.state == "pending" and run.started_at is None
    started = worker.runs.start(run.id, environment={"python": "3.11"})
    assert started.state == "running"
    assert started.started_at == started.last_heartbeat_at
    assert started.environment == {"python": "3.11"}
    beat = worker.runs.heartbeat(run.id, progress={"step": 10, "phase": "train"})
    assert beat.progress == {"step": 10, "phase": "train"}
    assert beat.last_heartbeat_at >= started.last_heartbeat_at
    done = worker.runs.succeed(run.id)
    assert done.state == "succeeded" and done.finished_at
    assert done.failure_reason is None


@pytest.mark.parametrize("reason", ["abandoned", "crash"])
def test_fail_from_pending_and_running(
    researcher: Chronicle, worker: Chronicle, reason: str
) -> None:
    _, variation_id = committed_variation(researcher)
    pending = researcher.runs.create(variation_id)
    failed = worker.runs.fail(pending.id, reason=reason, message="why")
    assert (failed.state, failed.failure_reason, failed.failure_message) == (
        "failed",
        reason,
        "why",
    )
    running = researcher.runs.create(variation_id)
    worker.runs.start(running.id)
    assert worker.runs.fail(running.id, reason=reason).state == "failed"


def test_unknown_fail_reason_is_422(researcher: Chronicle, fake: FakeChronicle) -> None:
    _, variation_id = committed_variation(researcher)
    run = researcher.runs.create(variation_id)
    with pytest.raises(BadRequestError) as info:
        researcher.runs.fail(run.id, reason="heartbeat_timeout")
    assert info.value.status_code == 422
    assert researcher.runs.get(run.id).state == "pending"


@pytest.mark.parametrize(
    ("setup", "action", "state"),
    [
        ([], "heartbeat", "pending"),
        ([], "succeed", "pending"),
        (["start"], "start", "running"),
        (["start", "succeed"], "start", "succeeded"),
        (["start", "succeed"], "heartbeat", "succeeded"),
        (["start", "succeed"], "succeed", "succeeded"),
        (["start", "succeed"], "fail", "succeeded"),
        (["fail"], "start", "failed"),
        (["fail"], "heartbeat", "failed"),
        (["fail"], "succeed", "failed"),
        (["fail"], "fail", "failed"),
    ],
)
def test_illegal_transitions_are_409_naming_the_state(
    researcher: Chronicle, worker: Chronicle, setup: list[str], action: str, state: str
) -> None:
    _, variation_id = committed_variation(researcher)
    run = researcher.runs.create(variation_id)
    steps = {
        "start": lambda: worker.runs.start(run.id),
        "heartbeat": lambda: worker.runs.heartbeat(run.id),
        "succeed": lambda: worker.runs.succeed(run.id),
        "fail": lambda: worker.runs.fail(run.id, reason="crash"),
    }
    for step in setup:
        steps[step]()
    with pytest.raises(ConflictError) as info:
        steps[action]()
    assert f"it is {state}" in info.value.body["detail"]


@pytest.mark.parametrize("close", ["draft", "concluded", "retracted"])
def test_runs_need_a_committed_experiment(researcher: Chronicle, close: str) -> None:
    exp = researcher.experiments.create("t")
    variation = researcher.variations.create(exp.id, config_json={"a": 1})
    if close != "draft":
        researcher.experiments.commit(exp.id)
        if close == "concluded":
            researcher.experiments.conclude(exp.id, conclusion="c")
        else:
            researcher.experiments.retract(exp.id, reason="r")
    with pytest.raises(ConflictError) as info:
        researcher.runs.create(variation.id)
    assert f"it is {close}" in info.value.body["detail"]


def test_config_returns_the_variation_configs(researcher: Chronicle, worker: Chronicle) -> None:
    exp = researcher.experiments.create("t")
    researcher.experiments.commit(exp.id)
    variation = researcher.variations.create(
        exp.id,
        config_yaml="lr: 0.001\nlayers: [1, 2]\n",
        accelerate_config_json={"mixed_precision": "bf16"},
        launch_config={"gpus": 8},
    )
    run = researcher.runs.create(variation.id)
    config = worker.runs.config(run.id)
    assert config.run_id == run.id and config.experiment_id == exp.id
    assert config.config_json == {"lr": 0.001, "layers": [1, 2]}
    assert config.accelerate_config_json == {"mixed_precision": "bf16"}
    assert config.launch_config == {"gpus": 8}


def test_list_filters_and_404s(researcher: Chronicle) -> None:
    exp_id, variation_id = committed_variation(researcher)
    first = researcher.runs.create(variation_id)
    second = researcher.runs.create(variation_id)
    researcher.runs.start(second.id)
    assert [r.id for r in researcher.runs.list(variation_id=variation_id)] == [second.id, first.id]
    assert [r.id for r in researcher.runs.list(experiment_id=exp_id, state="running")] == [
        second.id
    ]
    with pytest.raises(NotFoundError):
        researcher.runs.get("missing")
    with pytest.raises(NotFoundError):
        researcher.runs.create("missing-variation")
    with pytest.raises(NotFoundError):
        researcher.runs.create(variation_id, resume_from_run_id="missing-run")


# -- GET /runs/{id}/checkpoint: what a run resumes from ----------------------------------


def _checkpoint(worker: Chronicle, run_id: str, name: str) -> str:
    return worker.assets.create_inline(kind="checkpoint", name=name, content=name, run_id=run_id).id


def test_checkpoint_is_the_runs_own_newest_after_a_restart(
    researcher: Chronicle, worker: Chronicle
) -> None:
    _, variation_id = committed_variation(researcher)
    first = researcher.runs.create(variation_id)
    worker.runs.start(first.id)
    with pytest.raises(NotFoundError, match=f"no ready checkpoint to resume run {first.id}"):
        worker.runs.checkpoint(first.id)
    _checkpoint(worker, first.id, "step-1")
    newer = _checkpoint(worker, first.id, "step-2")
    worker.assets.create(  # pending: never resumed from
        kind="checkpoint",
        name="step-3",
        run_id=first.id,
        components=[{"name": "m", "size": 1, "sha256": "0" * 64}],
    )
    worker.assets.create_inline(
        kind="output", name="not a checkpoint", content="x", run_id=first.id
    )

    assert worker.runs.checkpoint(first.id).id == newer


def test_checkpoint_prefers_the_runs_own_over_its_predecessors(
    researcher: Chronicle, worker: Chronicle
) -> None:
    _, variation_id = committed_variation(researcher)
    first = researcher.runs.create(variation_id)
    worker.runs.start(first.id)
    inherited = _checkpoint(worker, first.id, "step-100")
    worker.runs.fail(first.id, reason="crash")
    resumed = researcher.runs.create(variation_id, resume_from_run_id=first.id)
    worker.runs.start(resumed.id)

    assert worker.runs.checkpoint(resumed.id).id == inherited
    own = _checkpoint(worker, resumed.id, "step-150")
    _checkpoint(worker, first.id, "step-101")  # newer, but the predecessor's
    assert worker.runs.checkpoint(resumed.id).id == own


def test_checkpoint_follows_the_resume_chain_past_runs_that_saved_none(
    researcher: Chronicle, worker: Chronicle
) -> None:
    _, variation_id = committed_variation(researcher)
    first = researcher.runs.create(variation_id)
    worker.runs.start(first.id)
    saved = _checkpoint(worker, first.id, "step-100")
    second = researcher.runs.create(variation_id, resume_from_run_id=first.id)  # saved nothing
    third = researcher.runs.create(variation_id, resume_from_run_id=second.id)

    assert worker.runs.checkpoint(third.id).id == saved


def test_checkpoint_never_falls_back_to_a_sibling_run(
    researcher: Chronicle, worker: Chronicle
) -> None:
    """A second seed of a variation must not start from the first seed's weights."""
    _, variation_id = committed_variation(researcher)
    first = researcher.runs.create(variation_id)
    worker.runs.start(first.id)
    _checkpoint(worker, first.id, "step-100")
    worker.runs.succeed(first.id)
    sibling = researcher.runs.create(variation_id)
    unrelated = researcher.runs.create(variation_id)
    resumed_sibling = researcher.runs.create(variation_id, resume_from_run_id=unrelated.id)

    for run_id in (sibling.id, resumed_sibling.id):
        with pytest.raises(NotFoundError, match=f"no ready checkpoint to resume run {run_id}"):
            worker.runs.checkpoint(run_id)


def test_checkpoint_of_an_unknown_run_is_404(worker: Chronicle) -> None:
    with pytest.raises(NotFoundError, match="run"):
        worker.runs.checkpoint("nope")
