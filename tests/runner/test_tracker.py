"""UploadTracker on its own: journal steps, claims, concurrency. No server needed."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from methodic import TrackerError
from methodic import tracker as tracker_module
from methodic.tracker import (
    ComponentFile,
    TrackedComponent,
    TrackedUpload,
    UploadTracker,
    default_tracker_path,
)


def _component(name: str, size: int = 10) -> ComponentFile:
    return ComponentFile(
        name=name,
        path=f"/data/{name}",
        size=size,
        mtime_ns=1_700_000_000_000_000_000,
        sha256="ab" * 32,
        content_type="application/octet-stream",
    )


@pytest.fixture
def tracker(tmp_path: Path) -> Iterator[UploadTracker]:
    with UploadTracker(tmp_path / "uploads.sqlite3") as t:
        yield t


def _register(tracker: UploadTracker, run_id: str = "run-1", n: int = 2) -> TrackedUpload:
    return tracker.register(
        kind="checkpoint",
        name="step-10",
        components=[_component(f"part-{i}", size=100 + i) for i in range(n)],
        run_id=run_id,
        metadata={"step": 10},
    )


def _spawn_holder(db: Path, lease: float = 300.0) -> tuple[subprocess.Popen[str], str]:
    """A separate live process that registers (and so claims) an upload, then waits."""
    script = textwrap.dedent(
        f"""
        import sys
        from methodic.tracker import ComponentFile, UploadTracker
        t = UploadTracker({str(db)!r}, lease={lease!r})
        c = ComponentFile("a", "/x/a", 1, 1, "00" * 32)
        print(t.register(kind="output", name="held", components=[c], run_id="r").key, flush=True)
        sys.stdin.read()
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    key = child.stdout.readline().strip()
    assert key, "holder process failed to register"
    return child, key


def test_register_round_trips_typed_records(tracker: UploadTracker) -> None:
    upload = _register(tracker)

    assert upload.key.startswith("methodic-upload-")
    assert upload.kind == "checkpoint" and upload.name == "step-10"
    assert upload.run_id == "run-1" and upload.experiment_id is None
    assert upload.metadata == {"step": 10}
    assert upload.asset_id is None
    assert upload.claim_pid == os.getpid() and upload.claim_token
    assert [c.name for c in upload.components] == ["part-0", "part-1"]
    assert all(isinstance(c, TrackedComponent) and not c.uploaded for c in upload.components)
    assert upload.total_bytes == upload.pending_bytes == 201
    assert tracker.get(upload.key) == upload
    assert tracker.incomplete() == [upload]


def test_journal_steps_then_discard_prunes_rows(tracker: UploadTracker) -> None:
    upload = _register(tracker)

    tracker.set_asset_id(upload.key, "asset-1")
    tracker.mark_uploaded(upload.key, "part-1")
    current = tracker.get(upload.key)
    assert current is not None
    assert current.asset_id == "asset-1"
    assert [c.uploaded for c in current.components] == [False, True]
    assert current.pending_bytes == 100

    tracker.discard(upload.key)
    assert tracker.get(upload.key) is None
    assert tracker.incomplete() == []
    with sqlite3.connect(tracker.path) as raw:
        assert raw.execute("SELECT count(*) FROM components").fetchone() == (0,)


def test_incomplete_filters_by_run_oldest_first(tracker: UploadTracker) -> None:
    first = _register(tracker, run_id="run-a")
    _register(tracker, run_id="run-b")
    third = _register(tracker, run_id="run-a")

    assert [u.key for u in tracker.incomplete(run_id="run-a")] == [first.key, third.key]
    assert len(tracker.incomplete()) == 3
    assert tracker.incomplete(run_id="nope") == []


