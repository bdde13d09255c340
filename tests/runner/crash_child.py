"""A runner process for the crash tests: uploads (or resumes) a checkpoint, and may die.

    python crash_child.py upload <run_id> <tracker_db> <src_dir>
    python crash_child.py resume <run_id> <tracker_db> <src_dir>
    python crash_child.py lifecycle <run_id> <tracker_db> <src_dir>

Chronicle comes from CHRONICLE_BASE_URL / CHRONICLE_API_KEY. ``upload`` registers the
files of ``src_dir`` as one checkpoint with ``register_and_upload_async`` and waits for
it; ``resume`` finishes whatever the tracker holds for the run and, if the checkpoint
was never registered at all (killed while hashing), uploads it — what a restarted
runner does. ``lifecycle`` is a whole runner in ``Run.lifecycle()``: it starts (or,
restarted, attaches to) the run, uploads the checkpoint unless the run already has
it, and succeeds on leaving the block; run again after any kill, it finishes the job.

Test-only crash hook: ``METHODIC_TEST_CRASH_AT=<point>[:<n>]`` makes this process
SIGKILL itself at the n-th (default first) pass through a named journal point. The
hook wraps objects from here; the library itself has no crash hooks.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from methodic import Chronicle, Run
from methodic.tracker import UploadTracker

POINTS = (
    "before_register",  # hashing done, nothing journaled
    "after_register",  # journal committed, POST /assets not sent
    "after_post",  # asset created, id not recorded
    "after_asset_id",  # id recorded, no PUT yet
    "mid_put",  # inside a PUT body, after its first chunk
    "after_put",  # PUT answered, not marked in the journal
    "after_mark",  # a component marked uploaded
    "before_finalize",  # every component stored
    "after_finalize",  # asset ready, journal entry not yet removed
    "after_finish",  # journal entry removed (tracker.discard): all done
    # Inside Run.lifecycle()'s enter and exit:
    "lc_before_start",  # entering: nothing sent yet
    "lc_after_start",  # run started (or attached), no heartbeat yet
    "lc_after_beat",  # the heartbeater's first beat answered
    "lc_before_resume",  # about to resume the run's unfinished uploads
    "lc_after_resume",  # resumed; the block's body has not run
    "lc_before_succeed",  # leaving: background uploads done, success not yet reported
    "lc_after_succeed",  # success reported
)
CHUNK_SIZE = 32 * 1024  # several chunks per component, so mid_put lands mid-body


def _die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


class _Crash:
    """Counts passes through journal points and kills this process at the chosen one."""

    def __init__(self, spec: str | None) -> None:
        point, _, nth = (spec or "").partition(":")
        if point and point not in POINTS:
            raise SystemExit(f"unknown crash point {point!r}")
        self.point = point
        self.nth = int(nth or 1)
        self.seen: dict[str, int] = {}
        self._lock = threading.Lock()

    def at(self, point: str) -> None:
        # Component PUTs run on several threads: count under a lock so that exactly
        # one pass is the n-th.
        with self._lock:
            self.seen[point] = count = self.seen.get(point, 0) + 1
            # Tells the parent how far a randomly-timed kill got (one line per pass).
            print(f"at {point}", flush=True)
        if point == self.point and count == self.nth:
            _die()

    def wrap(self, obj: Any, method: str, before: str | None, after: str | None) -> None:
        original: Callable[..., Any] = getattr(obj, method)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if before:
                self.at(before)
            result = original(*args, **kwargs)
            if after:
                self.at(after)
            return result

        setattr(obj, method, wrapper)

    def wrap_storage(self, chronicle: Chronicle) -> None:
        original = chronicle.transport.storage_request

        def storage_request(method: str, url: str, *, content: Any = None, **kw: Any) -> Any:
            if method == "PUT" and content is not None and not isinstance(content, bytes):
                content = self._watch_body(content)
            response = original(method, url, content=content, **kw)
            if method == "PUT":
                self.at("after_put")
            return response

        chronicle.transport.storage_request = storage_request  # type: ignore[method-assign]

    def _watch_body(self, body: Iterable[bytes]) -> Iterator[bytes]:
        for i, chunk in enumerate(body):
            yield chunk
            if i == 0:
                self.at("mid_put")


def main() -> int:
    mode, run_id, tracker_db, src_dir = sys.argv[1:5]
    crash = _Crash(os.environ.get("METHODIC_TEST_CRASH_AT"))
    files = {p.name: p for p in sorted(Path(src_dir).iterdir()) if p.is_file()}
    chronicle = Chronicle()
    tracker = UploadTracker(tracker_db)
    run = Run(chronicle, run_id, tracker=tracker)

    crash.wrap(tracker, "register", "before_register", "after_register")
    crash.wrap(chronicle.assets, "create", None, "after_post")
    crash.wrap(tracker, "set_asset_id", None, "after_asset_id")
    crash.wrap(tracker, "mark_uploaded", None, "after_mark")
    crash.wrap(chronicle.assets, "finalize", "before_finalize", "after_finalize")
    crash.wrap(tracker, "discard", None, "after_finish")
    crash.wrap_storage(chronicle)
    chronicle.uploads.engine(tracker).chunk_size = CHUNK_SIZE

    print("ready", flush=True)  # the parent's random-delay clock starts here
    resumed = 0
    if mode == "upload":
        run.register_and_upload_async("checkpoint", "ckpt", files).result()
    elif mode == "lifecycle":
        crash.wrap(run, "start", "lc_before_start", "lc_after_start")
        crash.wrap(run, "heartbeat", None, "lc_after_beat")
        crash.wrap(run, "resume_uploads", "lc_before_resume", "lc_after_resume")
        crash.wrap(chronicle.runs, "succeed", "lc_before_succeed", "lc_after_succeed")
        with run.lifecycle(heartbeat_interval=0.05):
            names = {a.name for a in chronicle.assets.list(run_id=run_id)}
            if "ckpt" not in names:
                run.register_and_upload_async("checkpoint", "ckpt", files)
    elif mode == "resume":
        resumed = len(run.resume_uploads())
        names = {a.name for a in chronicle.assets.list(run_id=run_id)}
        if "ckpt" not in names:
            run.upload_asset("checkpoint", "ckpt", files)
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    print(json.dumps({"resumed": resumed}), flush=True)
    chronicle.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
