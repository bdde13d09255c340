"""Experiment state machine through the SDK: every legal and illegal transition."""

from __future__ import annotations

import pytest

from methodic import BadRequestError, Chronicle, ConflictError, NotFoundError
from methodic_fake import FakeChronicle

from .conftest import committed_variation


def test_create_returns_a_draft_with_the_given_fields(researcher: Chronicle) -> None:
    exp = researcher.experiments.create(
        "lr sweep", hypothesis="lower is better", description="d", tags=["a", "b", "a"]
    )
    assert exp.state == "draft"
    assert exp.title == "lr sweep"
    assert exp.hypothesis == "lower is better"
    assert exp.tags == ["a", "b"]
    assert exp.created_at.endswith("Z")
    assert exp.committed_at is None


def test_full_lifecycle_sets_each_timestamp(researcher: Chronicle) -> None:
    exp = researcher.experiments.create("t")
    committed = researcher.experiments.commit(exp.id)
    assert committed.state == "committed" and committed.committed_at
    concluded = researcher.experiments.conclude(exp.id, conclusion="it worked")
    assert concluded.state == "concluded" and concluded.conclusion == "it worked"
    assert concluded.concluded_at
    retracted = researcher.experiments.retract(exp.id, reason="bug in eval")
    assert retracted.state == "retracted"
    assert retracted.retraction_reason == "bug in eval" and retracted.retracted_at


def test_committed_experiment_can_be_retracted_directly(researcher: Chronicle) -> None:
    exp = researcher.experiments.create("t")
    researcher.experiments.commit(exp.id)
    assert researcher.experiments.retract(exp.id, reason="r").state == "retracted"


@pytest.mark.parametrize(
    ("setup", "action", "state"),
    [
        ([], "conclude", "draft"),
        ([], "retract", "draft"),
        (["commit"], "commit", "committed"),
        (["commit"], "update", "committed"),
        (["commit", "conclude"], "commit", "concluded"),
        (["commit", "conclude"], "conclude", "concluded"),
        (["commit", "retract"], "retract", "retracted"),
        (["commit", "retract"], "conclude", "retracted"),
        (["commit", "retract"], "commit", "retracted"),
    ],
)
def test_illegal_transitions_are_409_naming_the_state(
    researcher: Chronicle, setup: list[str], action: str, state: str
) -> None:
    exp = researcher.experiments.create("t")
    steps = {
        "commit": lambda: researcher.experiments.commit(exp.id),
        "conclude": lambda: researcher.experiments.conclude(exp.id, conclusion="c"),
        "retract": lambda: researcher.experiments.retract(exp.id, reason="r"),
        "update": lambda: researcher.experiments.update(exp.id, title="new"),
    }
    for step in setup:
        steps[step]()
    with pytest.raises(ConflictError) as info:
        steps[action]()
    assert info.value.status_code == 409
    assert f"it is {state}" in info.value.body["detail"]


def test_update_edits_a_draft(researcher: Chronicle) -> None:
    exp = researcher.experiments.create("old", tags=["x"])
    updated = researcher.experiments.update(exp.id, title="new", tags=["y"])
    assert (updated.title, updated.tags) == ("new", ["y"])
    assert researcher.experiments.get(exp.id).title == "new"


def test_conclude_refused_while_a_run_is_active(researcher: Chronicle) -> None:
    exp_id, variation_id = committed_variation(researcher)
    run = researcher.runs.create(variation_id)
    with pytest.raises(ConflictError) as info:
        researcher.experiments.conclude(exp_id, conclusion="c")
    # The one documented exception to the `(needs <states>)` form (docs/api.md).
    assert info.value.body["detail"] == (
        f"cannot conclude experiment {exp_id}: it is committed "
        "with 1 run(s) still pending or running"
    )
    researcher.runs.fail(run.id, reason="abandoned")
    assert researcher.experiments.conclude(exp_id, conclusion="c").state == "concluded"


def test_detail_lists_variations_and_run_counts(researcher: Chronicle) -> None:
    exp_id, variation_id = committed_variation(researcher)
    first = researcher.runs.create(variation_id)
    researcher.runs.create(variation_id)
    researcher.runs.start(first.id)
    detail = researcher.experiments.get(exp_id)
    assert [v.id for v in detail.variations] == [variation_id]
    assert detail.run_counts == {"running": 1, "pending": 1}


def test_unknown_ids_are_404(researcher: Chronicle) -> None:
    with pytest.raises(NotFoundError) as info:
        researcher.experiments.get("nope")
    assert info.value.body == {"detail": "experiment nope not found"}
    with pytest.raises(NotFoundError):
        researcher.experiments.commit("nope")
    with pytest.raises(NotFoundError):
        researcher.experiments.create("child", parent_ids=["missing"])


def test_malformed_bodies_are_422(fake: FakeChronicle) -> None:
    http = fake.http("researcher")
    response = http.post("/experiments", json={"hypothesis": "no title"})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail[0]["loc"] == ["body", "title"]
    assert {"loc", "msg", "type"} <= set(detail[0])
    with pytest.raises(BadRequestError):
        fake.client().experiments.create("")


def test_list_filters_by_state_tag_and_parent(researcher: Chronicle) -> None:
    parent = researcher.experiments.create("parent", tags=["base"])
    child = researcher.experiments.create("child", parent_ids=[parent.id], tags=["x"])
    researcher.experiments.commit(parent.id)
    assert [e.id for e in researcher.experiments.list(state="committed")] == [parent.id]
    assert [e.id for e in researcher.experiments.list(tag="x")] == [child.id]
    assert [e.id for e in researcher.experiments.list(parent_id=parent.id)] == [child.id]
