"""Assets through the SDK: presign -> PUT -> finalize, inline, upload/download URLs."""

from __future__ import annotations

import hashlib
import json

import pytest

from methodic import (
    BadRequestError,
    Chronicle,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
)
from methodic_fake import FakeChronicle

from .conftest import committed_variation


def spec(name: str, data: bytes) -> dict[str, object]:
    return {"name": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def running_run(researcher: Chronicle, worker: Chronicle) -> str:
    _, variation_id = committed_variation(researcher)
    run = researcher.runs.create(variation_id)
    worker.runs.start(run.id)
    return run.id


def test_presign_put_finalize_download(researcher: Chronicle, worker: Chronicle) -> None:
    run_id = running_run(researcher, worker)
    parts = {"model.safetensors": b"\x00" * 70_000, "config.json": b'{"a": 1}'}
    created = worker.assets.create(
        kind="checkpoint",
        name="step-100",
        run_id=run_id,
        metadata={"step": 100},
        components=[{**spec(n, d), "content_type": "application/json"} for n, d in parts.items()],
    )
    asset = created.asset
    assert asset.state == "pending" and asset.run_id == run_id
    assert asset.experiment_id is not None
    assert set(created.upload_urls) == set(parts)
    assert all(not c.uploaded for c in asset.components)
    for name, data in parts.items():
        worker.transport.storage_request("PUT", created.upload_urls[name], content=data)
    assert all(c.uploaded for c in worker.assets.get(asset.id).components)
    ready = worker.assets.finalize(asset.id)
    assert ready.state == "ready" and ready.finalized_at
    urls = worker.assets.download_urls(asset.id)
    for name, data in parts.items():
        assert worker.transport.storage_request("GET", urls[name]).content == data


def test_streamed_upload_in_chunks(researcher: Chronicle, worker: Chronicle) -> None:
    run_id = running_run(researcher, worker)
    data = bytes(range(256)) * 4096  # 1 MiB
    created = worker.assets.create(
        kind="output", name="big", run_id=run_id, components=[spec("blob", data)]
    )
    chunks = (data[i : i + 65536] for i in range(0, len(data), 65536))
    worker.transport.storage_request(
        "PUT",
        created.upload_urls["blob"],
        content=chunks,
        headers={"Content-Length": str(len(data))},
    )
    assert worker.assets.finalize(created.asset.id).state == "ready"


def test_finalize_lists_missing_and_mismatched(researcher: Chronicle, worker: Chronicle) -> None:
    run_id = running_run(researcher, worker)
    good, wrong_bytes, short = b"good", b"AAAA", b"full length"
    created = worker.assets.create(
        kind="output",
        name="o",
        run_id=run_id,
        components=[
            spec("good", good),
            spec("sha", wrong_bytes),
            spec("size", short),
            spec("gone", b"x"),
        ],
    )
    urls = created.upload_urls
    put = worker.transport.storage_request
    put("PUT", urls["good"], content=good)
    put("PUT", urls["sha"], content=b"BBBB")  # same size, other bytes
    put("PUT", urls["size"], content=b"full")  # fewer bytes than registered
    with pytest.raises(ConflictError) as info:
        worker.assets.finalize(created.asset.id)
    detail = info.value.body["detail"]
    assert "it is pending" in detail and "3 component(s)" in detail
    assert "gone: missing" in detail
    assert "size: size 4 != registered 11" in detail
    assert f"sha: sha256 {hashlib.sha256(b'BBBB').hexdigest()}" in detail
    assert "good" not in detail.split("match:")[1]
    # Only the components that still need bytes get fresh URLs.
    assert set(worker.assets.upload_urls(created.asset.id)) == {"sha", "size", "gone"}


def test_finalize_is_idempotent_on_a_ready_asset(researcher: Chronicle, worker: Chronicle) -> None:
    run_id = running_run(researcher, worker)
    data = b"payload"
    created = worker.assets.create(
        kind="output", name="o", run_id=run_id, components=[spec("p", data)]
    )
    worker.transport.storage_request("PUT", created.upload_urls["p"], content=data)
    first = worker.assets.finalize(created.asset.id)
    again = worker.assets.finalize(created.asset.id)
    assert again.to_dict() == first.to_dict()


def test_upload_urls_are_fresh_and_409_once_ready(
    fake: FakeChronicle, researcher: Chronicle, worker: Chronicle
) -> None:
    run_id = running_run(researcher, worker)
    data = b"x" * 10
    created = worker.assets.create(
        kind="output", name="o", run_id=run_id, components=[spec("a", data)]
    )
    fake.advance(hours=2)  # the first URL has expired
    fresh = worker.assets.upload_urls(created.asset.id)["a"]
    worker.transport.storage_request("PUT", fresh, content=data)
    assert worker.assets.upload_urls(created.asset.id) == {}
    worker.assets.finalize(created.asset.id)
    with pytest.raises(ConflictError) as info:
        worker.assets.upload_urls(created.asset.id)
    assert "it is ready" in info.value.body["detail"]


def test_download_urls_need_a_ready_asset(researcher: Chronicle, worker: Chronicle) -> None:
    run_id = running_run(researcher, worker)
    created = worker.assets.create(
        kind="output", name="o", run_id=run_id, components=[spec("a", b"1")]
    )
    with pytest.raises(ConflictError) as info:
        worker.assets.download_urls(created.asset.id)
    assert "it is pending" in info.value.body["detail"]


def test_inline_assets_are_ready_at_once(researcher: Chronicle, worker: Chronicle) -> None:
    run_id = running_run(researcher, worker)
    env = {"python": "3.11", "packages": ["torch"]}
    asset = worker.assets.create_inline(kind="environment", name="env", content=env, run_id=run_id)
    assert asset.state == "ready" and asset.finalized_at
    [component] = asset.components
    assert component.name == "content" and component.uploaded
    url = worker.assets.download_urls(asset.id)["content"]
    assert json.loads(worker.transport.storage_request("GET", url).content) == env


def test_inline_over_one_mebibyte_is_413(fake: FakeChronicle, researcher: Chronicle) -> None:
    exp = researcher.experiments.create("t")
    response = fake.http("researcher").post(
        "/assets",
        json={
            "kind": "research_report",
            "name": "r",
            "experiment_id": exp.id,
            "content": "x" * (1024 * 1024 + 1),
        },
    )
    assert response.status_code == 413
    assert "limit is 1048576" in response.json()["detail"]
    at_limit = researcher.assets.create_inline(
        kind="research_report", name="r", experiment_id=exp.id, content="x" * (1024 * 1024)
    )
    assert at_limit.state == "ready"


@pytest.mark.parametrize(
    ("names", "fragment"),
    [
        (["a", "a"], "duplicate component name 'a'"),
        (["../etc"], "invalid component name"),
        ([".."], "invalid component name"),
        (["sp ace"], "invalid component name"),
        (["x" * 129], "invalid component name"),
    ],
)
def test_bad_component_names_are_400(
    researcher: Chronicle, names: list[str], fragment: str
) -> None:
    exp = researcher.experiments.create("t")
    with pytest.raises(BadRequestError) as info:
        researcher.assets.create(
            kind="output", name="o", experiment_id=exp.id, components=[spec(n, b"1") for n in names]
        )
    assert info.value.status_code == 400
    assert fragment in info.value.body["detail"]


def test_bad_component_fields_are_422(fake: FakeChronicle) -> None:
    http = fake.http("researcher")
    bad = [
        {
            "kind": "output",
            "name": "o",
            "presign": True,
            "components": [{"name": "a", "size": -1, "sha256": "0" * 64}],
        },
        {
            "kind": "output",
            "name": "o",
            "presign": True,
            "components": [{"name": "a", "size": 1, "sha256": "XYZ"}],
        },
        {"kind": "output", "name": "o"},
        {"kind": "output", "name": "o", "presign": True, "components": [], "content": "both"},
    ]
    for body in bad:
        assert http.post("/assets", json=body).status_code == 422


def test_unknown_owner_is_404(researcher: Chronicle) -> None:
    with pytest.raises(NotFoundError):
        researcher.assets.create(
            kind="output", name="o", run_id="missing", components=[spec("a", b"1")]
        )
    with pytest.raises(NotFoundError):
        researcher.assets.create_inline(
            kind="output", name="o", experiment_id="missing", content="c"
        )
    with pytest.raises(NotFoundError):
        researcher.assets.get("missing")
    with pytest.raises(NotFoundError):
        researcher.assets.finalize("missing")


def test_worker_asset_rules(researcher: Chronicle, worker: Chronicle) -> None:
    exp = researcher.experiments.create("t")
    with pytest.raises(PermissionDeniedError):
        worker.assets.create_inline(
            kind="research_report", name="r", experiment_id=exp.id, content="c"
        )
    experiment_asset = researcher.assets.create(
        kind="output", name="o", experiment_id=exp.id, components=[spec("a", b"1")]
    )
    with pytest.raises(PermissionDeniedError):
        worker.assets.finalize(experiment_asset.asset.id)
    with pytest.raises(PermissionDeniedError):
        worker.assets.upload_urls(experiment_asset.asset.id)
    # Reading is fine.
    assert worker.assets.get(experiment_asset.asset.id).id == experiment_asset.asset.id


def test_list_filters(researcher: Chronicle, worker: Chronicle) -> None:
    run_id = running_run(researcher, worker)
    a = worker.assets.create_inline(kind="environment", name="env", content="e", run_id=run_id)
    b = worker.assets.create(
        kind="checkpoint", name="c", run_id=run_id, components=[spec("m", b"1")]
    )
    assert [x.id for x in worker.assets.list(run_id=run_id)] == [b.asset.id, a.id]
    assert [x.id for x in worker.assets.list(kind="checkpoint")] == [b.asset.id]
