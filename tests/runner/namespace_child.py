"""A runner process for the claim tests, meant to run as pid 1 of a fresh pid namespace.

    python namespace_child.py upload <run_id> <tracker_db> <src_dir>
    python namespace_child.py resume <run_id> <tracker_db>
    python namespace_child.py hold <tracker_db>

Chronicle comes from CHRONICLE_BASE_URL / CHRONICLE_API_KEY. Every mode first prints
``{"pid": <its pid>}``.

- ``upload`` registers the files of ``src_dir`` as one checkpoint of the run with
  ``register_and_upload_async``; every component PUT stops after its first chunk and
  prints ``mid_put``, then the process waits to be SIGKILLed. (Pid 1 of a namespace
  cannot SIGKILL itself: the kernel drops signals an init has no handler for when they
  come from inside its namespace. The test kills it from outside.)
- ``resume`` finishes the run's uploads with ``resume_uploads()``, calls ``succeed()``
  and prints ``{"resumed": n}``.
- ``hold`` registers (and so claims) an upload, prints ``{"key": key}``, then for each
  key read from stdin tries to claim it and prints ``taken`` or ``held``.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from methodic import Chronicle, Run
from methodic.tracker import ComponentFile, UploadTracker

_OUTPUT = threading.Lock()


def _say(line: str) -> None:
    with _OUTPUT:  # PUT threads talk at once: one whole line each
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def _stall_every_put(chronicle: Chronicle) -> None:
    original = chronicle.transport.storage_request

    def body(chunks: Iterable[bytes]) -> Iterator[bytes]:
        for i, chunk in enumerate(chunks):
            yield chunk
            if i == 0:
                _say("mid_put")
                threading.Event().wait()  # until the SIGKILL

    def storage_request(method: str, url: str, *, content: Any = None, **kw: Any) -> Any:
        if method == "PUT" and content is not None and not isinstance(content, bytes):
            content = body(content)
        return original(method, url, content=content, **kw)

    chronicle.transport.storage_request = storage_request  # type: ignore[method-assign]


def main() -> int:
    mode = sys.argv[1]
    _say(json.dumps({"pid": os.getpid()}))
    if mode == "hold":
        tracker = UploadTracker(sys.argv[2], lease=0.01)  # leases expire: only locks count
        component = ComponentFile("a", "/nowhere/a", 1, 1, "00" * 32)
        held = tracker.register(kind="output", name="held", components=[component], run_id="r")
        _say(json.dumps({"key": held.key}))
        for line in sys.stdin:
            _say("taken" if tracker.claim(line.strip()) is not None else "held")
        return 0

    run_id, tracker_db = sys.argv[2:4]
    chronicle = Chronicle()
    tracker = UploadTracker(tracker_db)
    run = Run(chronicle, run_id, tracker=tracker)
    if mode == "upload":
        files = {p.name: p for p in sorted(Path(sys.argv[4]).iterdir()) if p.is_file()}
        _stall_every_put(chronicle)
        chronicle.uploads.engine(tracker).chunk_size = 16 * 1024
        run.register_and_upload_async("checkpoint", "ckpt", files).result()
        raise SystemExit("the upload finished: it should have been killed mid-PUT")
    if mode == "resume":
        resumed = len(run.resume_uploads())
        run.succeed()
        _say(json.dumps({"resumed": resumed}))
        chronicle.close()
        return 0
    raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    sys.exit(main())
