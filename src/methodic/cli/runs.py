"""``methodic runs``: list, show (with heartbeat age and failure reason), create, watch."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from methodic.cli.context import Context
from methodic.cli.listing import add_limit, add_order, limited, list_result
from methodic.cli.output import (
    Column,
    Result,
    age,
    compact,
    duration,
    fields,
    parse_timestamp,
    printable,
    terminal_width,
    truncate,
)

if TYPE_CHECKING:
    from methodic.types import Run

__all__ = ["FINISHED", "register", "run_fields", "status_line"]

STATES = ("pending", "running", "succeeded", "failed")
FINISHED = frozenset({"succeeded", "failed"})
DEFAULT_INTERVAL = 2.0
# Chronicle's watchdog fails a running run 15 minutes after its last heartbeat (api.md).
WATCHDOG = timedelta(minutes=15)


def _columns(now: datetime) -> tuple[Column, ...]:
    return (
        Column("id", lambda r: r.id),
        Column("state", lambda r: r.state),
        Column("heartbeat", lambda r: _heartbeat_age(r, now), optional=True),
        Column("failure", lambda r: r.failure_reason, flex=True, optional=True),
        Column("variation", lambda r: r.variation_id, optional=True),
        Column("created", lambda r: r.created_at, optional=True),
    )


def register(commands: argparse._SubParsersAction[Any], common: argparse.ArgumentParser) -> None:
    group = commands.add_parser("runs", help="list, show, create and watch runs").add_subparsers(
        dest="action", metavar="ACTION", required=True
    )

    ls = group.add_parser("list", parents=[common], help="a table of runs")
    ls.add_argument("--variation", metavar="ID")
    ls.add_argument("--experiment", metavar="ID")
    ls.add_argument("--state", choices=STATES)
    add_limit(ls)
    add_order(ls)
    ls.set_defaults(handler=_list)

    show = group.add_parser(
        "show", parents=[common], help="one run, with heartbeat age and failure reason"
    )
    show.add_argument("id", metavar="ID")
    show.set_defaults(handler=_show)

    create = group.add_parser("create", parents=[common], help="create a pending run")
    create.add_argument("variation_id", metavar="VARIATION_ID")
    create.add_argument("--resume-from", metavar="RUN_ID", help="resume from this run's checkpoint")
    create.set_defaults(handler=_create)

    watch = group.add_parser(
        "watch",
        parents=[common],
        help="follow a run until it finishes (Ctrl-C leaves with status 130)",
        description="Poll the run and show its state, last heartbeat age and progress "
        "until it succeeds or fails. Ctrl-C leaves quietly with exit status 130. "
        "With --json, prints the finished run as one JSON document.",
    )
    watch.add_argument("id", metavar="ID")
    watch.add_argument(
        "--interval",
        metavar="SECONDS",
        type=float,
        default=DEFAULT_INTERVAL,
        help=f"seconds between polls (default {DEFAULT_INTERVAL:g})",
    )
    watch.set_defaults(handler=_watch)


def run_fields(run: Run, now: datetime) -> list[tuple[str, Any]]:
    """A run as ``label, value`` pairs for a detail view; ages measured at ``now``."""
    beat = run.last_heartbeat_at
    beat_age = _heartbeat_age(run, now)
    failure = run.failure_reason
    if failure is not None and run.failure_message:
        failure = f"{failure}: {run.failure_message}"
    watchdog = None
    due = _watchdog_deadline(run)
    if due is not None:
        at = due.strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # the wire's form, as the other timestamps
        watchdog = f"fails the run at {at} ({_countdown(due, now)}) unless it heartbeats"
    return [
        ("id", run.id),
        ("state", run.state),
        ("failure", failure),
        ("experiment", run.experiment_id),
        ("variation", run.variation_id),
        ("resumes from", run.resume_from_run_id),
        ("created", run.created_at),
        ("started", run.started_at),
        ("last heartbeat", f"{beat} ({beat_age})" if beat and beat_age else beat),
        ("watchdog", watchdog),
        ("finished", run.finished_at),
        ("progress", run.progress or None),
        ("environment", run.environment or None),
    ]


def status_line(run: Run, now: datetime) -> str:
    """One line for ``watch``: state, heartbeat age and watchdog countdown, progress."""
    parts = [run.state]
    if run.failure_reason:
        parts.append(f"({run.failure_reason})")
    beat = _heartbeat_age(run, now)
    due = _watchdog_deadline(run)
    if beat:
        parts.append(f"heartbeat {beat}" + (f" (watchdog {_countdown(due, now)})" if due else ""))
    if run.progress:
        parts.append(compact(run.progress))
    return "  ".join(parts)


def _heartbeat_age(run: Run, now: datetime) -> str | None:
    # Only a running run's age matters (the watchdog reaps it at 15 minutes); once it
    # has finished, "how long ago" says nothing the timestamps don't. `now` is the
    # server's clock, which wrote the timestamp (Context.server_now).
    if run.state != "running":
        return None
    beat = age(run.last_heartbeat_at, now)
    return f"{beat} ago" if beat is not None else None


def _watchdog_deadline(run: Run) -> datetime | None:
    """When the watchdog fails this running run if no heartbeat comes first."""
    if run.state != "running" or run.last_heartbeat_at is None:
        return None
    beat = parse_timestamp(run.last_heartbeat_at)
    return beat + WATCHDOG if beat is not None else None


def _countdown(due: datetime, now: datetime) -> str:
    # At the deadline the run is still running (api.md): "in 0s", never negative.
    return f"in {duration(max(int((due - now).total_seconds()), 0))}"


def _list(ctx: Context, args: argparse.Namespace) -> Result:
    found = ctx.chronicle.runs.list(
        variation_id=args.variation,
        experiment_id=args.experiment,
        state=args.state,
        order=args.order,
    )
    items, more = limited(found, args.limit)
    return list_result(items, more, _columns(ctx.server_now()), noun="runs", limit=args.limit)


def _single(ctx: Context, run: Run) -> Result:
    now = ctx.server_now()
    return Result(run.to_dict(), lambda width: fields(run_fields(run, now), width))


def _show(ctx: Context, args: argparse.Namespace) -> Result:
    return _single(ctx, ctx.chronicle.runs.get(args.id))


def _create(ctx: Context, args: argparse.Namespace) -> Result:
    return _single(
        ctx, ctx.chronicle.runs.create(args.variation_id, resume_from_run_id=args.resume_from)
    )


def _watch(ctx: Context, args: argparse.Namespace) -> Result:
    live = not ctx.as_json and sys.stdout.isatty()
    shown: tuple[Any, ...] | None = None
    try:
        while True:
            run = ctx.chronicle.runs.get(args.id)
            if not ctx.as_json:
                line = printable(status_line(run, ctx.server_now()))
                if live:
                    # Rewrite one line in place: the age ticks even when nothing else moves.
                    sys.stdout.write("\r\033[K" + truncate(line, terminal_width() - 1))
                    sys.stdout.flush()
                else:
                    # A log or a pipe gets a line per change, not one per poll.
                    key = (run.state, run.last_heartbeat_at, compact(run.progress or {}))
                    if key != shown:
                        print(f"{printable(run.id)}  {line}", flush=True)
                        shown = key
            if run.state in FINISHED:
                break
            time.sleep(max(args.interval, 0.05))
    finally:
        if live:
            sys.stdout.write("\n")
            sys.stdout.flush()
    return Result(run.to_dict(), lambda width: _summary(run))


def _summary(run: Run) -> str:
    text = f"run {run.id} {run.state}"
    if run.failure_reason:
        text += f" ({run.failure_reason})"
    if run.failure_message:
        text += f": {run.failure_message}"
    return text
