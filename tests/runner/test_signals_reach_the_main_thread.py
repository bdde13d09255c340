"""A signal sent to a runner's process reaches its main thread, whatever methodic runs.

Python runs signal handlers on the main thread only, but the kernel hands a signal sent
to the process (a scheduler's SIGTERM, Ctrl-C's SIGINT) to any thread that does not
block it. When it picked a methodic thread (the heartbeater, an upload or download
worker), the main thread was not woken: a runner sleeping, or waiting for its uploads
in ``succeed()``, learnt of its SIGTERM only when that wait ended, which on a loaded
machine was after the scheduler's grace period (tests/runner/test_lifecycle.py's
SIGTERM tests timed out that way, a few runs in a hundred). Every thread methodic
starts blocks the asynchronous signals, so the kernel must leave them to a thread
that can act on them.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from methodic import Chronicle, Run
from methodic.downloads import download_asset

from .conftest import make_files, new_run_id, wait_until

if TYPE_CHECKING:
    from methodic_fake.harness import FakeChronicle

pytestmark = pytest.mark.skipif(
    not hasattr(signal, "pthread_sigmask"), reason="no per-thread signal masks here"
)


def test_a_sigterm_methodic_threads_could_take_is_left_for_the_main_thread(
    methodic_fake: FakeChronicle, tmp_path: Path, researcher: Chronicle
) -> None:
    # The main thread blocks SIGTERM while the heartbeater and two upload workers run,
    # so the kernel must give the signal to one of them, or keep it for the process
    # until the main thread unblocks it: only the latter ends the sleep below.
    run_id = new_run_id(methodic_fake)
    files = make_files(tmp_path / "src", {"a.bin": 100_000, "b.bin": 100_000})
    methodic_fake.faults.add("storage.put", "latency", seconds=10, times=2)
    paths = {n: str(p) for n, p in files.items()}
    script = textwrap.dedent(
        f"""
        import signal, sys, time
        from methodic import Chronicle, Run
        with Chronicle() as chronicle:
            run = Run(chronicle, {run_id!r})
            with run.lifecycle(heartbeat_interval=0.05, on_sigterm="fail"):
                run.register_and_upload_async("checkpoint", "ckpt", {paths!r})
                time.sleep(0.3)  # the workers are sending, the heartbeater beating
                signal.pthread_sigmask(signal.SIG_BLOCK, {{signal.SIGTERM}})
                print("ready", flush=True)
                sys.stdin.readline()  # the parent has signalled the process
                pending = signal.SIGTERM in signal.sigpending()
                print("left for main" if pending else "taken by a thread", flush=True)
                signal.pthread_sigmask(signal.SIG_UNBLOCK, {{signal.SIGTERM}})
                time.sleep(60)
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdin is not None and child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        child.send_signal(signal.SIGTERM)
        child.stdin.write("go\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "left for main"
        assert child.wait(timeout=8) == 128 + signal.SIGTERM
    finally:
        child.kill()
        child.communicate()
    failed = researcher.runs.get(run_id)
    assert (failed.state, failed.failure_message) == ("failed", "terminated by signal 15")


def _blocked(thread: threading.Thread) -> set[int]:
    """The signals ``thread`` blocks, from the kernel's view of it (Linux)."""
    status = Path(f"/proc/self/task/{thread.native_id}/status").read_text()
    mask = int(next(line for line in status.splitlines() if line.startswith("SigBlk:"))[7:], 16)
    return {number for number in range(1, 65) if mask & (1 << (number - 1))}


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux's /proc")
def test_every_thread_methodic_starts_blocks_the_signals_handled_on_main(
    methodic_fake: FakeChronicle, worker: Chronicle, tmp_path: Path
) -> None:
    run_id = new_run_id(methodic_fake)
    files = make_files(tmp_path / "src", {"a.bin": 50_000, "b.bin": 50_000})
    seen: dict[str, set[int]] = {}

    def look() -> bool:
        for thread in threading.enumerate():
            name = thread.name
            if name.startswith("methodic") and not name.startswith("methodic-fake"):
                seen.setdefault(name, _blocked(thread))
        return False

    run = Run(worker, run_id)
    with run.lifecycle(heartbeat_interval=0.05):
        methodic_fake.faults.add("storage.put", "latency", seconds=0.5, times=2)
        future = run.register_and_upload_async("output", "o", files)
        wait_until(lambda: look() or len(seen) >= 3)  # the heartbeater and upload workers
        asset = future.result()
    methodic_fake.faults.add("storage.get", "latency", seconds=0.5, times=2)
    fetch = threading.Thread(target=download_asset, args=(worker, asset, tmp_path / "dest"))
    fetch.start()
    wait_until(lambda: look() or any(name.startswith("methodic-get") for name in seen))
    fetch.join()

    kinds = {name.split("-")[1].rstrip("_0123456789") for name in seen}
    assert {"heartbeat", "put", "get"} <= kinds, f"methodic's threads seen: {sorted(seen)}"
    for name, blocked in seen.items():
        assert {signal.SIGTERM, signal.SIGINT} <= blocked, (name, sorted(blocked))
        assert signal.SIGSEGV not in blocked, name  # a thread's own faults still reach it
