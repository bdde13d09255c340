"""`make demo` is the README's first command: it must keep working, so CI runs it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo.py"


def test_demo_runs_the_whole_mission() -> None:
    done = subprocess.run(
        [sys.executable, str(DEMO)], capture_output=True, text=True, timeout=180, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "FAIL" not in out
    for milestone in (
        "killed runner pid",
        "tracker holds 1 incomplete upload",
        "resumed upload of 'step-3': asset ready",
        "exactly one checkpoint asset, ready",
        "restored its own checkpoint of step 3 (3 files, sha256 verified)",
        "checkpoint of step 3 (3 files, sha256 verified)",
        "trained to step 6",
        "reaped: heartbeat_timeout",
        "finished_at",
        "lineage reaches the parent experiment",
        "search finds the research report",
        "unconfigured search raises ServerError 503",
        "$ methodic lineage",
        "├── ancestors",
        "failure         heartbeat_timeout: no heartbeat for 900 seconds",
        "no unfinished uploads",
        "All steps behaved as Chronicle promises.",
        "This demo ran in ",
    ):
        assert milestone in out, f"missing {milestone!r} in demo output:\n{out}"
