"""What list commands share: ``--limit``, ``--order``, reading a capped number of items,
the result shape."""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Iterable
from typing import Any, TypeVar

from methodic.cli.output import Column, Result, table

__all__ = ["DEFAULT_LIMIT", "add_limit", "add_order", "limited", "list_result"]

T = TypeVar("T")

DEFAULT_LIMIT = 50


def add_limit(parser: argparse.ArgumentParser) -> None:
    """``--limit N`` for list commands (0: no limit)."""
    parser.add_argument(
        "--limit",
        metavar="N",
        type=_non_negative,
        default=DEFAULT_LIMIT,
        help=f"show at most N (default {DEFAULT_LIMIT}; 0 for all)",
    )


def add_order(parser: argparse.ArgumentParser) -> None:
    """``--order desc|asc`` for list commands: newest first unless asked, as people expect."""
    parser.add_argument(
        "--order",
        choices=("desc", "asc"),
        default="desc",
        help="desc: newest first (default); asc: oldest first",
    )


def limited(items: Iterable[T], limit: int) -> tuple[list[T], bool]:
    """At most ``limit`` items (0: all), and whether more were left behind.

    Reads one item past the limit to know; the list call fetches further pages only
    as far as this iteration goes.
    """
    if limit == 0:
        return list(items), False
    taken = list(itertools.islice(items, limit + 1))
    return taken[:limit], len(taken) > limit


def list_result(
    items: list[Any], more: bool, columns: Iterable[Column], *, noun: str, limit: int
) -> Result:
    """The shared shape of list commands: ``{"items": [...]}``, or a table."""

    def text(width: int) -> str:
        body = table(items, list(columns), width, empty=f"no {noun}")
        if more:
            body += f"\n(first {limit} {noun}; --limit N for more, 0 for all)"
        return body

    return Result({"items": [item.to_dict() for item in items]}, text)


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value
