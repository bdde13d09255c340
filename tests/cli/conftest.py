"""The CLI suite: every command runs as a real subprocess against the session's fake.

``cli(...)`` runs ``python -m methodic`` with ``CHRONICLE_BASE_URL`` pointing at the
fake served by uvicorn on a loopback port, as a researcher unless told otherwise,
with a fixed terminal width and the upload journal's default location inside
``tmp_path``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from methodic import Chronicle
    from methodic_fake.harness import FakeChronicle

WIDTH = 160


@dataclass
class Done:
    """A finished ``methodic`` invocation."""

    args: tuple[str, ...]
    code: int
    out: str
    err: str

    def json(self) -> Any:
        """stdout as exactly one JSON document (fails the test otherwise)."""
        return json.loads(self.out)

    def ok(self) -> Done:
        assert self.code == 0, f"methodic {' '.join(self.args)} exited {self.code}:\n{self.err}"
        assert self.err == "", self.err
        return self

    def failed(self, code: int = 1, *, report: bool = False) -> str:
        """The one stderr line of a failure: no traceback, and no stdout unless a
        ``report`` is expected there (``uploads resume`` tells what did finish)."""
        assert self.code == code, f"exit {self.code}, stdout {self.out!r}, stderr {self.err!r}"
        assert "Traceback" not in self.err, self.err
        assert bool(self.out) == report, self.out
        lines = self.err.splitlines()
        if code == 1:
            assert len(lines) == 1, self.err
        return lines[-1]


CLI = Callable[..., Done]


def cli_env(fake: FakeChronicle, tmp_path: Path, key: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHRONICLE_")}
    # The journal's default location is under XDG_CACHE_HOME below, not wherever an
    # outer setting points it.
    env.pop("METHODIC_TRACKER_PATH", None)
    env.update(
        CHRONICLE_BASE_URL=fake.base_url,
        CHRONICLE_API_KEY=key if key is not None else fake.researcher_token,
        COLUMNS=str(WIDTH),
        XDG_CACHE_HOME=str(tmp_path / "xdg-cache"),
        PYTHONIOENCODING="utf-8",
    )
    return env


@pytest.fixture
def fake(methodic_fake: FakeChronicle) -> FakeChronicle:
    return methodic_fake


@pytest.fixture
def cli(fake: FakeChronicle, tmp_path: Path) -> CLI:
    """Run ``methodic ARGS...``: ``cli("runs", "show", rid, key=fake.worker_key)``."""

    def run(
        *args: str,
        key: str | None = None,
        env: dict[str, str] | None = None,
        stdin: str | None = None,
        timeout: float = 60,
    ) -> Done:
        full_env = cli_env(fake, tmp_path, key)
        full_env.update(env or {})
        done = subprocess.run(
            [sys.executable, "-m", "methodic", *args],
            env=full_env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return Done(tuple(args), done.returncode, done.stdout, done.stderr)

    return run


@pytest.fixture
def researcher(fake: FakeChronicle) -> Chronicle:
    return fake.client("researcher")


@pytest.fixture
def worker(fake: FakeChronicle) -> Chronicle:
    return fake.client("worker")


@dataclass
class World:
    """A small lineage with a variation, runs and a ready asset to look at."""

    parent_id: str
    exp_id: str
    child_id: str
    variation_id: str
    run_id: str
    asset_id: str


@pytest.fixture
def world(researcher: Chronicle, worker: Chronicle) -> World:
    parent = researcher.experiments.create("Cosine schedule baseline", tags=["optim"])
    researcher.experiments.commit(parent.id)
    exp = researcher.experiments.create(
        "Warmup length sweep",
        hypothesis="a short warmup is enough",
        parent_ids=[parent.id],
        tags=["warmup", "demo"],
    )
    researcher.experiments.commit(exp.id)
    child = researcher.experiments.create("Warmup follow-up", parent_ids=[exp.id])
    variation = researcher.variations.create(
        exp.id, config_yaml="lr: 0.0003\nwarmup: 500\n", name="warmup-500"
    )
    run = researcher.runs.create(variation.id)
    worker.runs.start(run.id)
    worker.runs.heartbeat(run.id, progress={"step": 300, "loss": 0.25})
    asset = worker.assets.create_inline(
        kind="output", name="metrics", content={"acc": 0.9}, run_id=run.id
    )
    return World(parent.id, exp.id, child.id, variation.id, run.id, asset.id)


def fields_of(text: str) -> dict[str, str]:
    """A detail view (``label  value`` lines, up to its first blank line) as a dict."""
    head = text.split("\n\n", 1)[0]
    pairs = (line.split("  ", 1) for line in head.splitlines())
    return {label: value.strip() for label, value in pairs}
