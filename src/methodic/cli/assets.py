"""``methodic assets``: list, show, and download one asset with its sha256 checked."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from methodic.cli.context import Context
from methodic.cli.listing import add_limit, add_order, limited, list_result
from methodic.cli.output import Column, Result, fields, human_bytes, table
from methodic.cli.progress import progress_bar

if TYPE_CHECKING:
    from methodic.types import Asset

__all__ = ["register"]

_COLUMNS = (
    Column("id", lambda a: a.id),
    Column("kind", lambda a: a.kind),
    Column("name", lambda a: a.name, flex=True),
    Column("state", lambda a: a.state),
    Column("size", lambda a: human_bytes(_size(a)), optional=True),
    Column("created", lambda a: a.created_at, optional=True),
)

_COMPONENT_COLUMNS = (
    Column("component", lambda c: c.name, flex=True),
    Column("size", lambda c: c.size),
    Column("uploaded", lambda c: c.uploaded, optional=True),
    Column("sha256", lambda c: c.sha256),
)


def register(commands: argparse._SubParsersAction[Any], common: argparse.ArgumentParser) -> None:
    group = commands.add_parser("assets", help="list, show and download assets").add_subparsers(
        dest="action", metavar="ACTION", required=True
    )

    ls = group.add_parser("list", parents=[common], help="a table of assets")
    ls.add_argument("--run", metavar="ID")
    ls.add_argument("--experiment", metavar="ID")
    ls.add_argument("--kind", metavar="K")
    add_limit(ls)
    add_order(ls)
    ls.set_defaults(handler=_list)

    show = group.add_parser("show", parents=[common], help="one asset and its components")
    show.add_argument("id", metavar="ID")
    show.set_defaults(handler=_show)

    download = group.add_parser(
        "download",
        parents=[common],
        help="download a ready asset into DIR, checking each file's sha256",
        description="Stream each component of a ready asset to DIR/<component name>. "
        "A file is renamed into place only after its size and sha256 match the asset; "
        "a progress bar is drawn on stderr when it is a terminal.",
    )
    download.add_argument("id", metavar="ID")
    download.add_argument("dest", metavar="DIR")
    download.set_defaults(handler=_download)


def _size(asset: Asset) -> int:
    return sum(c.size for c in asset.components)


def _list(ctx: Context, args: argparse.Namespace) -> Result:
    found = ctx.chronicle.assets.list(
        run_id=args.run, experiment_id=args.experiment, kind=args.kind, order=args.order
    )
    items, more = limited(found, args.limit)
    return list_result(items, more, _COLUMNS, noun="assets", limit=args.limit)


def _show(ctx: Context, args: argparse.Namespace) -> Result:
    asset = ctx.chronicle.assets.get(args.id)
    return Result(asset.to_dict(), lambda width: _render(asset, width))


def _render(asset: Asset, width: int) -> str:
    head = fields(
        [
            ("id", asset.id),
            ("kind", asset.kind),
            ("name", asset.name),
            ("state", asset.state),
            ("run", asset.run_id),
            ("experiment", asset.experiment_id),
            ("size", f"{human_bytes(_size(asset))} ({_size(asset)} bytes)"),
            ("created", asset.created_at),
            ("finalized", asset.finalized_at),
            ("metadata", asset.metadata or None),
        ],
        width,
    )
    components = table(asset.components, _COMPONENT_COLUMNS, width, empty="(no components)")
    return f"{head}\n\n{components}"


def _download(ctx: Context, args: argparse.Namespace) -> Result:
    # The SDK's one download function; imported here only, so it can move in one edit.
    from methodic.downloads import download_asset

    asset = ctx.chronicle.assets.get(args.id)
    progress = progress_bar(f"{asset.kind}/{asset.name}", sys.stderr)
    paths = download_asset(ctx.chronicle, asset, args.dest, progress=progress)
    components = {c.name: c for c in asset.components}
    files: list[dict[str, Any]] = [
        {
            "name": (c := components[Path(p).name]).name,
            "path": str(Path(p).resolve()),
            "size": c.size,
            "sha256": c.sha256,
        }
        for p in paths
    ]

    def text(width: int) -> str:
        lines = [f"{f['path']}  {human_bytes(f['size'])}  sha256 verified" for f in files]
        return "\n".join([*lines, f"downloaded asset {asset.id} ({_plural(len(files), 'file')})"])

    return Result({"asset": asset.to_dict(), "files": files}, text)


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
