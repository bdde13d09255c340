"""``methodic experiments``: list, show, create, and the commit/conclude/retract transitions."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from methodic.cli.context import Context
from methodic.cli.listing import add_limit, add_order, limited, list_result
from methodic.cli.output import Column, Result, fields, table

if TYPE_CHECKING:
    from methodic.types import Experiment, ExperimentDetail

__all__ = ["experiment_fields", "register"]

STATES = ("draft", "committed", "concluded", "retracted")

_COLUMNS = (
    Column("id", lambda e: e.id),
    Column("title", lambda e: e.title, flex=True),
    Column("state", lambda e: e.state),
    Column("tags", lambda e: e.tags or None, flex=True, optional=True),
    Column("created", lambda e: e.created_at, optional=True),
)


def register(commands: argparse._SubParsersAction[Any], common: argparse.ArgumentParser) -> None:
    group = commands.add_parser(
        "experiments", help="list, show, create and transition experiments"
    ).add_subparsers(dest="action", metavar="ACTION", required=True)

    ls = group.add_parser("list", parents=[common], help="a table of experiments")
    ls.add_argument("--state", choices=STATES)
    ls.add_argument("--tag", metavar="T")
    add_limit(ls)
    add_order(ls)
    ls.set_defaults(handler=_list)

    show = group.add_parser(
        "show", parents=[common], help="an experiment, its variations and run counts"
    )
    show.add_argument("id", metavar="ID")
    show.set_defaults(handler=_show)

    create = group.add_parser("create", parents=[common], help="create a draft experiment")
    create.add_argument("title", metavar="TITLE")
    create.add_argument("--hypothesis", metavar="H")
    create.add_argument("--description", metavar="D")
    create.add_argument(
        "--parent", metavar="ID", action="append", dest="parents", help="repeat for several"
    )
    create.add_argument("--tag", metavar="T", action="append", dest="tags", help="repeatable")
    create.set_defaults(handler=_create)

    commit = group.add_parser("commit", parents=[common], help="draft -> committed")
    commit.add_argument("id", metavar="ID")
    commit.set_defaults(handler=_commit)

    conclude = group.add_parser("conclude", parents=[common], help="committed -> concluded")
    conclude.add_argument("id", metavar="ID")
    conclude.add_argument("--conclusion", metavar="TEXT", required=True)
    conclude.set_defaults(handler=_conclude)

    retract = group.add_parser(
        "retract", parents=[common], help="committed | concluded -> retracted"
    )
    retract.add_argument("id", metavar="ID")
    retract.add_argument("--reason", metavar="TEXT", required=True)
    retract.set_defaults(handler=_retract)


def experiment_fields(exp: Experiment) -> list[tuple[str, Any]]:
    """An experiment as ``label, value`` pairs for a detail view."""
    return [
        ("id", exp.id),
        ("title", exp.title),
        ("state", exp.state),
        ("hypothesis", exp.hypothesis),
        ("description", exp.description),
        ("parents", exp.parent_ids or None),
        ("tags", exp.tags or None),
        ("created", exp.created_at),
        ("updated", exp.updated_at),
        ("committed", exp.committed_at),
        ("concluded", exp.concluded_at),
        ("conclusion", exp.conclusion),
        ("retracted", exp.retracted_at),
        ("retraction reason", exp.retraction_reason),
    ]


def _list(ctx: Context, args: argparse.Namespace) -> Result:
    found = ctx.chronicle.experiments.list(state=args.state, tag=args.tag, order=args.order)
    items, more = limited(found, args.limit)
    return list_result(items, more, _COLUMNS, noun="experiments", limit=args.limit)


def _show(ctx: Context, args: argparse.Namespace) -> Result:
    detail = ctx.chronicle.experiments.get(args.id)
    return Result(detail.to_dict(), lambda width: _render_detail(detail, width))


def _render_detail(detail: ExperimentDetail, width: int) -> str:
    from methodic.cli.variations import VARIATION_COLUMNS

    counts = ", ".join(f"{state} {n}" for state, n in sorted(detail.run_counts.items()))
    head = fields([*experiment_fields(detail), ("runs", counts or "none")], width)
    variations = table(detail.variations, VARIATION_COLUMNS, width, empty="(no variations)")
    return f"{head}\n\nvariations\n{variations}"


def _single(exp: Experiment) -> Result:
    return Result(exp.to_dict(), lambda width: fields(experiment_fields(exp), width))


def _create(ctx: Context, args: argparse.Namespace) -> Result:
    return _single(
        ctx.chronicle.experiments.create(
            args.title,
            hypothesis=args.hypothesis,
            description=args.description,
            parent_ids=args.parents,
            tags=args.tags,
        )
    )


def _commit(ctx: Context, args: argparse.Namespace) -> Result:
    return _single(ctx.chronicle.experiments.commit(args.id))


def _conclude(ctx: Context, args: argparse.Namespace) -> Result:
    return _single(ctx.chronicle.experiments.conclude(args.id, conclusion=args.conclusion))


def _retract(ctx: Context, args: argparse.Namespace) -> Result:
    return _single(ctx.chronicle.experiments.retract(args.id, reason=args.reason))
