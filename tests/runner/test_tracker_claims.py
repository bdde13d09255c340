"""Claims are owned by a lock the kernel ends with the process, never by a pid.

A restarted container's runner is pid 1 again, on the same host name and boot: it
must resume the dead pid 1's upload, not mistake it for one of its own threads.
Processes in different pid namespaces sharing one journal must never take each
other's live claims. Both are run for real, as pid 1 of fresh pid namespaces
(``unshare --pid --fork --mount-proc``), against the fake over a loopback socket.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import queue
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING

import pytest

from methodic import Chronicle
from methodic.downloads import download_asset
from methodic.tracker import ComponentFile, UploadTracker

from .conftest import make_files, new_run_id

if TYPE_CHECKING:
    from methodic_fake.harness import FakeChronicle

CHILD = Path(__file__).with_name("namespace_child.py")
SIZES = {"model.bin": 300_000, "optim.bin": 120_000, "meta.json": 2_000}


@pytest.fixture(scope="module")
def unshare() -> None:
    """Skip (with the reason) where pid namespaces cannot be made: not root, no unshare."""
    command = ["unshare", "--pid", "--fork", "--mount-proc", "true"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as err:
        pytest.skip(f"cannot run {' '.join(command)}: {err}")
    if done.returncode != 0:
        pytest.skip(f"{' '.join(command)} failed: {done.stderr.strip()}")


class NamespacedChild:
    """``namespace_child.py`` as pid 1 (or pid 2, under a shell) of a new pid namespace."""

    def __init__(self, args: list[str], env: dict[str, str] | None = None, pid: int = 1) -> None:
        command = [sys.executable, str(CHILD), *args]
        if pid == 2:  # a shell is the namespace's init; python its first child
            command = ["sh", "-c", '"$@"; exit $?', "sh", *command]
        self.proc = subprocess.Popen(
            ["unshare", "--pid", "--fork", "--mount-proc", "--", *command],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        assert self.proc.stdout is not None
        threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True).start()
        self.ns_pid = json.loads(self.line())["pid"]
        assert self.ns_pid == pid, "not the pid we asked the namespace for"

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self._lines.put(line.strip())
        self._lines.put(None)

    def line(self, timeout: float = 60.0) -> str:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no output within {timeout} s") from None
        if line is None:
            assert self.proc.stderr is not None
            raise AssertionError(f"child ended early:\n{self.proc.stderr.read()}")
        return line

    def ask(self, key: str) -> str:
        assert self.proc.stdin is not None
        self.proc.stdin.write(key + "\n")
        self.proc.stdin.flush()
        return self.line()

    def host_pid(self) -> int:
        """The child's pid as seen from here (it is 1 or 2 only inside its namespace)."""
        for pid in _descendants(self.proc.pid):
            try:
                argv0 = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
            except OSError:
                continue
            if argv0 == os.fsencode(sys.executable):
                return pid
        raise AssertionError("the namespaced python process is gone")

    def sigkill(self) -> None:
        # From outside the namespace: SIGKILL reaches even its init.
        os.kill(self.host_pid(), signal.SIGKILL)
        self.proc.wait(timeout=60)

    def finish(self) -> tuple[int, str]:
        assert self.proc.stdin is not None and self.proc.stderr is not None
        self.proc.stdin.close()
        code = self.proc.wait(timeout=120)
        return code, self.proc.stderr.read()

    def kill(self) -> None:
        if self.proc.poll() is None:
            for pid in _descendants(self.proc.pid):  # before unshare: they get reparented
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            self.proc.kill()
            self.proc.wait(timeout=60)