def test_file_is_in_wal_mode_with_schema(tracker: UploadTracker) -> None:
    _register(tracker)
    with sqlite3.connect(tracker.path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert raw.execute("PRAGMA user_version").fetchone() == (2,)


def test_a_schema_1_journal_is_upgraded_in_place(tmp_path: Path) -> None:
    db = tmp_path / "uploads.sqlite3"
    with sqlite3.connect(db) as raw:
        raw.execute(
            "CREATE TABLE uploads (key TEXT PRIMARY KEY, kind TEXT NOT NULL, name TEXT NOT NULL,"
            " run_id TEXT, experiment_id TEXT, metadata TEXT, asset_id TEXT,"
            " created_at REAL NOT NULL, claim_token TEXT, claim_pid INTEGER, claim_host TEXT,"
            " claim_boot TEXT, claim_expires REAL)"
        )
        raw.execute(
            "INSERT INTO uploads (key, kind, name, created_at) VALUES ('old', 'output', 'x', 1)"
        )
        raw.execute("PRAGMA user_version = 1")
    with UploadTracker(db) as tracker:
        assert [u.key for u in tracker.incomplete()] == ["old"]
        assert tracker.claim("old") is not None  # unclaimed: ours now, with an owner lock
    with sqlite3.connect(db) as raw:
        assert raw.execute("SELECT claim_owner IS NOT NULL FROM uploads").fetchone() == (1,)


def test_rejects_bad_registrations(tracker: UploadTracker) -> None:
    with pytest.raises(ValueError, match="at least one"):
        tracker.register(kind="output", name="x", components=[])
    with pytest.raises(ValueError, match="duplicate"):
        tracker.register(kind="output", name="x", components=[_component("a"), _component("a")])
    assert tracker.incomplete() == []


def test_a_failed_transaction_leaves_nothing_behind(tracker: UploadTracker) -> None:
    upload = _register(tracker)
    # Same key again: the uploads insert fails, and the whole step must roll back.
    with pytest.raises(TrackerError) as caught:
        tracker.register(kind="output", name="x", components=[_component("z")], key=upload.key)
    assert isinstance(caught.value.__cause__, sqlite3.IntegrityError)
    assert tracker.incomplete() == [upload]


def test_default_path_follows_xdg_cache_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert default_tracker_path() == tmp_path / "cache" / "methodic" / "uploads.sqlite3"
    with UploadTracker() as t:
        _register(t)
        assert t.path.exists()
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_tracker_path() == tmp_path / "home" / ".cache" / "methodic" / "uploads.sqlite3"
    # An explicit path wins (the methodic_fake fixture sets one per test).
    monkeypatch.setenv("METHODIC_TRACKER_PATH", str(tmp_path / "explicit.sqlite3"))
    assert default_tracker_path() == tmp_path / "explicit.sqlite3"


def test_a_tracker_touches_no_file_until_it_records_something(tmp_path: Path) -> None:
    db = tmp_path / "deep" / "uploads.sqlite3"
    with UploadTracker(db) as tracker:
        # Queries on a journal that does not exist answer "nothing" without creating it.
        assert tracker.incomplete() == []
        assert tracker.get("k") is None and tracker.claim("k") is None
        assert tracker.find_unfinished(kind="o", name="n", components=[_component("a")]) is None
        tracker.discard("k")
        assert tracker.renew("k", "t") is False
        tracker.release("k", "t")
        assert not (tmp_path / "deep").exists()
        _register(tracker)
    assert db.exists()


def test_claim_held_by_another_thread_of_this_process_is_respected(
    tracker: UploadTracker,
) -> None:
    upload = _register(tracker)  # claimed by "us", like an in-flight background upload

    assert tracker.claim(upload.key) is None
    assert upload.claim_token is not None
    tracker.release(upload.key, upload.claim_token)

    taken = tracker.claim(upload.key)
    assert taken is not None and taken.claim_token not in (None, upload.claim_token)
    assert tracker.claim(upload.key) is None


def test_claim_of_unknown_key_is_none(tracker: UploadTracker) -> None:
    assert tracker.claim("methodic-upload-missing") is None


@pytest.fixture
def without_locks(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fallback where fcntl is missing (Windows): claims are pid, host and lease."""
    monkeypatch.setattr(tracker_module, "_fcntl", None)


@pytest.mark.usefixtures("without_locks")
def test_without_locks_expired_lease_of_another_host_is_taken_over(tmp_path: Path) -> None:
    db = tmp_path / "uploads.sqlite3"
    # A lease long enough that a loaded machine still checks within it.
    with UploadTracker(db, lease=1.0) as short, UploadTracker(db) as other:
        short._host = "another-host"  # its pid cannot be checked from here: the lease decides
        upload = _register(short)
        assert upload.claim_token is not None
        assert other.claim(upload.key) is None  # lease still running
        time.sleep(1.1)
        taken = other.claim(upload.key)
        assert taken is not None
        assert short.renew(upload.key, upload.claim_token) is False
        assert taken.claim_token is not None
        assert other.renew(upload.key, taken.claim_token) is True
        # Releasing with a stale token must not free the new owner's claim.
        short.release(upload.key, upload.claim_token)
        assert other.claim(upload.key) is None


def test_a_live_owner_on_this_host_keeps_its_claim_past_the_lease(tmp_path: Path) -> None:
    db = tmp_path / "uploads.sqlite3"
    child, key = _spawn_holder(db, lease=0.05)
    try:
        with UploadTracker(db, lease=0.05) as tracker:
            mine = _register(tracker)  # held by another thread of this process, say
            time.sleep(0.1)  # both leases ran out; both owners are alive
            assert tracker.claim(key) is None
            assert tracker.claim(mine.key) is None
    finally:
        child.kill()
        child.wait()


def test_live_process_claim_blocks_until_it_is_killed(tmp_path: Path) -> None:
    db = tmp_path / "uploads.sqlite3"
    child, key = _spawn_holder(db)
    with UploadTracker(db) as tracker:
        try:
            assert tracker.claim(key) is None
        finally:
            child.kill()
        # Not yet reaped: a zombie holds the pid, but it is dead for our purposes.
        time.sleep(0.2)
        taken = tracker.claim(key)
        child.wait()
        assert taken is not None and taken.claim_pid == os.getpid()
        assert taken.name == "held"


def test_without_locks_a_claim_from_an_earlier_boot_is_dead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "uploads.sqlite3"
    child, key = _spawn_holder(db)
    monkeypatch.setattr(tracker_module, "_fcntl", None)  # the holder's lock is not looked at
    try:
        with UploadTracker(db) as tracker:
            assert tracker.claim(key) is None
            # Pids repeat after a reboot: a claim from another boot is stale even if
            # some process now has that pid.
            with sqlite3.connect(db) as raw:
                raw.execute(
                    "UPDATE uploads SET claim_boot = 'an-earlier-boot' WHERE key = ?", (key,)
                )
            if tracker._boot is None:  # no /proc: boot ids are unavailable
                pytest.skip("boot id not available on this platform")
            assert tracker.claim(key) is not None
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()


def test_threads_share_one_tracker_safely(tracker: UploadTracker) -> None:
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for j in range(15):
                upload = _register(tracker, run_id=f"run-{i}", n=3)
                tracker.set_asset_id(upload.key, f"asset-{i}-{j}")
                for c in upload.components:
                    tracker.mark_uploaded(upload.key, c.name)
                if j % 2:
                    tracker.discard(upload.key)
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    remaining = tracker.incomplete()
    assert len(remaining) == 6 * 8
    assert all(c.uploaded for u in remaining for c in u.components)


def test_processes_share_one_file_safely(tmp_path: Path) -> None:
    db = tmp_path / "uploads.sqlite3"
    script = textwrap.dedent(
        f"""
        import sys
        from methodic.tracker import ComponentFile, UploadTracker
        t = UploadTracker({str(db)!r})
        me = sys.argv[1]
        for j in range(20):
            comps = [ComponentFile(f"c{{k}}", "/p", 1, 1, "00" * 32) for k in range(3)]
            u = t.register(kind="output", name=f"{{me}}-{{j}}", components=comps, run_id=me)
            t.set_asset_id(u.key, "a")
            for c in comps:
                t.mark_uploaded(u.key, c.name)
            t.release(u.key, u.claim_token)
            if j % 2:
                t.discard(u.key)
        """
    )
    children = [
        subprocess.Popen([sys.executable, "-c", script, f"p{i}"], stderr=subprocess.PIPE)
        for i in range(4)
    ]
    for child in children:
        _, err = child.communicate(timeout=60)
        assert child.returncode == 0, err.decode()
    with UploadTracker(db) as tracker:
        for i in range(4):
            mine = tracker.incomplete(run_id=f"p{i}")
            assert sorted(u.name for u in mine) == sorted(f"p{i}-{j}" for j in range(0, 20, 2))
            assert all(u.claim_token is None for u in mine)


# Forking is the point: runners fork (DataLoader workers, multiprocessing) while our
# threads run. Python 3.12+ warns about any fork of a threaded process; this child
# only touches the journal, then leaves with os._exit.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_forked_child_opens_its_own_connection(tracker: UploadTracker) -> None:
    parent_upload = _register(tracker)
    pid = os.fork()
    if pid == 0:  # child: must not reuse the parent's SQLite connection
        code = 1
        try:
            child_upload = _register(tracker, run_id="from-child")
            tracker.mark_uploaded(child_upload.key, "part-0")
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    runs = {u.run_id for u in tracker.incomplete()}
    assert runs == {"run-1", "from-child"}
    assert tracker.get(parent_upload.key) is not None


def test_a_failed_commit_leaves_no_transaction_open(tracker: UploadTracker) -> None:
    _register(tracker)
    # A deferred constraint is only checked by COMMIT, which then fails.
    with pytest.raises(TrackerError, match="FOREIGN KEY"), tracker._transaction() as conn:
        conn.execute("PRAGMA defer_foreign_keys = ON")
        conn.execute(
            "INSERT INTO components (upload_key, position, name, path, size, mtime_ns, sha256)"
            " VALUES ('no-such-upload', 0, 'x', '/x', 1, 1, '00')"
        )

    later = _register(tracker, run_id="run-2")  # BEGIN IMMEDIATE works again
    assert [u.run_id for u in tracker.incomplete()] == ["run-1", "run-2"]
    assert tracker.get(later.key) is not None
