"""Guarantee: one ``Chronicle`` shared by many threads never errs and never crosses answers.

16 threads share a single ``Chronicle`` (one httpx2 connection pool) against a
uvicorn-served fake (once on each store: memory, and the SQLite the dev server
uses) and make 2,000 mixed calls between them: create, read, update,
list by a per-thread tag, variations, runs and heartbeats, inline assets. Every
answer is checked against what *that* thread asked for: the id it created, the
title it wrote, the tag it filtered by. A response delivered to the wrong caller,
a torn read of shared state, or any exception fails the test.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from methodic import Chronicle
from methodic_fake import FakeChronicle

THREADS = 16
TOTAL_CALLS = 2000
CALLS_PER_THREAD = TOTAL_CALLS // THREADS


@pytest.fixture(params=["memory", "sqlite"])
def fake(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[FakeChronicle]:
    """uvicorn over each store; SQLite is what the dev server keeps its state in."""
    data_dir = tmp_path / "fake-data" if request.param == "sqlite" else None
    with FakeChronicle.start(data_dir=data_dir) as fake:
        yield fake


class Worker:
    """One thread's share of the load, and the bookkeeping to prove answers are its own."""

    def __init__(self, chronicle: Chronicle, index: int) -> None:
        self.c = chronicle
        self.tag = f"thread-{index}"
        self.calls = 0
        self.mine: dict[str, str] = {}  # experiment id -> latest title we wrote
        self.committed: list[str] = []
        self.variations: dict[str, str] = {}  # variation id -> experiment id
        self.runs: dict[str, str] = {}  # run id -> variation id

    def call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        return fn(*args, **kwargs)

    def step(self, i: int) -> None:
        c, tag = self.c, self.tag
        kind = i % 8
        if kind == 0 or not self.mine:
            title = f"{tag} exp {i}"
            exp = self.call(c.experiments.create, title, tags=[tag], hypothesis=f"h-{tag}-{i}")
            assert exp.title == title and exp.tags == [tag], exp
            assert exp.id not in self.mine
            self.mine[exp.id] = title
        elif kind == 1:
            exp_id = next(iter(self.mine))
            detail = self.call(c.experiments.get, exp_id)
            assert detail.id == exp_id and detail.title == self.mine[exp_id], detail
            assert detail.tags == [tag]
        elif kind == 2:
            drafts = [e for e in self.mine if e not in self.committed]
            if not drafts:
                return self.step(0)
            exp_id = drafts[-1]
            title = f"{tag} renamed {i}"
            updated = self.call(c.experiments.update, exp_id, title=title)
            assert updated.id == exp_id and updated.title == title, updated
            self.mine[exp_id] = title
        elif kind == 3:
            page = self.call(c.experiments.list, tag=tag, limit=200)
            ids = {e.id for e in page.items}
            assert ids == set(self.mine), f"{tag}: list saw {len(ids)} ids, we own {len(self.mine)}"
            assert all(e.tags == [tag] and e.title == self.mine[e.id] for e in page.items)
        elif kind == 4:
            drafts = [e for e in self.mine if e not in self.committed]
            if not drafts:
                return self.step(0)
            exp_id = drafts[0]
            var = self.call(c.variations.create, exp_id, config_json={"owner": tag, "i": i})
            assert var.experiment_id == exp_id and var.config_json == {"owner": tag, "i": i}
            committed = self.call(c.experiments.commit, exp_id)
            assert committed.id == exp_id and committed.state == "committed"
            self.committed.append(exp_id)
            self.variations[var.id] = exp_id
        elif kind == 5:
            if not self.variations:
                return self.step(4)
            var_id = next(reversed(self.variations))
            run = self.call(c.runs.create, var_id)
            assert run.variation_id == var_id and run.experiment_id == self.variations[var_id]
            started = self.call(c.runs.start, run.id, environment={"owner": tag})
            assert started.id == run.id and started.state == "running"
            self.runs[run.id] = var_id
        elif kind == 6:
            if not self.runs:
                return self.step(5)
            run_id = next(reversed(self.runs))
            beat = self.call(c.runs.heartbeat, run_id, progress={"owner": tag, "i": i})
            assert beat.id == run_id and beat.progress == {"owner": tag, "i": i}, beat
            config = self.call(c.runs.config, run_id)
            assert config.run_id == run_id and config.config_json["owner"] == tag
        else:
            exp_id = next(reversed(self.mine))
            asset = self.call(
                c.assets.create_inline,
                kind="research_report",
                name=f"{tag} report {i}",
                content=f"notes of {tag} #{i}",
                experiment_id=exp_id,
            )
            assert asset.name == f"{tag} report {i}" and asset.experiment_id == exp_id
            again = self.call(c.assets.get, asset.id)
            assert again.id == asset.id and again.name == asset.name
        return None

    def run(self, barrier: threading.Barrier) -> int:
        barrier.wait()  # everyone starts together: maximum contention
        i = 0
        while self.calls < CALLS_PER_THREAD:
            self.step(i)
            i += 1
        return self.calls


def test_sixteen_threads_share_one_chronicle(fake: FakeChronicle, figures: Any) -> None:
    with fake.client("researcher") as chronicle:
        workers = [Worker(chronicle, i) for i in range(THREADS)]
        barrier = threading.Barrier(THREADS)
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            futures = [pool.submit(w.run, barrier) for w in workers]
            calls = [f.result() for f in futures]  # re-raises any thread's failure
        total = sum(calls)
        assert total >= TOTAL_CALLS
        # Afterwards the server agrees with every thread's own ledger.
        everything = list(chronicle.experiments.list(limit=200))
        owners = {e.id: e.tags for e in everything}
        for w in workers:
            assert {e for e, tags in owners.items() if tags == [w.tag]} == set(w.mine)
    figures.set("concurrency: threads sharing one Chronicle", THREADS)
    figures.add("concurrency: calls made (memory and SQLite stores)", total)
