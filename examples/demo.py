"""The whole methodic mission, end to end, against the embedded Chronicle fake.

Run it with `make demo`. A researcher designs an experiment; a runner process trains,
is SIGKILLed in the middle of uploading its checkpoint, restarts and resumes; a second
run resumes from that checkpoint; a silent run is reaped by the heartbeat watchdog;
the researcher concludes, walks the lineage and searches. Exits 0 when every step
behaved as Chronicle promises, 1 otherwise.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

from methodic import ConflictError, Experiment, Run, ServerError, UploadTracker
from methodic_fake import FakeChronicle

HERE = Path(__file__).resolve().parent
RUNNER = HERE / "demo_runner.py"

SHORT_WARMUP = """\
optimizer: {name: adamw, lr: 3.0e-4}
schedule: {warmup_steps: 500, kind: cosine}
steps: 3
"""
LONG_WARMUP = """\
optimizer: {name: adamw, lr: 3.0e-4}
schedule: {warmup_steps: 2000, kind: cosine}
steps: 3
"""
REPORT = """\
# Warmup length and loss spikes
Runs with a 500-step linear warmup showed no loss spikes after the learning rate
peak; a 2000-step warmup bought nothing measurable at this scale.
"""


def timestamp(value: str | None) -> datetime:
    # Chronicle sends RFC 3339 UTC with a Z, which fromisoformat reads only from 3.11.
    assert value is not None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def step(title: str) -> None:
    print(f"\n== {title}", flush=True)


def check(condition: bool, message: str) -> None:
    print(f"   {'ok ' if condition else 'FAIL'} {message}", flush=True)
    if not condition:
        raise SystemExit(1)


@contextmanager
def runner(
    fake: FakeChronicle, run_id: str, tracker: Path, workdir: Path
) -> Iterator[subprocess.Popen[str]]:
    """Start demo_runner.py as a separate process that knows only the worker key."""
    env = {**os.environ, "CHRONICLE_BASE_URL": fake.base_url, "CHRONICLE_API_KEY": fake.worker_key}
    command = [
        sys.executable,
        str(RUNNER),
        run_id,
        "--tracker",
        str(tracker),
        "--workdir",
        str(workdir),
    ]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def relay_until(proc: subprocess.Popen[str], marker: str) -> bool:
    """Echo the runner's lines until one contains `marker` (True) or it exits (False)."""
    assert proc.stdout is not None
    for line in proc.stdout:
        print(line.rstrip().replace("pid", str(proc.pid)), flush=True)
        if marker in line:
            return True
    return False


