"""One of several processes sharing an UploadTracker file (driven by test_concurrent_tracker).

    python tracker_process.py <phase> <index> <base_url> <api_key> <run_id> <tracker> <files_dir> <result.json>

phase "upload": upload fresh assets, then journal a few more and die (os._exit, so
claims are never released) before transferring them: a crashed runner.
phase "resume": finish whatever the journal holds, competing with its peers, while
also uploading fresh assets of its own.

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

from methodic import Chronicle
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
        engine = UploadEngine(chronicle, tracker, chunk_size=16 * 1024)
        try:
            for i in range(FRESH):
                name = f"{phase}-p{index}-fresh{i}"
                path = _file(files, name, 40_000 + 997 * i)
                engine.upload(
                    kind="output", name=name, files={"data": path, "meta": path}, run_id=run_id
                )
                result["uploaded"].append(name)  # type: ignore[attr-defined]
            if phase == "upload":
                for i in range(ABANDONED):
                    name = f"{phase}-p{index}-abandoned{i}"
                    path = _file(files, name, 30_000 + 13 * i)
                    engine.register(kind="output", name=name, files={"data": path}, run_id=run_id)
                    result["abandoned"].append(name)  # type: ignore[attr-defined]
                save()
                os._exit(0)  # die holding the claims: no release, no transfer, no cleanup
            deadline = time.monotonic() + RESUME_DEADLINE
            while time.monotonic() < deadline:
                pending = tracker.incomplete(run_id=run_id)
                if not pending:
                    break
                progressed = False
                for upload in pending:
                    asset = engine.resume(upload)
                    if asset is not None:
                        assert asset.state == "ready", asset
                        result["resumed"].append(upload.name)  # type: ignore[attr-defined]
                        progressed = True
                if not progressed:
                    time.sleep(0.05)  # a live peer holds the rest; let it finish
        except BaseException:
            errors.append(traceback.format_exc())
        finally:
            tracker.close()
    save()


if __name__ == "__main__":
    main()
