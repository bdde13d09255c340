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
    assert len(researcher.experiments.list().items) == 1
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
    assert len(researcher.runs.list(variation_id=variation_id).items) == 1


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
    assert len(worker.assets.list(run_id=run.id).items) == 2


def test_failed_creates_are_not_remembered(researcher: Chronicle) -> None:
    import pytest

    from methodic import NotFoundError

    with pytest.raises(NotFoundError):
        researcher.experiments.create("child", parent_ids=["missing"], idempotency_key="k")
    created = researcher.experiments.create("now fine", idempotency_key="k")
    assert created.title == "now fine"


def _reused(response: object) -> None:
    import httpx2

    assert isinstance(response, httpx2.Response)
    assert response.status_code == 400, response.text
    assert response.json() == {
        "detail": "Idempotency-Key 'same' was used with different parameters"
    }


def test_a_key_reused_with_another_body_is_400(fake: FakeChronicle) -> None:
    http = fake.http()
    headers = {"Idempotency-Key": "same"}
    first = http.post("/experiments", json={"title": "one"}, headers=headers)
    assert first.status_code == 201
    _reused(http.post("/experiments", json={"title": "two"}, headers=headers))
    # Unknown fields are ignored on the wire, so they do not make a request different.
    again = http.post("/experiments", json={"title": "one", "future": 1}, headers=headers)
    assert again.json() == first.json()
    assert len(fake.client().experiments.list().items) == 1


def test_a_key_reused_on_another_variation_is_400(fake: FakeChronicle) -> None:
    researcher = fake.client()
    exp_id, variation_id = committed_variation(researcher)
    other = researcher.variations.create(exp_id, config_json={"lr": 1}).id
    http = fake.http()
    headers = {"Idempotency-Key": "same"}
    assert http.post(f"/variations/{variation_id}/runs", headers=headers).status_code == 201
    _reused(http.post(f"/variations/{other}/runs", headers=headers))
    assert researcher.runs.list(variation_id=other).items == []


def test_the_parameters_check_survives_a_restart(tmp_path: object) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    headers = {"Idempotency-Key": "same"}
    with FakeChronicle.in_process(data_dir=tmp_path) as fake:
        assert fake.http().post("/experiments", json={"title": "a"}, headers=headers).is_success
    with FakeChronicle.in_process(data_dir=tmp_path) as fake:
        _reused(fake.http().post("/experiments", json={"title": "b"}, headers=headers))
