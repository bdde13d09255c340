"""Idempotency-Key on the three creating calls."""

from __future__ import annotations

import hashlib

from methodic import Chronicle
from methodic_fake import FakeChronicle

from .conftest import committed_variation


def test_experiment_create_replays_the_first_response(researcher: Chronicle) -> None:
    first = researcher.experiments.create("once", idempotency_key="k1")
    again = researcher.experiments.create("once", idempotency_key="k1")
    assert again.id == first.id and again.created_at == first.created_at
    assert len(researcher.experiments.list()) == 1
    other = researcher.experiments.create("once", idempotency_key="k2")
    assert other.id != first.id


def test_keys_are_scoped_per_principal(fake: FakeChronicle) -> None:
    researcher, agent = fake.client("researcher"), fake.client("agent")
    mine = researcher.experiments.create("r", idempotency_key="shared")
    theirs = agent.experiments.create("a", idempotency_key="shared")
    assert mine.id != theirs.id


def test_run_create_replays(researcher: Chronicle) -> None:
    _, variation_id = committed_variation(researcher)
    first = researcher.runs.create(variation_id, idempotency_key="run-1")
    again = researcher.runs.create(variation_id, idempotency_key="run-1")
    assert again.id == first.id
    assert len(researcher.runs.list(variation_id=variation_id)) == 1


def test_asset_create_replays_presigned_and_inline(
    researcher: Chronicle, worker: Chronicle
) -> None:
    _, variation_id = committed_variation(researcher)
    run = researcher.runs.create(variation_id)
    data = b"abc"
    spec = [{"name": "a.bin", "size": 3, "sha256": hashlib.sha256(data).hexdigest()}]
    first = worker.assets.create(
        kind="output", name="o", run_id=run.id, components=spec, idempotency_key="asset-1"
    )
    again = worker.assets.create(
        kind="output", name="o", run_id=run.id, components=spec, idempotency_key="asset-1"
    )
    assert again.asset.id == first.asset.id
    inline = worker.assets.create_inline(
        kind="environment", name="env", content="pip freeze", run_id=run.id, idempotency_key="i"
    )
    inline_again = worker.assets.create_inline(
        kind="environment", name="env", content="pip freeze", run_id=run.id, idempotency_key="i"
    )
    assert inline_again.id == inline.id
    assert len(worker.assets.list(run_id=run.id)) == 2


def test_failed_creates_are_not_remembered(researcher: Chronicle) -> None:
    import pytest

    from methodic import NotFoundError

    with pytest.raises(NotFoundError):
        researcher.experiments.create("child", parent_ids=["missing"], idempotency_key="k")
    created = researcher.experiments.create("now fine", idempotency_key="k")
    assert created.title == "now fine"
