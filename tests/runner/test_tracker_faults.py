"""A broken journal raises ``TrackerError`` naming the file and the remedy; it never
fails a run that uploads nothing.

Garbage and truncated files are made here; a read-only journal (or directory) is a
read-only bind mount and a full one a 256 KiB tmpfs, each in a private mount namespace
(``unshare --mount``), since root (as here and in CI) ignores file permissions.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from methodic import Chronicle, ChronicleError, Run, TrackerError
from methodic.tracker import ComponentFile, UploadTracker

from .conftest import make_files, new_run_id

if TYPE_CHECKING:
    from methodic_fake.harness import FakeChronicle

CHILD = Path(__file__).with_name("journal_child.py")
_COMPONENT = ComponentFile("a", "/x/a", 1, 1, "00" * 32)


def _working_journal(path: Path, uploads: int = 30) -> None:
    """A real journal with some entries, closed (checkpointed, no -wal file left)."""
    with UploadTracker(path) as tracker:
        for i in range(uploads):
            parts = [
                ComponentFile(f"c{k}", f"/data/{i}/{k}" * 20, 1, 1, "ab" * 32) for k in range(8)
            ]
            tracker.register(kind="checkpoint", name=f"step-{i}", components=parts, run_id="r")
    assert not path.with_name(path.name + "-wal").exists()


def _garbage(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"these are not the pages you are looking for\n" * 200)


def _truncated(path: Path) -> None:
    _working_journal(path)
    size = path.stat().st_size
    assert size > 3 * 4096
    with open(path, "r+b") as f:
        f.truncate(size // 3)


def _assert_names_path_and_remedy(err: TrackerError, path: Path, remedy: str) -> None:
    assert isinstance(err, ChronicleError)
    assert err.path == path
    assert str(path) in str(err)
    assert remedy in str(err)
    assert isinstance(err.__cause__, sqlite3.Error)


@pytest.mark.parametrize("damage", [_garbage, _truncated], ids=["garbage", "truncated"])
def test_a_damaged_journal_is_a_tracker_error_saying_move_it_aside(
    tmp_path: Path, damage: object
) -> None:
    path = tmp_path / "uploads.sqlite3"
    assert callable(damage)
    damage(path)
    tracker = UploadTracker(path)  # touches nothing yet
    with pytest.raises(TrackerError) as caught:
        for upload in tracker.incomplete():  # a truncated file fails on a missing page
            tracker.get(upload.key)
        tracker.register(kind="output", name="x", components=[_COMPONENT])
    _assert_names_path_and_remedy(caught.value, path, "move it aside")
    assert "cannot be resumed" in str(caught.value)


def test_a_journal_from_a_newer_methodic_says_so(tmp_path: Path) -> None:
    path = tmp_path / "uploads.sqlite3"
    with sqlite3.connect(path) as raw:
        raw.execute("PRAGMA user_version = 99")
    with pytest.raises(TrackerError, match="newer methodic") as caught:
        UploadTracker(path).incomplete()
    assert caught.value.path == path


def test_an_unusable_directory_is_a_tracker_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the journal's directory should be")
    path = blocker / "uploads.sqlite3"
    with pytest.raises(TrackerError) as caught:
        UploadTracker(path).register(kind="output", name="x", components=[_COMPONENT])
    assert caught.value.path == path and str(path) in str(caught.value)
    assert isinstance(caught.value.__cause__, OSError)


def test_tracker_error_pickles_with_its_path(tmp_path: Path) -> None:
    err = TrackerError("upload journal broken", tmp_path / "j.sqlite3")
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is TrackerError and copy.path == err.path and str(copy) == str(err)


def test_a_corrupt_default_journal_does_not_fail_a_run_without_uploads(
    fake: FakeChronicle,
    worker: Chronicle,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    journal = tmp_path / "default" / "uploads.sqlite3"
    _garbage(journal)
    monkeypatch.setenv("METHODIC_TRACKER_PATH", str(journal))

    with caplog.at_level(logging.WARNING, logger="methodic"):
        run = Run(worker, new_run_id(fake)).start().succeed()
        with Run(worker, new_run_id(fake)).lifecycle() as managed:  # resumes on entry
            pass

    assert run.state == "succeeded" and managed.state == "succeeded"
    assert any(str(journal) in r.getMessage() for r in caplog.records), caplog.text
    # ...while an upload through it is refused with the typed error.
    uploading = Run(worker, new_run_id(fake)).start()
    src = make_files(tmp_path / "src", {"a.bin": 1000})
    with pytest.raises(TrackerError) as caught:
        uploading.upload_asset("output", "a", {"a.bin": src["a.bin"]})
    _assert_names_path_and_remedy(caught.value, journal, "move it aside")


@pytest.fixture(scope="module")
def mount_namespace() -> None:
    command = ["unshare", "--mount", "--propagation", "private", "true"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as err:
        pytest.skip(f"cannot run {' '.join(command)}: {err}")
    if done.returncode != 0:
        pytest.skip(f"{' '.join(command)} failed: {done.stderr.strip()}")


def _read_only(directory: Path) -> str:
    _working_journal(directory / "uploads.sqlite3")
    return 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0"'


def _read_only_file(directory: Path) -> str:
    """Only the file: its directory stays writable (SQLite can make its -wal there)."""
    _working_journal(directory / "uploads.sqlite3")
    return 'f="$0/uploads.sqlite3" && mount --bind "$f" "$f" && mount -o remount,bind,ro "$f"'


def _full(directory: Path) -> str:
    directory.mkdir(parents=True)
    return 'mount -t tmpfs -o size=256k tmpfs "$0"'


@pytest.mark.usefixtures("mount_namespace")
@pytest.mark.parametrize(
    ("setup", "remedy", "extra"),
    [
        (_read_only, "make the file and its directory writable", []),
        (_read_only_file, "make the file and its directory writable", []),
        (_full, "filesystem is full", ["--fill"]),
    ],
    ids=["read-only-dir", "read-only-file", "full"],
)
def test_a_read_only_or_full_journal_is_a_tracker_error_and_quiet_runs_succeed(
    fake: FakeChronicle, tmp_path: Path, setup: object, remedy: str, extra: list[str]
) -> None:
    directory = tmp_path / "journal"
    assert callable(setup)
    mount = setup(directory)
    journal = directory / "uploads.sqlite3"
    upload = make_files(tmp_path / "src", {"preds.bin": 50_000})["preds.bin"]
    quiet, uploading = new_run_id(fake), new_run_id(fake)
    env = {
        **os.environ,
        "CHRONICLE_BASE_URL": fake.base_url,
        "CHRONICLE_API_KEY": fake.worker_key,
        "METHODIC_TRACKER_PATH": str(journal),
    }
    command = [sys.executable, str(CHILD), quiet, uploading, str(upload), *extra]
    script = mount + ' && shift && exec "$@"'
    unshare = ["unshare", "--mount", "--propagation", "private", "--"]
    done = subprocess.run(
        [*unshare, "sh", "-c", script, str(directory), "--", *command],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])

    assert result["quiet_run"] == "succeeded"
    error = result["error"]
    assert (error["type"], error["path"]) == ("TrackerError", str(journal)), error
    assert str(journal) in error["message"] and remedy in error["message"], error
    assert error["cause"] in ("OperationalError", "DatabaseError", "OSError"), error
    researcher = fake.client("researcher")
    assert list(researcher.assets.list(run_id=uploading)) == []  # nothing half-registered
