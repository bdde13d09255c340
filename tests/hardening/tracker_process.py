"""One of several processes sharing an UploadTracker file (driven by test_concurrent_tracker).

    python tracker_process.py <phase> <index> <base_url> <api_key> <run_id> <tracker> <files_dir> <result.json>

phase "upload": upload fresh assets through ``Run.upload_asset`` and
``Run.register_and_upload_async``, then journal a few more (one not yet sent, the
others with background transfers in flight) and die with ``os._exit``, so claims
are never released: a crashed runner.
phase "resume": upload fresh assets of its own, then ``Run.resume_uploads()`` until
the journal holds nothing for the run, competing with its peers.

Every exception is written to the result file rather than raised, so the parent can
report, for example, a ``database is locked`` from any process.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from pathlib import Path

from methodic import Chronicle, Run
from methodic.tracker import UploadTracker
from methodic.uploads import UploadEngine

FRESH = 6
ABANDONED = 3
RESUME_DEADLINE = 60.0


def _file(files_dir: Path, name: str, size: int) -> Path:
    path = files_dir / f"{name}.bin"
    path.write_bytes(name.encode() * (size // len(name) + 1))
    return path


def main() -> None:
    phase, index, base_url, api_key, run_id, tracker_path, files_dir, result_path = sys.argv[1:]
    files = Path(files_dir)
    result: dict[str, object] = {
        "pid": os.getpid(),
        "errors": [],
        "uploaded": [],
        "resumed": [],
        "abandoned": [],
    }
    errors: list[str] = result["errors"]  # type: ignore[assignment]

    def save() -> None:
        Path(result_path).write_text(json.dumps(result))

    with Chronicle(base_url, api_key) as chronicle:
        tracker = UploadTracker(tracker_path)
        run = Run(chronicle, run_id, tracker=tracker)
        try:
            # Fresh uploads, half through each public path: synchronous and background.
            futures = []
            for i in range(FRESH):
                name = f"{phase}-p{index}-fresh{i}"
                path = _file(files, name, 40_000 + 997 * i)
                components = {"data": path, "meta": path}
                if i % 2:
                    run.upload_asset("output", name, components)
                else:
                    futures.append(run.register_and_upload_async("output", name, components))
                result["uploaded"].append(name)  # type: ignore[attr-defined]
            for future in futures:
                assert future.result(timeout=60).state == "ready"
            if phase == "upload":
                engine = UploadEngine(chronicle, tracker)
                for i in range(ABANDONED):
                    name = f"{phase}-p{index}-abandoned{i}"
                    path = _file(files, name, 300_000 + 13 * i)
                    if i == 0:
                        # Journaled and created, not a byte sent.
                        engine.register(
                            kind="output", name=name, files={"data": path}, run_id=run_id
                        )
                    else:
                        # Background transfer in flight when the process dies.
                        run.register_and_upload_async("output", name, {"data": path})
                    result["abandoned"].append(name)  # type: ignore[attr-defined]
                save()
                os._exit(0)  # die holding the claims: no release, no cleanup, no waiting
            deadline = time.monotonic() + RESUME_DEADLINE
            while tracker.incomplete(run_id=run_id) and time.monotonic() < deadline:
                resumed = run.resume_uploads()
                result["resumed"].extend(a.name for a in resumed)  # type: ignore[attr-defined]
                if not resumed:
                    time.sleep(0.05)  # a live peer holds the rest; let it finish
        except BaseException:
            errors.append(traceback.format_exc())
        finally:
            tracker.close()
    save()


if __name__ == "__main__":
    main()
