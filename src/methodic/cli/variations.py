"""``methodic variations``: list an experiment's variations, show one, create one from YAML."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from methodic.cli.context import CommandError, Context
from methodic.cli.listing import add_limit, add_order, limited, list_result
from methodic.cli.output import Column, Result, fields

if TYPE_CHECKING:
    from methodic.types import Variation

__all__ = ["VARIATION_COLUMNS", "register"]

VARIATION_COLUMNS = (
    Column("id", lambda v: v.id),
    Column("name", lambda v: v.name, flex=True),
    Column("config", lambda v: v.config_json, flex=True, optional=True, min_width=12),
    Column("created", lambda v: v.created_at, optional=True),
)


def register(commands: argparse._SubParsersAction[Any], common: argparse.ArgumentParser) -> None:
    group = commands.add_parser(
        "variations", help="list, show and create variations"
    ).add_subparsers(dest="action", metavar="ACTION", required=True)

    ls = group.add_parser("list", parents=[common], help="an experiment's variations")
    ls.add_argument("experiment_id", metavar="EXP_ID")
    add_limit(ls)
    add_order(ls)
    ls.set_defaults(handler=_list)

    show = group.add_parser("show", parents=[common], help="one variation and its config")
    show.add_argument("id", metavar="ID")
    show.set_defaults(handler=_show)

    create = group.add_parser("create", parents=[common], help="add a variation from YAML")
    create.add_argument("experiment_id", metavar="EXP_ID")
    create.add_argument(
        "--config", metavar="FILE.yaml", required=True, help="the config as YAML ('-': stdin)"
    )
    create.add_argument("--name", metavar="N")
    create.set_defaults(handler=_create)


def _list(ctx: Context, args: argparse.Namespace) -> Result:
    found = ctx.chronicle.variations.list(args.experiment_id, order=args.order)
    items, more = limited(found, args.limit)
    return list_result(items, more, VARIATION_COLUMNS, noun="variations", limit=args.limit)


def _show(ctx: Context, args: argparse.Namespace) -> Result:
    return _single(ctx.chronicle.variations.get(args.id))


def _create(ctx: Context, args: argparse.Namespace) -> Result:
    if args.config == "-":
        text = sys.stdin.read()
    else:
        try:
            with open(args.config, encoding="utf-8") as f:
                text = f.read()
        except (OSError, UnicodeDecodeError) as err:
            raise CommandError(f"cannot read {args.config}: {err}") from err
    # Sent as given: Chronicle parses it and keeps the YAML text too.
    return _single(
        ctx.chronicle.variations.create(args.experiment_id, config_yaml=text, name=args.name)
    )


def _single(variation: Variation) -> Result:
    return Result(variation.to_dict(), lambda width: _render(variation, width))


def _render(v: Variation, width: int) -> str:
    head = fields(
        [
            ("id", v.id),
            ("experiment", v.experiment_id),
            ("name", v.name),
            ("created", v.created_at),
            ("accelerate config", v.accelerate_config_json),
            ("launch config", v.launch_config),
        ],
        width,
    )
    if v.config_yaml is not None:
        config = v.config_yaml.rstrip("\n")
    else:
        config = json.dumps(v.config_json, indent=2, ensure_ascii=False)
    return f"{head}\n\nconfig\n{config}"
