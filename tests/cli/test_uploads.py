"""`methodic uploads ...`: list, resume and discard the journal a SIGKILLed uploader left.

The uploader is the runner suite's crash child (``tests/runner/crash_child.py``): it
registers a checkpoint and SIGKILLs itself at a named journal step.
"""

from __future__ import annotations

import hashlib
import os
import random
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from methodic import Chronicle
from methodic.tracker import UploadTracker
from methodic_fake.harness import FakeChronicle

from .conftest import CLI, World, cli_env

CRASH_CHILD = Path(__file__).resolve().parents[1] / "runner" / "crash_child.py"
SIZES = {"model.bin": 150_000, "optim.bin": 90_000, "meta.json": 500}


Crashed = tuple[Path, dict[str, str]]


def crash(fake: FakeChronicle, run_id: str, tmp_path: Path, point: str) -> Crashed:
    """The journal (and source sha256s) of an uploader SIGKILLed at journal ``point``."""
    rng = random.Random(7)
    src = tmp_path / "src"
    src.mkdir()
    shas = {}
    for name, size in SIZES.items():
        data = rng.randbytes(size)
        (src / name).write_bytes(data)
        shas[name] = hashlib.sha256(data).hexdigest()
    db = tmp_path / "journal.sqlite3"
    env = cli_env(fake, tmp_path, fake.worker_key)
    env["METHODIC_TEST_CRASH_AT"] = point
    child = subprocess.run(
        [sys.executable, str(CRASH_CHILD), "upload", run_id, str(db), str(src)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    return db, shas


@pytest.fixture
def crashed(fake: FakeChronicle, world: World, tmp_path: Path) -> Crashed:
    """Killed after storing a component: some bytes are up, the asset is not finalized."""
    return crash(fake, world.run_id, tmp_path, "after_mark")


def test_resume_finishes_what_a_sigkilled_uploader_left(
    cli: CLI,
    fake: FakeChronicle,
    researcher: Chronicle,
    world: World,
    crashed: Crashed,
) -> None:
    db, shas = crashed
    out = cli("uploads", "list", "--tracker", str(db)).ok().out
    header, row = out.splitlines()
    assert header.split()[:5] == ["KEY", "ASSET", "PENDING", "RUN", "TOTAL"]
    assert row.split()[1] == "checkpoint/ckpt" and world.run_id in row
    # On 80 columns: the whole key, the asset and what is left to send.
    narrow = cli("uploads", "list", "--tracker", str(db), env={"COLUMNS": "80"}).ok().out
    assert narrow.splitlines()[0].split() == ["KEY", "ASSET", "PENDING"]
    assert all(len(line) <= 80 for line in narrow.splitlines())
    [entry] = cli("--json", "uploads", "list", "--tracker", str(db)).ok().json()["items"]
    assert entry["run_id"] == world.run_id
    # RFC 3339 UTC like every other timestamp the command prints, not the journal's float.
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", entry["created_at"])
    assert entry["total_bytes"] == sum(SIZES.values())
    assert entry["pending_bytes"] < entry["total_bytes"]  # a component got through
    assert any(c["uploaded"] for c in entry["components"])
    assert "claim_token" not in entry

    done = cli("uploads", "resume", "--tracker", str(db), key=fake.worker_key).ok()
    [line] = done.out.splitlines()[1:]
    assert done.out.splitlines()[0].split() == ["KEY", "OUTCOME", "DETAIL", "ASSET", "ID"]
    assert line.split() == [entry["key"], "resumed", "ready", entry["asset_id"]]

    [asset] = researcher.assets.list(run_id=world.run_id, kind="checkpoint")
    assert asset.state == "ready"
    assert {c.name: c.sha256 for c in asset.components} == shas
    assert cli("uploads", "list", "--tracker", str(db)).ok().out == "no unfinished uploads\n"
    with UploadTracker(db) as tracker:
        assert tracker.incomplete() == []
    again = cli("--json", "uploads", "resume", "--tracker", str(db)).ok().json()
    assert again == {"items": []}


def test_a_changed_file_fails_resume_with_exit_1(
    cli: CLI, fake: FakeChronicle, world: World, tmp_path: Path
) -> None:
    # Killed before any PUT: every file must still be sent, and one has changed.
    db, _ = crash(fake, world.run_id, tmp_path, "after_asset_id")
    (tmp_path / "src" / "optim.bin").write_bytes(b"changed since registration")
    done = cli("--json", "uploads", "resume", "--run", world.run_id, "--tracker", str(db))
    line = done.failed(report=True)
    assert line.startswith("upload error: 1 of 1 upload(s) could not be resumed: ")
    assert "optim.bin" in line
    [outcome] = done.json()["items"]  # the JSON document still says what happened
    assert (outcome["outcome"], outcome["asset"]) == ("failed", None)
    with UploadTracker(db) as tracker:
        assert len(tracker.incomplete()) == 1  # kept for a later resume or a discard
    # Another run's uploads are not touched.
    other = cli("--json", "uploads", "resume", "--run", world.exp_id, "--tracker", str(db))
    assert other.ok().json() == {"items": []}


def test_discard(cli: CLI, crashed: Crashed) -> None:
    db, _ = crashed
    with UploadTracker(db) as tracker:
        [upload] = tracker.incomplete()
    missing = cli("uploads", "discard", "no-such-key", "--tracker", str(db))
    assert missing.failed() == "not found: no upload no-such-key in the journal"
    data = cli("--json", "uploads", "discard", upload.key, "--tracker", str(db)).ok().json()
    assert (data["key"], data["name"]) == (upload.key, "ckpt")
    with UploadTracker(db) as tracker:
        assert tracker.incomplete() == []


def test_default_journal_and_no_credentials_needed_to_look(cli: CLI, tmp_path: Path) -> None:
    # No journal yet: nothing to list, and looking does not create one.
    env = {"CHRONICLE_API_KEY": "", "CHRONICLE_BASE_URL": ""}
    assert cli("uploads", "list", env=env).ok().out == "no unfinished uploads\n"
    assert not (tmp_path / "xdg-cache" / "methodic").exists()
    assert cli("uploads", "resume", env=env).ok().out == "no unfinished uploads\n"
    not_sqlite = tmp_path / "junk.sqlite3"
    not_sqlite.write_text("not a database")
    line = cli("uploads", "list", "--tracker", str(not_sqlite)).failed()
    assert line.startswith("tracker error: ") and str(not_sqlite) in line


def test_an_upload_a_live_process_holds_is_skipped(cli: CLI, crashed: Crashed) -> None:
    db, _ = crashed
    with UploadTracker(db) as tracker:
        [upload] = tracker.incomplete()
        held = tracker.claim(upload.key)  # this test process: alive, so its claim stands
        assert held is not None
        done = cli("uploads", "resume", "--tracker", str(db)).ok()
        [line] = done.out.splitlines()[1:]
        assert line.split()[:2] == [upload.key, "skipped"]
        assert f"a live process holds it (pid {os.getpid()})" in line
        assert tracker.get(upload.key) is not None  # left to its owner


def test_list_is_newest_first_unless_asked(cli: CLI, tmp_path: Path) -> None:
    from methodic.tracker import ComponentFile

    db = tmp_path / "journal.sqlite3"
    part = ComponentFile("m.bin", str(tmp_path / "m.bin"), 1, 0, "ab" * 32)
    with UploadTracker(db) as tracker:
        for name in ("older", "newer"):
            tracker.register(kind="checkpoint", name=name, components=[part], run_id="r")
        newest = cli("--json", "uploads", "list", "--tracker", str(db)).ok().json()["items"]
        oldest = cli("--json", "uploads", "list", "--order", "asc", "--tracker", str(db))
    assert [u["name"] for u in newest] == ["newer", "older"]
    assert [u["name"] for u in oldest.ok().json()["items"]] == ["older", "newer"]
