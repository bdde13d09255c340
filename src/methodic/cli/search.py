"""``methodic search QUERY``: ranked hits with snippets (503 when search is not configured).

Chronicle indexes ready assets of two kinds, ``research_report`` and ``arxiv``; a hit's
type is its asset's kind. An empty answer says so, since "no hits" alone cannot tell
a query that matched nothing from documents that were never indexed.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from methodic.cli.context import Context
from methodic.cli.output import Result, truncate

if TYPE_CHECKING:
    from methodic.types import SearchResponse

__all__ = ["register"]

TYPES = ("research_report", "arxiv")
INDEXED = (
    "search indexes ready research_report assets (by title and text) and ready arxiv "
    "assets (by title and metadata.abstract); nothing else"
)


def register(commands: argparse._SubParsersAction[Any], common: argparse.ArgumentParser) -> None:
    search = commands.add_parser(
        "search",
        parents=[common],
        help="full-text search over ready research_report and arxiv assets",
        description=f"Full-text search; {INDEXED}.",
    )
    search.add_argument("query", metavar="QUERY")
    search.add_argument(
        "--type",
        choices=TYPES,
        action="append",
        dest="types",
        help="narrow to this type: the kind of the asset a hit comes from (repeatable)",
    )
    search.add_argument("--limit", metavar="N", type=int, help="at most N hits")
    search.set_defaults(handler=_search)


def _search(ctx: Context, args: argparse.Namespace) -> Result:
    found = ctx.chronicle.search.query(args.query, types=args.types, limit=args.limit)
    return Result(found.to_dict(), lambda width: _render(found, width))


def _render(found: SearchResponse, width: int) -> str:
    if not found.results:
        return f"no hits for {found.query!r}: {INDEXED}"
    lines = [f"{found.total} hit(s) for {found.query!r}"]
    for rank, hit in enumerate(found.results, 1):
        lines.append("")
        title = " ".join(hit.title.split())
        score = f"  (score {hit.score:.3f})"
        lines.append(f"{rank}. {truncate(title, max(width - 4 - len(score), 8))}{score}")
        where = [f"{hit.type} {hit.id}"]
        if hit.asset_id and hit.asset_id != hit.id:
            where.append(f"asset {hit.asset_id}")
        if hit.experiment_id:
            where.append(f"experiment {hit.experiment_id}")
        joined = "   " + "  ".join(where)
        # Ids stay whole: one per line when they do not fit side by side.
        lines.extend([joined] if len(joined) <= width else ["   " + w for w in where])
        if hit.snippet:
            lines.append("   " + truncate(" ".join(hit.snippet.split()), max(width - 3, 8)))
    return "\n".join(lines)