def _descendants(pid: int) -> list[int]:
    found: list[int] = []
    pending = [pid]
    while pending:
        parent = pending.pop()
        try:
            tids = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                children = Path(f"/proc/{parent}/task/{tid}/children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                found.append(child)
                pending.append(child)
    return found


@pytest.fixture
def children() -> Iterator[list[NamespacedChild]]:
    spawned: list[NamespacedChild] = []
    yield spawned
    for child in spawned:
        child.kill()


@pytest.mark.usefixtures("unshare")
def test_a_restarted_container_resumes_its_dead_pid_1s_upload(
    fake: FakeChronicle, tmp_path: Path, children: list[NamespacedChild]
) -> None:
    researcher = fake.client("researcher")
    run_id = new_run_id(fake)
    fake.client("worker").runs.start(run_id)
    files = make_files(tmp_path / "src", SIZES, seed=7)
    db = tmp_path / "journal" / "uploads.sqlite3"
    env = {"CHRONICLE_BASE_URL": fake.base_url, "CHRONICLE_API_KEY": fake.worker_key}

    first = NamespacedChild(["upload", run_id, str(db), str(tmp_path / "src")], env)
    children.append(first)
    assert first.line() == "mid_put"
    with UploadTracker(db) as tracker:
        [held] = tracker.incomplete(run_id=run_id)
        assert held.claim_pid == 1 and held.claim_token is not None
        assert tracker.claim(held.key) is None  # its owner is alive
    first.sigkill()

    # Same pid, same host name, same boot: only the owner's lock tells them apart.
    second = NamespacedChild(["resume", run_id, str(db)], env)
    children.append(second)
    assert json.loads(second.line()) == {"resumed": 1}
    code, err = second.finish()
    assert code == 0, err

    assert researcher.runs.get(run_id).state == "succeeded"
    assets = list(researcher.assets.list(run_id=run_id))
    assert [(a.name, a.state) for a in assets] == [("ckpt", "ready")]
    shas = {n: hashlib.sha256(p.read_bytes()).hexdigest() for n, p in files.items()}
    assert {c.name: c.sha256 for c in assets[0].components} == shas
    for path in download_asset(researcher, assets[0], tmp_path / "check"):
        assert path.read_bytes() == files[path.name].read_bytes()
    with UploadTracker(db) as tracker:
        assert tracker.incomplete() == []
        # The killed owner's lock file was removed once found dead; the clean exit
        # removed the resumer's.
        assert os.listdir(tracker.owners_dir) == []


@pytest.mark.usefixtures("unshare")
@pytest.mark.parametrize("first_pid", [1, 2])
def test_live_processes_in_other_pid_namespaces_keep_their_claims(
    tmp_path: Path, children: list[NamespacedChild], first_pid: int
) -> None:
    db = tmp_path / "uploads.sqlite3"
    first = NamespacedChild(["hold", str(db)], pid=first_pid)
    children.append(first)
    first_key = json.loads(first.line())["key"]
    second = NamespacedChild(["hold", str(db)])
    children.append(second)
    second_key = json.loads(second.line())["key"]
    time.sleep(0.05)  # their 10 ms leases have run out: only the locks keep the claims

    assert second.ask(first_key) == "held"
    assert first.ask(second_key) == "held"
    with UploadTracker(db) as here:  # and from this (third) pid namespace
        assert here.claim(first_key) is None and here.claim(second_key) is None

    first.sigkill()
    assert second.ask(first_key) == "taken"
    code, err = second.finish()
    assert code == 0, err


def _spawn_registrar(db: Path, then: str) -> subprocess.Popen[str]:
    """A process that registers (claims) an upload, prints its key, then runs ``then``."""
    script = textwrap.dedent(
        f"""
        import os, sys, time
        from methodic.tracker import ComponentFile, UploadTracker
        t = UploadTracker({str(db)!r})
        c = ComponentFile("a", "/x/a", 1, 1, "00" * 32)
        print(t.register(kind="output", name="held", components=[c], run_id="r").key, flush=True)
        """
    )
    return subprocess.Popen(
        [sys.executable, "-c", script + textwrap.dedent(then)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def test_a_dead_owner_whose_pid_is_ours_is_taken_over(tmp_path: Path) -> None:
    db = tmp_path / "uploads.sqlite3"
    holder = _spawn_registrar(db, "os.kill(os.getpid(), 9)")
    assert holder.stdout is not None
    key = holder.stdout.readline().strip()
    holder.wait()
    # Pid reuse, as after a container restart: the dead owner had our pid and host.
    with sqlite3.connect(db) as raw:
        raw.execute("UPDATE uploads SET claim_pid = ? WHERE key = ?", (os.getpid(), key))
    with UploadTracker(db) as tracker:
        taken = tracker.claim(key)
        assert taken is not None and taken.name == "held"
        assert tracker.claim(key) is None  # ours now, and alive


def test_two_trackers_of_one_process_keep_each_others_claims(tmp_path: Path) -> None:
    db = tmp_path / "uploads.sqlite3"
    component = ComponentFile("a", "/x/a", 1, 1, "00" * 32)
    with UploadTracker(db, lease=0.01) as one, UploadTracker(db, lease=0.01) as two:
        first = one.register(kind="output", name="one", components=[component])
        second = two.register(kind="output", name="two", components=[component])
        time.sleep(0.05)
        assert two.claim(first.key) is None and one.claim(second.key) is None
        assert first.claim_token is not None
        one.release(first.key, first.claim_token)
        assert two.claim(first.key) is not None


def test_a_forked_child_does_not_keep_its_parents_claims_alive(tmp_path: Path) -> None:
    db = tmp_path / "uploads.sqlite3"
    # The parent forks a long-lived child (a data loader worker, say), then dies.
    holder = _spawn_registrar(
        db,
        """
        child = os.fork()
        if child == 0:
            time.sleep(60)
            os._exit(0)
        print(child, flush=True)
        sys.stdin.readline()
        os.kill(os.getpid(), 9)
        """,
    )
    assert holder.stdout is not None and holder.stdin is not None
    key = holder.stdout.readline().strip()
    orphan = int(holder.stdout.readline())
    try:
        with UploadTracker(db) as tracker:
            assert tracker.claim(key) is None  # the parent lives
            holder.stdin.write("die\n")
            holder.stdin.flush()
            holder.wait()
            os.kill(orphan, 0)  # the forked child still runs...
            assert tracker.claim(key) is not None  # ...and holds no claim of its parent
    finally:
        os.kill(orphan, signal.SIGKILL)


def test_a_killed_owners_lock_file_is_swept(tmp_path: Path) -> None:
    db = tmp_path / "uploads.sqlite3"
    holder = _spawn_registrar(db, "os.kill(os.getpid(), 9)")
    holder.wait()
    owners = db.with_name("uploads.sqlite3-owners")
    assert len(os.listdir(owners)) == 1  # left behind, unlocked

    with UploadTracker(db) as tracker:
        component = ComponentFile("b", "/x/b", 1, 1, "00" * 32)
        tracker.register(kind="output", name="mine", components=[component])
        # Only the live owner's file remains: the dead one went on the way.
        assert len(os.listdir(owners)) == 1
        assert tracker._owner is not None
        assert os.listdir(owners) == [tracker._owner.token]


def test_a_worker_without_unshare_still_recovers(
    fake: FakeChronicle, tmp_path: Path, worker: Chronicle
) -> None:
    # The same restart without namespaces: a plain second process takes over.
    run_id = new_run_id(fake)
    worker.runs.start(run_id)
    make_files(tmp_path / "src", SIZES, seed=3)
    db = tmp_path / "uploads.sqlite3"
    env = {
        **os.environ,
        "CHRONICLE_BASE_URL": fake.base_url,
        "CHRONICLE_API_KEY": fake.worker_key,
    }
    first = subprocess.Popen(
        [sys.executable, str(CHILD), "upload", run_id, str(db), str(tmp_path / "src")],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert first.stdout is not None
    first.stdout.readline()
    assert first.stdout.readline().strip() == "mid_put"
    first.kill()
    first.wait()
    done = subprocess.run(
        [sys.executable, str(CHILD), "resume", run_id, str(db)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.splitlines()[-1]) == {"resumed": 1}
    assert worker.runs.get(run_id).state == "succeeded"
