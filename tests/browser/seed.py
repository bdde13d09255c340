"""A small, varied world for the dashboard to show, created through the SDK.

Lineage (parents above children):

    baseline ──► lr sweep ──► lr sweep, warmup
        └──────► optimizer bake-off

`lr sweep` has a silent running run (no heartbeat since it started), a running run
that reported progress, a succeeded and a failed one; assets cover every storage
state (ready inline report, arxiv paper, a pending upload holding one of two parts).
"""

from __future__ import annotations

import hashlib
import urllib.request
from dataclasses import dataclass

from methodic_fake import FakeChronicle


@dataclass(frozen=True)
class World:
    baseline: str
    sweep: str
    warmup: str
    bakeoff: str
    silent_run: str
    busy_run: str
    succeeded_run: str
    failed_run: str
    report: str
    paper: str
    pending_asset: str


def _put(url: str, data: bytes) -> None:
    # A presigned URL needs no token: a plain PUT, as a storage client would send.
    request = urllib.request.Request(url, data=data, method="PUT")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status in (200, 201, 204), response.status


def seed(fake: FakeChronicle) -> World:
    """Populate `fake` (expected empty) and return the ids the tests look for."""
    chronicle = fake.client("researcher")
    baseline = chronicle.experiments.create(
        "baseline", hypothesis="a plain transformer is good enough", tags=["nlp"]
    )
    chronicle.experiments.commit(baseline.id)
    sweep = chronicle.experiments.create(
        "lr sweep", parent_ids=[baseline.id], tags=["nlp", "sweep"]
    )
    chronicle.experiments.commit(sweep.id)
    warmup = chronicle.experiments.create("lr sweep, warmup", parent_ids=[sweep.id])
    bakeoff = chronicle.experiments.create("optimizer bake-off", parent_ids=[baseline.id])

    small = chronicle.variations.create(sweep.id, config_json={"lr": 3e-4}, name="small lr")
    large = chronicle.variations.create(sweep.id, config_json={"lr": 3e-3}, name="large lr")
    silent = chronicle.runs.create(small.id)
    busy = chronicle.runs.create(large.id)
    done = chronicle.runs.create(small.id)
    crashed = chronicle.runs.create(large.id)

    worker = fake.client("worker")
    worker.runs.start(silent.id, environment={"host": "gpu-7", "cuda": "12.4"})
    worker.runs.start(busy.id, environment={"host": "gpu-8"})
    worker.runs.heartbeat(busy.id, progress={"step": 1200, "loss": 2.31})
    worker.runs.start(done.id)
    worker.runs.succeed(done.id)
    worker.runs.start(crashed.id)
    worker.runs.fail(crashed.id, reason="crash", message="CUDA out of memory")

    report = chronicle.assets.create_inline(
        kind="research_report",
        name="findings.md",
        content="# Findings\n\nWarmup stabilises the learning rate sweep at large rates.",
        experiment_id=sweep.id,
        metadata={"title": "Warmup findings"},
    )
    paper = chronicle.assets.create_inline(
        kind="arxiv",
        name="1706.03762",
        content="(pdf elided)",
        experiment_id=baseline.id,
        metadata={
            "title": "Attention Is All You Need",
            "arxiv_id": "1706.03762",
            "abstract": "The dominant sequence transduction models use attention and warmup.",
        },
    )
    weights, optimizer = b"w" * 2048, b"o" * 512
    pending = chronicle.assets.create(
        kind="checkpoint",
        name="step-1200",
        run_id=busy.id,
        components=[
            {"name": "model.bin", "size": len(weights), "sha256": _sha(weights)},
            {"name": "optimizer.bin", "size": len(optimizer), "sha256": _sha(optimizer)},
        ],
    )
    _put(pending.upload_urls["model.bin"], weights)
    return World(
        baseline=baseline.id,
        sweep=sweep.id,
        warmup=warmup.id,
        bakeoff=bakeoff.id,
        silent_run=silent.id,
        busy_run=busy.id,
        succeeded_run=done.id,
        failed_run=crashed.id,
        report=report.id,
        paper=paper.id,
        pending_asset=pending.asset.id,
    )


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
