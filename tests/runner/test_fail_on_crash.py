"""fail_on_crash(): exceptions become fail(), never success; SIGTERM leaves or fails."""

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
from methodic.run import Terminated

from .conftest import make_files, new_run_id, wait_until

if TYPE_CHECKING:
    from methodic_fake.harness import FakeChronicle


def test_an_exception_fails_the_run_as_a_crash_and_propagates(
    worker: Chronicle, researcher: Chronicle, run_id: str
) -> None:
    run = Run(worker, run_id)

    with pytest.raises(RuntimeError, match="CUDA out of memory"), run.fail_on_crash():
        run.start()
        raise RuntimeError("CUDA out of memory")

    failed = researcher.runs.get(run_id)
    assert failed.state == "failed" and failed.failure_reason == "crash"
    assert failed.failure_message == "RuntimeError: CUDA out of memory"


def test_the_crash_message_never_carries_the_clients_key(
    methodic_fake: FakeChronicle, researcher: Chronicle, run_id: str
) -> None:
    # A crash message is stored server-side and shown to everyone who can read the
    # run; code that puts its config (with the key) into an exception must not leak it.
    key = methodic_fake.worker_key
    run = Run(methodic_fake.client("worker"), run_id)

    with pytest.raises(RuntimeError), run.fail_on_crash():
        run.start()
        raise RuntimeError(f"bad settings: api_key={key} base=...")

    failed = researcher.runs.get(run_id)
    assert failed.failure_message is not None
    assert key not in failed.failure_message
    assert failed.failure_message == "RuntimeError: bad settings: api_key=<redacted> base=..."


def test_keyboard_interrupt_is_an_abandon(
    worker: Chronicle, researcher: Chronicle, run_id: str
) -> None:
    run = Run(worker, run_id)

    with pytest.raises(KeyboardInterrupt), run.fail_on_crash():
        run.start()
        raise KeyboardInterrupt

    assert researcher.runs.get(run_id).failure_reason == "abandoned"


def test_a_pending_run_that_crashes_is_failed_too(
    worker: Chronicle, researcher: Chronicle, run_id: str
) -> None:
    run = Run(worker, run_id)
    with pytest.raises(ValueError), run.fail_on_crash():
        run.get_variation_config()
        raise ValueError("bad config")
    assert researcher.runs.get(run_id).state == "failed"


def test_a_finished_run_is_left_alone(
    worker: Chronicle, researcher: Chronicle, run_id: str
) -> None:
    run = Run(worker, run_id)

    with pytest.raises(OSError), run.fail_on_crash():
        run.start()
        run.succeed()
        raise OSError("cleanup failed after success")

    assert researcher.runs.get(run_id).state == "succeeded"


def test_a_clean_exit_reports_nothing(
    worker: Chronicle, researcher: Chronicle, run_id: str
) -> None:
    run = Run(worker, run_id)
    with run.fail_on_crash():
        run.start()
    assert researcher.runs.get(run_id).state == "running"


def test_an_unreportable_failure_keeps_the_original_exception(
    worker: Chronicle,
    run_id: str,
    fake: FakeChronicle,
    caplog: pytest.LogCaptureFixture,
) -> None:
    run = Run(worker, run_id)
    run.start()
    fake.faults.add("runs.fail", "status", status=503)

    with pytest.raises(ZeroDivisionError), run.fail_on_crash():
        _ = 1 / 0

    assert "could not report run" in caplog.text


def test_the_sigterm_handler_is_installed_then_restored(worker: Chronicle, run_id: str) -> None:
    before = signal.getsignal(signal.SIGTERM)
    run = Run(worker, run_id)

    with run.fail_on_crash():
        inside = signal.getsignal(signal.SIGTERM)

    assert inside is not before and callable(inside)
    assert signal.getsignal(signal.SIGTERM) is before


