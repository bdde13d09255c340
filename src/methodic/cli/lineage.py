"""``methodic lineage ID``: an experiment's ancestors and descendants drawn as a tree.

    Warmup length sweep  3f2a…  concluded
    ├── ancestors
    │   └── Cosine schedule baseline  91c0…  committed
    └── descendants
        └── Warmup v2  77d1…  draft

Under "ancestors" a node's children are its parents; under "descendants", its
children. An experiment reached twice (two parents sharing an ancestor) is drawn
in full once and then as ``(shown above)``.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from methodic.cli.context import Context
from methodic.cli.output import Result, printable, truncate

if TYPE_CHECKING:
    from methodic.types import LineageNode, LineageResponse

__all__ = ["draw", "register"]

BRANCH, LAST, PIPE, SPACE = "├── ", "└── ", "│   ", "    "


def register(commands: argparse._SubParsersAction[Any], common: argparse.ArgumentParser) -> None:
    lineage = commands.add_parser(
        "lineage", parents=[common], help="an experiment's lineage drawn as a tree"
    )
    lineage.add_argument("id", metavar="ID")
    lineage.add_argument(
        "--direction", choices=("ancestors", "descendants", "both"), default="both"
    )
    lineage.add_argument("--depth", metavar="N", type=_positive, help="levels to walk (>= 1)")
    lineage.set_defaults(handler=_lineage)


def _lineage(ctx: Context, args: argparse.Namespace) -> Result:
    response = ctx.chronicle.experiments.lineage(
        args.id, direction=args.direction, depth=args.depth
    )
    return Result(response.to_dict(), lambda width: draw(response, args.direction, width))


def draw(lineage: LineageResponse, direction: str, width: int) -> str:
    """The tree as text, each line at most ``width`` wide (titles shrink, ids stay whole)."""
    nodes = {node.id: node for node in lineage.nodes}
    parents: dict[str, list[str]] = {}
    children: dict[str, list[str]] = {}
    for edge in lineage.edges:
        if edge.parent_id in nodes and edge.child_id in nodes:
            parents.setdefault(edge.child_id, []).append(edge.parent_id)
            children.setdefault(edge.parent_id, []).append(edge.child_id)

    root = nodes.get(lineage.root_id)
    if root is None:  # a server that left the root out: still show what came back
        return "\n".join(_label(n, "", width) for n in lineage.nodes)
    lines = [_label(root, "", width)]
    sections = [
        (name, links)
        for name, links in (("ancestors", parents), ("descendants", children))
        if direction in (name, "both")
    ]
    for i, (name, links) in enumerate(sections):
        last = i == len(sections) - 1
        lines.append((LAST if last else BRANCH) + name)
        prefix = SPACE if last else PIPE
        below = list(_subtree(root.id, links, nodes, prefix, width, shown=set(), path=[root.id]))
        lines.extend(below or [prefix + LAST + f"(no {name})"])
    return "\n".join(lines)


def _subtree(
    node_id: str,
    links: dict[str, list[str]],
    nodes: dict[str, LineageNode],
    prefix: str,
    width: int,
    *,
    shown: set[str],
    path: list[str],
) -> Iterator[str]:
    # Sorted by title then id: the same lineage always draws the same way.
    kids = sorted(links.get(node_id, []), key=lambda k: (nodes[k].title, k))
    for i, kid in enumerate(kids):
        last = i == len(kids) - 1
        lead = prefix + (LAST if last else BRANCH)
        if kid in shown or kid in path:
            yield f"{lead}{printable(kid)}  (shown above)"
            continue
        shown.add(kid)
        yield _label(nodes[kid], lead, width)
        yield from _subtree(
            kid,
            links,
            nodes,
            prefix + (SPACE if last else PIPE),
            width,
            shown=shown,
            path=[*path, kid],
        )


def _label(node: LineageNode, lead: str, width: int) -> str:
    tail = f"  {node.id}  {node.state}"
    room = width - len(lead) - len(tail)
    title = printable(" ".join(node.title.split()))
    return f"{lead}{truncate(title, max(room, 8))}{printable(tail)}"


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value
