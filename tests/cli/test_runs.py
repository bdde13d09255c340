"""`methodic runs ...`: list, show (heartbeat age, failure reason), create, and watch."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

from methodic import Chronicle
from methodic_fake.harness import FakeChronicle

from .conftest import CLI, World, cli_env, fields_of


def test_list_filters_and_json(cli: CLI, researcher: Chronicle, world: World) -> None:
    pending = researcher.runs.create(world.variation_id).id
    out = cli("runs", "list", "--experiment", world.exp_id).ok().out
    header, *rows = out.splitlines()
    assert header.split()[:3] == ["ID", "STATE", "HEARTBEAT"]
    cells = {row.split()[0]: row.split()[1:] for row in rows}
    assert cells[world.run_id][0] == "running" and cells[world.run_id][2] == "ago"
    assert cells[pending][:2] == ["pending", "-"]  # no heartbeat age before it runs
    running = cli("--json", "runs", "list", "--state", "running").ok().json()["items"]
    assert [r["id"] for r in running] == [world.run_id]
    by_variation = cli("runs", "list", "--variation", world.variation_id, "--json").ok().json()
    assert len(by_variation["items"]) == 2
    assert cli("runs", "list", "--state", "succeeded").ok().out == "no runs\n"


def test_show_has_heartbeat_age_progress_and_failure(
    cli: CLI, worker: Chronicle, world: World
) -> None:
    shown = fields_of(cli("runs", "show", world.run_id).ok().out)
    assert shown["state"] == "running"
    beat, _, beat_age = shown["last heartbeat"].partition(" ")
    assert beat.endswith("Z")
    assert beat_age.startswith("(") and beat_age.endswith(" ago)")
    assert shown["progress"] == "step=300 loss=0.25"
    assert "failure" not in shown

    worker.runs.fail(world.run_id, reason="crash", message="CUDA out of memory")
    shown = fields_of(cli("runs", "show", world.run_id).ok().out)
    assert shown["state"] == "failed"
    assert shown["failure"] == "crash: CUDA out of memory"
    assert shown["last heartbeat"] == beat  # an age only while it runs
    data = cli("--json", "runs", "show", world.run_id).ok().json()
    assert (data["failure_reason"], data["failure_message"]) == ("crash", "CUDA out of memory")


def test_create_with_resume_from(cli: CLI, fake: FakeChronicle, world: World) -> None:
    created = cli("--json", "runs", "create", world.variation_id, "--resume-from", world.run_id)
    data = created.ok().json()
    assert data["state"] == "pending"
    assert data["resume_from_run_id"] == world.run_id
    shown = fields_of(cli("runs", "create", world.variation_id).ok().out)
    assert shown["state"] == "pending" and shown["variation"] == world.variation_id
    # A worker key may not create runs: Chronicle's 403, one line.
    line = cli("runs", "create", world.variation_id, key=fake.worker_key).failed()
    assert line == "permission denied: a worker key may not create runs"


def _watch(fake: FakeChronicle, tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "methodic", "runs", "watch", "--interval", "0.1", *args],
        env=cli_env(fake, tmp_path, None),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_watch_ends_when_the_watchdog_reaps_the_run(
    fake: FakeChronicle, tmp_path: Path, world: World
) -> None:
    proc = _watch(fake, tmp_path, world.run_id)
    assert proc.stdout is not None
    first = proc.stdout.readline()  # the watcher has seen the run running
    assert first.startswith(f"{world.run_id}  running  heartbeat ")
    assert first.rstrip().endswith("step=300 loss=0.25")
    fake.advance(minutes=15, seconds=1)  # past the watchdog: the next poll reads it failed
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert err == ""
    lines = out.splitlines()
    assert lines[0].startswith(f"{world.run_id}  failed  (heartbeat_timeout)")
    assert lines[-1] == (
        f"run {world.run_id} failed (heartbeat_timeout): no heartbeat for 900 seconds"
    )


def test_watch_json_prints_the_finished_run_once(
    fake: FakeChronicle, tmp_path: Path, worker: Chronicle, world: World
) -> None:
    proc = _watch(fake, tmp_path, world.run_id, "--json")
    time.sleep(0.5)  # let it poll a few times while the run is still running
    assert proc.poll() is None
    worker.runs.heartbeat(world.run_id, progress={"step": 400})
    worker.runs.succeed(world.run_id)
    out, err = proc.communicate(timeout=30)
    assert (proc.returncode, err) == (0, "")
    run = json.loads(out)  # exactly one document
    assert (run["id"], run["state"], run["progress"]) == (world.run_id, "succeeded", {"step": 400})


def test_watch_leaves_quietly_on_ctrl_c(fake: FakeChronicle, tmp_path: Path, world: World) -> None:
    proc = _watch(fake, tmp_path, world.run_id)
    assert proc.stdout is not None
    proc.stdout.readline()
    proc.send_signal(2)  # SIGINT, as Ctrl-C sends
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert err == "" and out == ""


def test_watch_unknown_run(cli: CLI) -> None:
    missing = "00000000-0000-0000-0000-000000000000"
    assert cli("runs", "watch", missing).failed() == f"not found: run {missing} not found"


def _seconds(text: str) -> int:
    """`4s`, `3m12s`, `2h05m` (the CLI's durations) as whole seconds."""
    units = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    return sum(int(n) * units[u] for n, u in re.findall(r"(\d+)([dhms])", text))


def test_ages_and_countdowns_run_on_the_servers_clock(
    cli: CLI, fake: FakeChronicle, world: World, tmp_path: Path
) -> None:
    # The fake's clock moves, this machine's does not: only the server's Date header
    # can tell the CLI that the run has been silent for ten minutes. (Date has whole
    # seconds: the CLI's reading is good to within one.)
    fake.freeze()
    fake.advance(minutes=10)
    shown = fields_of(cli("runs", "show", world.run_id).ok().out)
    beat_age = shown["last heartbeat"].split("(", 1)[1].rstrip(")")
    assert beat_age.endswith(" ago") and 599 <= _seconds(beat_age) <= 601
    watchdog = shown["watchdog"]
    assert watchdog.startswith("fails the run at ") and watchdog.endswith(" unless it heartbeats")
    assert 298 <= _seconds(watchdog.split("(in ", 1)[1].split(")")[0]) <= 301

    [row] = [r for r in cli("runs", "list").ok().out.splitlines() if r.startswith(world.run_id)]
    assert 599 <= _seconds(row.split()[2]) <= 601 and row.split()[3] == "ago"

    proc = _watch(fake, tmp_path, world.run_id)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    proc.send_signal(2)
    proc.communicate(timeout=30)
    beat = line.split("heartbeat ", 1)[1]
    assert 599 <= _seconds(beat.split(" ago", 1)[0]) <= 601
    assert 298 <= _seconds(beat.split("(watchdog in ", 1)[1].split(")")[0]) <= 301
