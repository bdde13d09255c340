"""Run.lifecycle(): one block that starts or attaches, beats, resumes, and ends the run."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import textwrap
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from methodic import Chronicle, ConflictError, Run, UploadError
from methodic.run import RunLifecycle
from methodic.tracker import UploadTracker

from .conftest import make_files, new_run_id, sha256_file, wait_until

if TYPE_CHECKING:
    from methodic_fake.harness import FakeChronicle


def test_a_pending_run_is_started_beaten_and_succeeded(
    worker: Chronicle, researcher: Chronicle, run_id: str, tracker: UploadTracker
) -> None:
    handle = Run(worker, run_id, tracker=tracker)
    with handle.lifecycle(heartbeat_interval=0.02, progress={"phase": "train"}) as run:
        assert run is handle and run.attached is False
        assert researcher.runs.get(run_id).state == "running"
        wait_until(lambda: researcher.runs.get(run_id).progress == {"phase": "train"})

    done = researcher.runs.get(run_id)
    assert done.state == "succeeded" and done.environment is not None


def test_progress_may_be_a_callable_asked_at_every_beat(
    worker: Chronicle, researcher: Chronicle, run_id: str
) -> None:
    state = {"step": 0}
    cm = Run(worker, run_id).lifecycle(heartbeat_interval=0.01, progress=lambda: dict(state))
    with cm:
        for step in range(1, 4):
            state["step"] = step
            wait_until(partial(_beats_at_least, cm, cm.heartbeater.beats + 2))
        wait_until(lambda: researcher.runs.get(run_id).progress == {"step": 3})
    assert researcher.runs.get(run_id).state == "succeeded"


def test_the_run_ends_with_the_progress_the_block_reached(
    worker: Chronicle, researcher: Chronicle, run_id: str
) -> None:
    # One beat at entry (step 0), none since (the interval is long): leaving the block
    # beats once more so the finished run shows where it got to, not step 0.
    step = 0
    with Run(worker, run_id).lifecycle(heartbeat_interval=60, progress=lambda: {"step": step}):
        wait_until(lambda: researcher.runs.get(run_id).progress == {"step": 0})
        step = 1000
    done = researcher.runs.get(run_id)
    assert (done.state, done.progress) == ("succeeded", {"step": 1000})


def test_the_last_beat_encodes_progress_and_a_bad_one_never_fails_the_run(
    methodic_fake: FakeChronicle,
    worker: Chronicle,
    researcher: Chronicle,
    run_id: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The beat before succeed() goes through the same encoding as every other beat:
    # a loss that went NaN at the very end is sent as "NaN", and a progress callable
    # that breaks only then sends the beat without progress; the run succeeds.
    state: dict[str, object] = {"step": 0}

    def progress() -> dict[str, object]:
        if state.get("broken"):
            raise RuntimeError("progress source broke at the end")
        return dict(state)

    with Run(worker, run_id).lifecycle(heartbeat_interval=60, progress=progress) as run:
        wait_until(lambda: researcher.runs.get(run_id).progress == {"step": 0})
        state.update(step=9, loss=float("nan"))
    done = researcher.runs.get(run_id)
    assert (done.state, done.progress) == ("succeeded", {"step": 9, "loss": "NaN"})
    assert run.heartbeat_health.beats == 2  # the entry beat and the last one

    other = new_run_id(methodic_fake)
    state["broken"] = True
    with (
        caplog.at_level(logging.WARNING, logger="methodic"),
        Run(worker, other).lifecycle(heartbeat_interval=60, progress=progress) as run,
    ):
        pass
    assert researcher.runs.get(other).state == "succeeded"
    assert "progress callable raised RuntimeError" in (run.heartbeat_health.progress_problem or "")
    assert "failed" not in caplog.text  # no failed beat: the beat itself went out


def _beats_at_least(cm: RunLifecycle, n: int) -> bool:
    return cm.heartbeater.beats >= n


def test_a_running_run_is_attached_to_and_logged(
    worker: Chronicle, researcher: Chronicle, run_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    worker.runs.start(run_id, environment={"first": "process"})
    caplog.set_level(logging.INFO, logger="methodic")

    with Run(worker, run_id).lifecycle(heartbeat_interval=0.02) as run:
        assert run.attached is True

    assert f"run {run_id} is already running: attached" in caplog.text
    assert researcher.runs.get(run_id).state == "succeeded"


@pytest.mark.parametrize("finish", ["succeed", "fail"])
def test_a_finished_run_is_refused_before_anything_changes(
    worker: Chronicle, researcher: Chronicle, run_id: str, finish: str
) -> None:
    worker.runs.start(run_id)
    if finish == "succeed":
        worker.runs.succeed(run_id)
    else:
        worker.runs.fail(run_id, reason="abandoned", message="cancelled")
    before = researcher.runs.get(run_id)
    body_ran = False

    refused = pytest.raises(ConflictError, match="can be neither started nor attached")
    with refused as caught, Run(worker, run_id).lifecycle(heartbeat_interval=0.01):
        body_ran = True

    assert not body_ran and caught.value.status_code == 409
    assert researcher.runs.get(run_id) == before


def test_an_exception_fails_the_run_with_a_redacted_message(
    methodic_fake: FakeChronicle, researcher: Chronicle, run_id: str
) -> None:
    key = methodic_fake.worker_key
    run = Run(methodic_fake.client("worker"), run_id)

    with pytest.raises(RuntimeError), run.lifecycle(heartbeat_interval=0.02):
        raise RuntimeError(f"bad settings: api_key={key}")

    failed = researcher.runs.get(run_id)
    assert failed.state == "failed" and failed.failure_reason == "crash"
    assert failed.failure_message == "RuntimeError: bad settings: api_key=<redacted>"


def test_ctrl_c_abandons_the_run(worker: Chronicle, researcher: Chronicle, run_id: str) -> None:
    with pytest.raises(KeyboardInterrupt), Run(worker, run_id).lifecycle(heartbeat_interval=1):
        raise KeyboardInterrupt

    assert researcher.runs.get(run_id).failure_reason == "abandoned"


def test_a_clean_exit_waits_for_background_uploads_then_succeeds(
    worker: Chronicle,
    researcher: Chronicle,
    run_id: str,
    tracker: UploadTracker,
    files: dict[str, Path],
    fake: FakeChronicle,
) -> None:
    fake.faults.add("storage.put", "latency", seconds=0.3, times=3)

    with Run(worker, run_id, tracker=tracker).lifecycle(heartbeat_interval=0.05) as run:
        future = run.register_and_upload_async("checkpoint", "step-1", files)
        assert not future.done()

    assert future.done() and future.result().state == "ready"
    assert researcher.runs.get(run_id).state == "succeeded"
    assert tracker.incomplete() == []


def test_a_failed_background_upload_fails_the_run_instead_of_succeeding(
    worker: Chronicle,
    researcher: Chronicle,
    run_id: str,
    tracker: UploadTracker,
    files: dict[str, Path],
    fake: FakeChronicle,
) -> None:
    fake.faults.add("storage.put", "status", status=503, times=3)

    with pytest.raises(UploadError), Run(worker, run_id, tracker=tracker).lifecycle() as run:
        run.register_and_upload_async("checkpoint", "step-1", files)

    failed = researcher.runs.get(run_id)
    assert failed.state == "failed" and failed.failure_reason == "crash"
    assert failed.failure_message is not None and "UploadError" in failed.failure_message


def test_finishing_inside_the_block_is_respected(
    worker: Chronicle, researcher: Chronicle, run_id: str
) -> None:
    with Run(worker, run_id).lifecycle(heartbeat_interval=0.02) as run:
        run.fail(reason="abandoned", message="nothing to do")

    assert researcher.runs.get(run_id).failure_reason == "abandoned"


def test_entering_resumes_the_runs_unfinished_uploads(
    fake: FakeChronicle,
    worker: Chronicle,
    researcher: Chronicle,
    run_id: str,
    tracker: UploadTracker,
    files: dict[str, Path],
) -> None:
    # What a killed predecessor leaves: registered, asset created, no byte stored.
    worker.runs.start(run_id)
    engine = worker.uploads.engine(tracker)
    prepared = engine.register(kind="checkpoint", name="ckpt", files=files, run_id=run_id)
    engine.release(prepared)

    lifecycle = Run(worker, run_id, tracker=tracker).lifecycle(heartbeat_interval=0.05)
    with lifecycle as run:
        assert run.attached is True
        assert [a.id for a in lifecycle.resumed] == [prepared.asset.id]
        assert tracker.incomplete() == []
        [asset] = researcher.assets.list(run_id=run_id)
        assert asset.state == "ready"
        assert {c.name: c.sha256 for c in asset.components} == {
            n: sha256_file(p) for n, p in files.items()
        }

    assert researcher.runs.get(run_id).state == "succeeded"


def test_the_old_order_heartbeating_before_start_never_fails_the_run(
    worker: Chronicle, researcher: Chronicle, run_id: str
) -> None:
    run = Run(worker, run_id)
    with run.fail_on_crash(), run.heartbeating(interval=0.01) as beater:
        # Pending: the heartbeater waits instead of getting 409 for a pending run.
        wait_until(lambda: beater.running)
        assert beater.beats == 0 and beater.error is None
        run.start()
        wait_until(lambda: beater.beats >= 2)
        run.succeed()

    assert beater.error is None
    assert researcher.runs.get(run_id).state == "succeeded"


def test_start_on_a_running_run_attaches_instead_of_crashing(
    worker: Chronicle, researcher: Chronicle, run_id: str
) -> None:
    worker.runs.start(run_id)
    run = Run(worker, run_id)

    with run.fail_on_crash():
        assert run.start().attached is True
        run.succeed()

    assert researcher.runs.get(run_id).state == "succeeded"


def _sigterm_lifecycle_child(fake: FakeChronicle, tmp_path: Path, on_sigterm: str) -> str:
    run_id = new_run_id(fake)
    files = make_files(tmp_path / "src", {"a.bin": 100_000, "b.bin": 100_000})
    fake.faults.add("storage.put", "latency", seconds=10, times=2)
    paths = {n: str(p) for n, p in files.items()}
    script = textwrap.dedent(
        f"""
        from methodic import Chronicle, Run, UploadTracker
        tracker = UploadTracker({str(tmp_path / "t.db")!r})
        with Chronicle() as chronicle:  # leaving it must not wait out the PUT either
            run = Run(chronicle, {run_id!r}, tracker=tracker)
            with run.lifecycle(heartbeat_interval=0.05, on_sigterm={on_sigterm!r}):
                run.register_and_upload_async("checkpoint", "ckpt", {paths!r})
                print("uploading", flush=True)
                import time; time.sleep(60)
        """
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "uploading"
        child.send_signal(signal.SIGTERM)
        # Ends like a SIGTERM death, without waiting out the held PUTs.
        assert child.wait(timeout=8) == 128 + signal.SIGTERM
    finally:
        child.kill()
        child.communicate()
    return run_id


def test_sigterm_by_default_leaves_the_run_for_its_restart(
    fake: FakeChronicle, tmp_path: Path, researcher: Chronicle
) -> None:
    run_id = _sigterm_lifecycle_child(fake, tmp_path, "leave")
    assert researcher.runs.get(run_id).state == "running"
    fake.faults.clear()

    # The preempted runner comes back with the same run id: attach, resume, succeed.
    with UploadTracker(tmp_path / "t.db") as tracker:
        with Run(fake.client("worker"), run_id, tracker=tracker).lifecycle() as run:
            assert run.attached is True
        assert tracker.incomplete() == []
    assert researcher.runs.get(run_id).state == "succeeded"
    [asset] = researcher.assets.list(run_id=run_id)
    assert asset.state == "ready"


def test_sigterm_fails_the_run_when_asked_to(
    fake: FakeChronicle, tmp_path: Path, researcher: Chronicle
) -> None:
    run_id = _sigterm_lifecycle_child(fake, tmp_path, "fail")
    failed = researcher.runs.get(run_id)
    assert failed.state == "failed" and failed.failure_reason == "crash"
    assert failed.failure_message == f"terminated by signal {int(signal.SIGTERM)}"


def test_on_sigterm_must_be_leave_or_fail(worker: Chronicle, run_id: str) -> None:
    with pytest.raises(ValueError, match="on_sigterm"):
        Run(worker, run_id).lifecycle(on_sigterm="ignore")  # type: ignore[arg-type]


def test_an_upload_that_cannot_be_resumed_fails_the_run_on_entry(
    worker: Chronicle,
    researcher: Chronicle,
    run_id: str,
    tracker: UploadTracker,
    files: dict[str, Path],
) -> None:
    worker.runs.start(run_id)
    engine = worker.uploads.engine(tracker)
    engine.release(engine.register(kind="checkpoint", name="ckpt", files=files, run_id=run_id))
    files["model.bin"].write_bytes(b"not what was registered")
    body_ran = False

    lifecycle = Run(worker, run_id, tracker=tracker).lifecycle(heartbeat_interval=0.05)
    with pytest.raises(UploadError, match="changed"), lifecycle:
        body_ran = True

    assert not body_ran
    failed = researcher.runs.get(run_id)
    assert failed.state == "failed" and failed.failure_reason == "crash"
