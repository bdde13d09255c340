"""What the transfer benchmarks share: a running run on a fresh fake, and the
environment their client processes run in (not a benchmark: `make bench` runs
bench_*.py only)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any


def running_run(fake: Any, title: str) -> str:
    """Create a committed experiment, a variation and a run, start the run; its id."""
    with fake.client("researcher") as researcher, fake.client("worker") as worker:
        exp = researcher.experiments.create(title)
        researcher.experiments.commit(exp.id)
        variation = researcher.variations.create(exp.id, config={})
        run_id: str = researcher.runs.create(variation.id).id
        worker.runs.start(run_id)
    return run_id


def client_env(fake: Any, work: Path) -> dict[str, str]:
    """The environment of a benchmark's client processes: the worker key, and a
    journal inside ``work`` whatever the caller's own settings."""
    env = {
        **os.environ,
        "CHRONICLE_BASE_URL": fake.base_url,
        "CHRONICLE_API_KEY": fake.worker_key,
        "XDG_CACHE_HOME": str(work / "cache"),
    }
    env.pop("METHODIC_TRACKER_PATH", None)  # it would win over XDG_CACHE_HOME
    return env


def spawn_child(script: str, env: dict[str, str], *argv: str) -> dict[str, Any]:
    """Run ``script --child ARGV...`` in a fresh interpreter; its last stdout line, as JSON.

    Each measured client is its own process, so no round inherits another's warm
    connections, imports or memory high-water mark.
    """
    out = subprocess.run(
        [sys.executable, script, "--child", *argv], env=env, capture_output=True, text=True
    )
    if out.returncode != 0:
        raise SystemExit(f"child {argv[0]} failed ({out.returncode}):\n{out.stderr}")
    result: dict[str, Any] = json.loads(out.stdout.splitlines()[-1])
    return result


def drop_blobs(blobs: Path, asset_id: str) -> None:
    """Remove a measured upload's stored copy: each round stores another full one, and
    removing it keeps the disk (and the kernel's writeback) the same for every round."""
    shutil.rmtree(blobs / asset_id, ignore_errors=True)