def on_the_command_line(fake: FakeChronicle, exp_id: str, run_id: str, tracker: Path) -> None:
    """The same story seen through the `methodic` command (docs/cli.md)."""
    step("The same story on the command line")
    env = {
        **os.environ,
        "CHRONICLE_BASE_URL": fake.base_url,
        "CHRONICLE_API_KEY": fake.researcher_token,
        "COLUMNS": str(max(shutil.get_terminal_size().columns - 3, 60)),
    }
    for args in (
        ["lineage", exp_id],
        ["runs", "show", run_id],
        ["uploads", "list", "--tracker", str(tracker)],
    ):
        print(f"   $ methodic {' '.join(args)}", flush=True)
        done = subprocess.run(
            [sys.executable, "-m", "methodic", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        for line in done.stdout.splitlines():
            print(f"   {line}", flush=True)
        check(done.returncode == 0, f"exit status {done.returncode} {done.stderr.strip()}".strip())


def environment_note() -> str:
    """How much this Python environment holds: what `make demo` had to install."""
    import importlib.util

    prefix = Path(sys.prefix)
    size = sum(
        (Path(root) / name).stat().st_size
        for root, _, names in os.walk(prefix)
        for name in names
        if not (Path(root) / name).is_symlink()
    )
    dev_tools = importlib.util.find_spec("mypy") is not None
    held = (
        "with the dev tools `make test` installs"
        if dev_tools
        else "methodic and its fake extra only; `make test` adds the dev tools"
    )
    return f"This demo ran in {prefix}: {size / 1e6:.0f} MB ({held})."


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="methodic-demo-") as tmp, FakeChronicle.start() as fake:
        work = Path(tmp)
        tracker_path = work / "uploads.sqlite3"
        print(f"Chronicle fake listening on {fake.base_url} (in this process, its own clock)")
        print(f"Dashboard, while the demo runs: {fake.base_url}/_fake/ui/")
        researcher = fake.client("researcher")
        worker = fake.client("worker")

        step("Researcher designs an experiment on top of a parent")
        parent = Experiment.create(
            researcher, "Cosine schedule baseline", hypothesis="cosine beats step decay"
        )
        parent.commit()
        exp = Experiment.create(
            researcher,
            "Warmup length sweep",
            hypothesis="a short warmup is enough",
            parent_ids=[parent.id],
            tags=["warmup", "demo"],
        )
        short = exp.commit().variations.create(config_yaml=SHORT_WARMUP, name="warmup-500")
        long = exp.variations.create(config_yaml=LONG_WARMUP, name="warmup-2000")
        check(exp.state == "committed", f"experiment {exp.id[:8]} committed at {exp.committed_at}")
        check(
            short.config_json["schedule"]["warmup_steps"] == 500, "YAML config parsed server-side"
        )
        first = short.runs.create()
        silent = long.runs.create()
        print(f"   runs: {first.id[:8]} (warmup-500), {silent.id[:8]} (warmup-2000)")

        step("Runner process trains and is SIGKILLed in the middle of its checkpoint upload")
        # Slow storage down so the kill lands while bytes are in flight.
        fake.faults.add("storage.put", "latency", seconds=5.0, times=3)
        with runner(fake, first.id, tracker_path, work / "run1") as proc:
            registered = relay_until(proc, "registered")
            check(registered, "runner registered its checkpoint before uploading")
            time.sleep(0.5)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            print(f"   killed runner pid {proc.pid} with SIGKILL (exit {proc.returncode})")
        fake.faults.clear()
        with UploadTracker(tracker_path) as tracker:
            pending = tracker.incomplete(run_id=first.id)
        check(
            len(pending) == 1, f"tracker holds {len(pending)} incomplete upload ({pending[0].name})"
        )
        check(Run(worker, first.id).state == "running", "Chronicle still sees the run running")

        step("Runner restarts with the same arguments and resumes")
        with runner(fake, first.id, tracker_path, work / "run1") as proc:
            relay_until(proc, "succeeded")
            check(proc.wait() == 0, "restarted runner exited 0")
        assets = [a for a in researcher.assets.list(run_id=first.id) if a.kind == "checkpoint"]
        check(
            len(assets) == 1 and assets[0].state == "ready", "exactly one checkpoint asset, ready"
        )
        check(Run(researcher, first.id).state == "succeeded", "run succeeded")

        step("A second run resumes from that checkpoint")
        second = short.runs.create(resume_from_run_id=first.id)
        with runner(fake, second.id, tracker_path, work / "run2") as proc:
            relay_until(proc, "succeeded")
            check(proc.wait() == 0, "second runner exited 0")
        check(Run(researcher, second.id).state == "succeeded", "second run succeeded")

        step("A silent run is reaped by the 15-minute heartbeat watchdog")
        quiet = Run(worker, silent.id).start()
        last_beat = quiet.last_heartbeat_at
        print(
            f"   started {quiet.id[:8]}, last heartbeat {last_beat}; advancing the fake clock 15m01s"
        )
        fake.advance(minutes=15, seconds=1)
        # The watchdog changed the run server-side, not through this handle: refresh.
        quiet.refresh()
        check(
            quiet.state == "failed" and quiet.failure_reason == "heartbeat_timeout",
            "reaped: heartbeat_timeout",
        )
        reaped_after = timestamp(quiet.finished_at) - timestamp(last_beat)
        check(
            reaped_after == timedelta(minutes=15),
            f"finished_at {quiet.finished_at} = last heartbeat + 15 min",
        )
        try:
            quiet.heartbeat()
            check(False, "a reaped run's heartbeat must be refused")
        except ConflictError as err:
            check(err.status_code == 409, f"its next heartbeat gets ConflictError: {err.message}")

        step("Researcher writes up, concludes, walks the lineage and searches")
        researcher.assets.create_inline(
            kind="research_report", name="warmup-findings", content=REPORT, experiment_id=exp.id
        )
        exp.conclude("500 warmup steps suffice; longer warmup buys nothing at this scale")
        check(exp.state == "concluded", f"concluded at {exp.concluded_at}")
        lineage = exp.lineage(direction="ancestors")
        titles = {node.id: node.title for node in lineage.nodes}
        for edge in lineage.edges:
            print(f"   lineage: {titles[edge.parent_id]!r} -> {titles[edge.child_id]!r}")
        check(parent.id in titles, "lineage reaches the parent experiment")
        found = researcher.search.query("warmup loss spikes", types=["research_report"])
        for hit in found.results:
            print(f"   search hit ({hit.score:.2f}): {hit.title} — {hit.snippet}")
        check(found.total >= 1, "search finds the research report")
        fake.search_configured = False
        try:
            researcher.search.query("warmup")
            check(False, "search must fail when not configured")
        except ServerError as err:
            check(
                err.status_code == 503,
                f"unconfigured search raises ServerError {err.status_code}: {err.message}",
            )

        on_the_command_line(fake, exp.id, quiet.id, tracker_path)

        print("\nAll steps behaved as Chronicle promises.")
        print(environment_note())
        return 0


if __name__ == "__main__":
    sys.exit(main())
