"""``methodic uploads``: inspect and operate the local upload journal after a crash.

``list`` and ``discard`` read only the journal (no credentials needed); ``resume``
finishes uploads through the SDK's upload engine, exactly as ``Run.resume_uploads``
does, for one run (``--run``) or for every run in the journal.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from methodic.cli.context import CommandError, Context
from methodic.cli.listing import add_order
from methodic.cli.output import Column, Result, human_bytes, table
from methodic.cli.progress import progress_bar

if TYPE_CHECKING:
    from methodic.tracker import TrackedUpload, UploadTracker

__all__ = ["register", "upload_dict"]

# The key is what `discard` takes: never shortened. What is left to send comes next;
# the rest gives way, rightmost first, on a narrow terminal.
_COLUMNS = (
    Column("key", lambda u: u.key),
    Column("asset", lambda u: f"{u.kind}/{u.name}", flex=True),
    Column("pending", lambda u: human_bytes(u.pending_bytes)),
    Column(
        "run",
        lambda u: u.run_id or (f"exp {u.experiment_id}" if u.experiment_id else None),
        optional=True,
    ),
    Column("total", lambda u: human_bytes(u.total_bytes), optional=True),
    Column("asset id", lambda u: u.asset_id, optional=True),
    Column("claim pid", lambda u: u.claim_pid, optional=True),
    Column("registered", lambda u: rfc3339(u.created_at), optional=True),
)

# Free text gives way, ids never shrink: the asset id has a column of its own (shown
# whole, or left out on a narrow terminal), not a place inside the detail text.
_OUTCOME_COLUMNS = (
    Column("key", lambda o: o["key"]),
    Column("outcome", lambda o: o["outcome"]),
    Column("detail", lambda o: o["detail"], flex=True, min_width=16),
    Column("asset id", lambda o: o["asset_id"], optional=True),
)


def register(commands: argparse._SubParsersAction[Any], common: argparse.ArgumentParser) -> None:
    group = commands.add_parser(
        "uploads", help="the local upload journal: list, resume, discard"
    ).add_subparsers(dest="action", metavar="ACTION", required=True)

    tracker = argparse.ArgumentParser(add_help=False)
    tracker.add_argument(
        "--tracker",
        metavar="PATH",
        type=Path,
        help="the journal (default $METHODIC_TRACKER_PATH, else $XDG_CACHE_HOME/methodic/uploads.sqlite3)",
    )

    ls = group.add_parser(
        "list", parents=[common, tracker], help="unfinished uploads in the journal"
    )
    add_order(ls)
    ls.set_defaults(handler=_list)

    resume = group.add_parser(
        "resume",
        parents=[common, tracker],
        help="finish unfinished uploads (of one run, or all)",
        description="Finish what crashed uploaders left: the server decides which "
        "components are missing; changed local files are refused; uploads a live "
        "process holds are skipped. Exit status 1 if any upload could not be finished.",
    )
    resume.add_argument("--run", metavar="ID", help="only this run's uploads")
    resume.set_defaults(handler=_resume)

    discard = group.add_parser(
        "discard",
        parents=[common, tracker],
        help="drop one upload from the journal (its pending asset stays unfinalized)",
    )
    discard.add_argument("key", metavar="KEY")
    discard.set_defaults(handler=_discard)


def upload_dict(upload: TrackedUpload) -> dict[str, Any]:
    """A journal entry as JSON (the claim token, a lock secret, is left out).

    Timestamps are RFC 3339 UTC like every other one the command prints; the
    journal's Unix seconds stay inside the journal.
    """
    data = dataclasses.asdict(upload)
    data.pop("claim_token", None)
    data["created_at"] = rfc3339(upload.created_at)
    if upload.claim_expires is not None:
        data["claim_expires"] = rfc3339(upload.claim_expires)
    data["total_bytes"] = upload.total_bytes
    data["pending_bytes"] = upload.pending_bytes
    return data


@contextmanager
def _journal(path: Path | None) -> Iterator[UploadTracker | None]:
    """The tracker at ``path`` (default location if None), or None if no journal exists.

    Looking must not create a journal: a mistyped path reports "no uploads" and
    leaves no stray database behind.
    """
    from methodic.tracker import UploadTracker, default_tracker_path

    where = path if path is not None else default_tracker_path()
    if not where.exists():
        yield None
        return
    # A damaged journal raises TrackerError (a ChronicleError naming the path and the
    # remedy), which main() reports like any other Chronicle error.
    with UploadTracker(where) as tracker:
        yield tracker


def _list(ctx: Context, args: argparse.Namespace) -> Result:
    with _journal(args.tracker) as tracker:
        uploads = tracker.incomplete() if tracker is not None else []
    uploads.sort(key=lambda u: u.created_at, reverse=args.order == "desc")
    return Result(
        {"items": [upload_dict(u) for u in uploads]},
        lambda width: table(uploads, _COLUMNS, width, empty="no unfinished uploads"),
    )


def _resume(ctx: Context, args: argparse.Namespace) -> Result:
    outcomes: list[dict[str, Any]] = []
    failures: list[str] = []
    with _journal(args.tracker) as tracker:
        uploads = tracker.incomplete(run_id=args.run) if tracker is not None else []
        if uploads and tracker is not None:
            from methodic import UploadError
            from methodic.uploads import UploadEngine

            engine = UploadEngine(ctx.chronicle, tracker)
            for upload in uploads:
                progress = progress_bar(f"{upload.kind}/{upload.name}", sys.stderr)
                try:
                    asset = engine.resume(upload, progress=progress)
                except UploadError as err:
                    failures.append(str(err))
                    outcomes.append(_outcome(upload, "failed", str(err)))
                    continue
                if asset is None and tracker.get(upload.key) is None:
                    # The engine drops an upload that can never complete (and logs why).
                    outcomes.append(_outcome(upload, "dropped", "can never complete"))
                elif asset is None:
                    pid = f" (pid {upload.claim_pid})" if upload.claim_pid else ""
                    outcomes.append(_outcome(upload, "skipped", f"a live process holds it{pid}"))
                else:
                    outcomes.append(_outcome(upload, "resumed", asset.state, asset.to_dict()))
    result = Result(
        {"items": outcomes},
        lambda width: table(outcomes, _OUTCOME_COLUMNS, width, empty="no unfinished uploads"),
    )
    if failures:
        # The table (or JSON document) still says what did finish.
        result.emit(ctx.as_json)
        raise CommandError(
            f"{len(failures)} of {len(outcomes)} upload(s) could not be resumed: {failures[0]}",
            kind="upload error",
        )
    return result


def _outcome(
    upload: TrackedUpload, outcome: str, detail: str, asset: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {
        "key": upload.key,
        "kind": upload.kind,
        "name": upload.name,
        "run_id": upload.run_id,
        "asset_id": asset["id"] if asset is not None else upload.asset_id,
        "outcome": outcome,
        "detail": detail,
        "asset": asset,
    }


def _discard(ctx: Context, args: argparse.Namespace) -> Result:
    with _journal(args.tracker) as tracker:
        upload = tracker.get(args.key) if tracker is not None else None
        if tracker is None or upload is None:
            raise CommandError(f"no upload {args.key} in the journal", kind="not found")
        tracker.discard(args.key)
    where = args.tracker or "the journal"
    return Result(
        upload_dict(upload),
        lambda width: f"discarded {upload.key} ({upload.kind}/{upload.name}) from {where}",
    )


def rfc3339(seconds: float) -> str:
    """Unix seconds (the journal's) in the wire's RFC 3339 UTC form, microseconds kept."""
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