def test_an_ignored_sigterm_stays_ignored(worker: Chronicle, run_id: str) -> None:
    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        with Run(worker, run_id).fail_on_crash():
            assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_outside_the_main_thread_no_handler_but_still_fails(
    worker: Chronicle, researcher: Chronicle, run_id: str
) -> None:
    before = signal.getsignal(signal.SIGTERM)
    caught: list[BaseException] = []

    def body() -> None:
        run = Run(worker, run_id)
        try:
            with run.fail_on_crash():
                assert signal.getsignal(signal.SIGTERM) is before
                run.start()
                raise LookupError("in a worker thread")
        except LookupError as err:
            caught.append(err)

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()

    assert len(caught) == 1
    assert researcher.runs.get(run_id).failure_reason == "crash"


def _sigterm_child(run_id: str, guard: str) -> tuple[int, str]:
    script = textwrap.dedent(
        f"""
        import time
        from methodic import Chronicle, Run
        run = Run(Chronicle(), {run_id!r})
        with {guard}:
            run.start()
            print("training", flush=True)
            time.sleep(60)
            run.succeed()
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "training"

    child.send_signal(signal.SIGTERM)
    _, err = child.communicate(timeout=30)
    return child.returncode, err


def test_sigterm_leaves_the_run_running_for_a_restart(fake: FakeChronicle) -> None:
    # A preempted runner: the scheduler starts it again with the same run id, and it
    # must be able to attach; nobody coming back is the watchdog's job.
    run_id = new_run_id(fake)

    code, err = _sigterm_child(run_id, "run.fail_on_crash()")

    assert code == 128 + signal.SIGTERM, err
    assert fake.client("researcher").runs.get(run_id).state == "running"
    restarted = Run(fake.client("worker"), run_id).start()
    assert restarted.attached is True and restarted.state == "running"


def test_sigterm_fails_the_run_on_request_and_exits_like_a_signal_death(
    fake: FakeChronicle,
) -> None:
    run_id = new_run_id(fake)

    code, err = _sigterm_child(run_id, 'run.fail_on_crash(on_sigterm="fail")')

    assert code == 128 + signal.SIGTERM, err
    failed = fake.client("researcher").runs.get(run_id)
    assert failed.state == "failed" and failed.failure_reason == "crash"
    assert failed.failure_message == f"terminated by signal {int(signal.SIGTERM)}"


def test_terminated_is_a_system_exit_with_the_shell_code() -> None:
    exc = Terminated(signal.SIGTERM)
    assert isinstance(exc, SystemExit) and exc.code == 143 and exc.signum == signal.SIGTERM


def test_sigterm_mid_upload_fails_the_run_without_waiting_for_the_puts(
    fake: FakeChronicle, tmp_path: Path
) -> None:
    run_id = new_run_id(fake)
    files = make_files(tmp_path / "src", {"a.bin": 100_000, "b.bin": 100_000, "c.bin": 100_000})
    latency = 10.0
    fake.faults.add("storage.put", "latency", seconds=latency, times=3)
    script = textwrap.dedent(
        f"""
        from methodic import Chronicle, Run, UploadTracker
        run = Run(Chronicle(), {run_id!r}, tracker=UploadTracker({str(tmp_path / "t.db")!r}))
        said = []
        def progress(done, total):
            if not said:  # bytes are leaving: the PUTs are in flight
                said.append(print("sending", flush=True))
        with run.fail_on_crash(on_sigterm="fail"):
            run.start()
            run.upload_asset("checkpoint", "ckpt", {dict((n, str(p)) for n, p in files.items())!r},
                             progress=progress)
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    researcher = fake.client("researcher")
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "sending"
        child.send_signal(signal.SIGTERM)
        # Reported long before the held PUTs could have finished, and the process
        # ends like a SIGTERM death without waiting for them either.
        wait_until(lambda: researcher.runs.get(run_id).state == "failed", timeout=latency / 2)
        assert child.wait(timeout=latency / 2) == 128 + signal.SIGTERM
    finally:
        child.kill()
        child.communicate()
    failed = researcher.runs.get(run_id)
    assert failed.failure_reason == "crash"
    assert failed.failure_message == f"terminated by signal {int(signal.SIGTERM)}"
