"""A minimal training runner, as a third-party runner author would write it.

It is started by `examples/demo.py` as a separate process, reaches Chronicle through
`CHRONICLE_BASE_URL` / `CHRONICLE_API_KEY` only, and can be SIGKILLed at any moment:
started again with the same arguments, it finishes what its predecessor left.

    python examples/demo_runner.py RUN_ID --tracker uploads.sqlite3 --workdir out/
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

from methodic import Chronicle, Run, UploadTracker


def say(message: str) -> None:
    # The orchestrator reads these lines to know where the runner is.
    print(f"    [runner pid] {message}", flush=True)


def write_checkpoint(workdir: Path, step: int, size_mib: int) -> dict[str, Path]:
    """Fake a multi-file checkpoint: deterministic bytes, so resumes can be checked."""
    workdir.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    for name, salt in (("model.bin", b"model"), ("optimizer.bin", b"optim")):
        path = workdir / name
        block = hashlib.sha256(salt + str(step).encode()).digest() * (1024 * 1024 // 32)
        with path.open("wb") as out:
            for _ in range(size_mib):
                out.write(block)
        files[name] = path
    meta = workdir / "trainer_state.json"
    meta.write_text(json.dumps({"step": step}))
    files["trainer_state.json"] = meta
    return files


def train(run: Run, workdir: Path, size_mib: int, progress: dict[str, int]) -> None:
    """The body of the run's lifecycle block: everything between start and success."""
    config = run.get_variation_config().config_json
    say(f"config: {json.dumps(config, sort_keys=True)}")
    steps = int(config.get("steps", 3))

    # After a restart this is the run's own checkpoint: continue where it got to. For
    # a run resuming another (resume_from_run_id), that run's: train `steps` more.
    checkpoint = run.download_checkpoint(workdir / "resume")
    done = target = 0
    if checkpoint is not None:
        state = json.loads(checkpoint.paths["trainer_state.json"].read_text())
        done = state["step"]
        whose = "its own" if checkpoint.run_id == run.id else f"run {checkpoint.run_id[:8]}'s"
        files = len(checkpoint.paths)
        say(f"restored {whose} checkpoint of step {done} ({files} files, sha256 verified)")
        if checkpoint.run_id != run.id:
            target = done
    target += steps
    if done >= target:
        say(f"its checkpoint already has all {target} steps: nothing to redo")
        return

    for step in range(done + 1, target + 1):
        progress.update(step=step, of=target)  # the heartbeater reports it
    say(f"trained to step {target}, heartbeating")
    files = write_checkpoint(workdir / "ckpt", target, size_mib)
    run.register_and_upload_async("checkpoint", f"step-{target}", files, metadata={"step": target})
    say("checkpoint registered; uploading in the background")
    run.upload_inline("output", "metrics", {"loss": 0.42, "steps": target})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("run_id")
    parser.add_argument("--tracker", type=Path, required=True)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--size-mib", type=int, default=8)
    args = parser.parse_args(argv)
    progress: dict[str, int] = {}
    with Chronicle() as chronicle, UploadTracker(args.tracker) as tracker:
        lifecycle = Run(chronicle, args.run_id, tracker=tracker).lifecycle(
            heartbeat_interval=30, progress=lambda: progress
        )
        with lifecycle as run:
            if run.attached:
                say("run was already running: restarted after a crash, attached to it")
            else:
                say("started")
            for asset in lifecycle.resumed:
                say(f"resumed upload of {asset.name!r}: asset {asset.state}")
            train(run, args.workdir, args.size_mib, progress)
        # Leaving the block waited for the background upload, then succeeded.
        say("succeeded (after its background uploads finished)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
