"""The SDK against the real fake (loopback uvicorn): the flows the unit tests script."""

from __future__ import annotations

import hashlib

import pytest

from methodic import (
    Chronicle,
    ConflictError,
    Experiment,
    NotFoundError,
    PermissionDeniedError,
    Run,
    ServerError,
)
from methodic_fake import FakeChronicle


def test_researcher_chain_and_worker_lifecycle(methodic_fake: FakeChronicle) -> None:
    researcher = methodic_fake.client("researcher")
    exp = Experiment.create(researcher, "lr sweep", hypothesis="lower lr helps")
    variation = exp.commit().variations.create(config={"lr": 3e-4, "layers": [2, 4]})
    assert exp.state == "committed" and exp.committed_at is not None
    assert variation.config_json == {"lr": 3e-4, "layers": [2, 4]}
    pending = variation.runs.create()

    with Chronicle() as worker:  # CHRONICLE_* point at the fake, as a worker
        run = Run(worker, pending.id)
        assert run.get_variation_config().config_json["lr"] == 3e-4
        run.start().heartbeat(progress={"step": 1})
        assert run.state == "running" and run.progress == {"step": 1}
        assert run.environment is not None and "hostname" in run.environment
        assert run.succeed().state == "succeeded"
        with pytest.raises(PermissionDeniedError):
            worker.experiments.create("workers may not")
    assert exp.refresh().run_counts == {"succeeded": 1}


def test_errors_map_from_real_responses(methodic_fake: FakeChronicle) -> None:
    chronicle = methodic_fake.client("researcher")
    exp = chronicle.experiments.create("t")
    chronicle.experiments.commit(exp.id)
    with pytest.raises(ConflictError) as conflict:
        chronicle.experiments.commit(exp.id)
    assert conflict.value.request_id
    with pytest.raises(NotFoundError):
        chronicle.experiments.get("no-such-id")
    methodic_fake.search_configured = False
    with pytest.raises(ServerError) as unavailable:
        chronicle.search.query("anything")
    assert unavailable.value.status_code == 503


def test_list_follows_real_cursors(methodic_fake: FakeChronicle) -> None:
    chronicle = methodic_fake.client("researcher")
    made = [chronicle.experiments.create(f"e{i}", tags=["walk"]).id for i in range(5)]
    first = chronicle.experiments.list(tag="walk", limit=2)
    assert len(first.items) == 2 and first.has_next_page()
    walked = [e.id for e in first]
    assert sorted(walked) == sorted(made)
    pages = [[e.id for e in page.items] for page in first.iter_pages()]
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [i for p in pages for i in p] == walked


def test_presigned_upload_and_download(methodic_fake: FakeChronicle) -> None:
    chronicle = methodic_fake.client("researcher")
    exp = chronicle.experiments.create("assets")
    data = b"weights" * 1000
    presigned = chronicle.assets.create(
        kind="output",
        name="model",
        experiment_id=exp.id,
        components=[
            {"name": "w.bin", "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        ],
    )
    chronicle.transport.storage_request("PUT", presigned.upload_urls["w.bin"], content=data)
    assert chronicle.assets.finalize(presigned.asset.id).state == "ready"
    url = chronicle.assets.download_urls(presigned.asset.id)["w.bin"]
    with chronicle.transport.storage_stream("GET", url) as response:
        assert b"".join(response.iter_bytes()) == data


def test_reaped_run_learns_it_on_heartbeat(methodic_fake: FakeChronicle) -> None:
    researcher = methodic_fake.client("researcher")
    exp = researcher.experiments.create("watchdog")
    researcher.experiments.commit(exp.id)
    v = researcher.variations.create(exp.id, config_json={"a": 1})
    run = Run(methodic_fake.client("worker"), researcher.runs.create(v.id))
    run.start()
    methodic_fake.advance(minutes=16)
    with pytest.raises(ConflictError):
        run.heartbeat()
    assert run.state == "failed" and run.failure_reason == "heartbeat_timeout"
