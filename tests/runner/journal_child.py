"""A runner process for the journal fault tests; run where the journal is broken.

    python journal_child.py <quiet_run_id> <uploading_run_id> <file_to_upload> [--fill]

The default journal is ``$METHODIC_TRACKER_PATH`` (broken by the caller: garbage,
truncated, or on a read-only mount); Chronicle comes from CHRONICLE_BASE_URL /
CHRONICLE_API_KEY. With ``--fill`` the journal is first made to work (one upload
registered) and then its filesystem is filled to the last byte.

The first run starts and succeeds without uploading anything; the second tries an
upload. Prints one JSON line: the first run's final state, and the error the upload
raised (type, ``path``, message, type of ``__cause__``).
"""

from __future__ import annotations

import contextlib
import errno
import json
import sys
from pathlib import Path

from methodic import Chronicle, ChronicleError, Run
from methodic.tracker import ComponentFile, UploadTracker, default_tracker_path


def _fill(directory: Path) -> None:
    """Write until the filesystem refuses a single byte more."""
    with open(directory / "filler", "wb", buffering=0) as f:
        for size in (1 << 16, 4096, 512, 1):
            with contextlib.suppress(OSError):
                while True:
                    f.write(b"\0" * size)
    try:
        (directory / "probe").write_bytes(b"x")
    except OSError as err:
        assert err.errno == errno.ENOSPC, err
    else:
        raise SystemExit("the filesystem is not full")


def main() -> int:
    quiet_run_id, uploading_run_id, upload_file = sys.argv[1:4]
    journal = default_tracker_path()
    if "--fill" in sys.argv:
        with UploadTracker(journal) as tracker:
            component = ComponentFile("a", "/x/a", 1, 1, "00" * 32)
            tracker.register(kind="output", name="earlier", components=[component])
        _fill(journal.parent)

    chronicle = Chronicle()
    quiet = Run(chronicle, quiet_run_id).start().succeed()
    result: dict[str, object] = {"quiet_run": quiet.state}

    uploading = Run(chronicle, uploading_run_id).start()
    try:
        uploading.upload_asset("output", "preds", {"preds.bin": upload_file})
    except ChronicleError as err:
        result["error"] = {
            "type": type(err).__name__,
            "path": str(getattr(err, "path", None)),
            "message": str(err),
            "cause": type(err.__cause__).__name__,
        }
    print(json.dumps(result), flush=True)
    chronicle.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
