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


def train(run: Run, workdir: Path, size_mib: int) -> None:
    config = run.get_variation_config().config_json
    say(f"config: {json.dumps(config, sort_keys=True)}")
    if run.state == "pending":
        run.start()
        say("started")
    else:
        # A predecessor was killed after starting: the run is ours to finish.
        say(f"run is already {run.state}: restarted after a crash")
        resumed = run.resume_uploads()
        for asset in resumed:
            say(f"resumed upload of {asset.name!r}: asset {asset.state}")
        run.succeed()
        say("succeeded")
        return

    resume_dir = workdir / "resume"
    restored = run.download_checkpoint(resume_dir)
    if restored is not None:
        state = json.loads(restored.paths["trainer_state.json"].read_text())
        files = len(restored.paths)
        say(f"restored checkpoint of step {state['step']} ({files} files, sha256 verified)")

    steps = int(config.get("steps", 3))
    for step in range(1, steps + 1):
        run.heartbeat(progress={"step": step, "of": steps})
    say(f"trained {steps} steps, heartbeating")
    files = write_checkpoint(workdir / "ckpt", steps, size_mib)
    future = run.register_and_upload_async("checkpoint", f"step-{steps}", files)
    say("checkpoint registered; uploading in the background")
    run.upload_inline("output", "metrics", {"loss": 0.42, "steps": steps})
    future.result()
    run.succeed()
    say("succeeded (after its background upload finished)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("run_id")
    parser.add_argument("--tracker", type=Path, required=True)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--size-mib", type=int, default=8)
    args = parser.parse_args(argv)
    with Chronicle() as chronicle, UploadTracker(args.tracker) as tracker:
        run = Run(chronicle, args.run_id, tracker=tracker)
        with run.fail_on_crash():
            train(run, args.workdir, args.size_mib)
    return 0


if __name__ == "__main__":
    sys.exit(main())
