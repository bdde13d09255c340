"""An experiment's lineage as an SVG picture: one layout, one renderer.

Both the SDK's notebook display (``LineageResponse.to_svg()`` and its
``_repr_html_``) and methodic_fake's dashboard draw lineage with this module, so a
notebook shows exactly the picture the dashboard serves.

Generations are rows, parents always above their children (so ancestors sit above
the current experiment and descendants below), each row centred and ordered under
its parents. Edges run from the bottom of a parent to the top of its child and end in
an arrowhead drawn as a path (no ``<marker>``: its ``id`` would clash between two
pictures in one notebook). Every colour is a presentation attribute, so the SVG
looks the same standalone, in a notebook, or in the dashboard (whose stylesheet only
adds hover effects). Every string from the server is escaped.

Pure Python, no import of ``methodic.types`` at run time (it works on any object
with the ``LineageResponse`` attributes), so ``types`` can import this lazily.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from methodic.types import LineageResponse

__all__ = ["Layout", "PlacedEdge", "PlacedNode", "layout", "render"]

NODE_W = 190
NODE_H = 46
GAP_X = 28
GAP_Y = 56
MARGIN = 12
TITLE_CHARS = 24
ARROW = 4.5  # half the arrowhead's width; its length is twice that

FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
INK = "#1f2328"
LINE = "#8c959f"
CURRENT = "#0969da"
# The dashboard's state colours (its .state-* labels).
STATE_COLOURS = {
    "draft": "#9a6700",
    "pending": "#9a6700",
    "committed": "#0969da",
    "running": "#0969da",
    "concluded": "#1a7f37",
    "succeeded": "#1a7f37",
    "ready": "#1a7f37",
    "failed": "#cf222e",
    "retracted": "#6e7781",
}
MUTED = "#656d76"


@dataclass(frozen=True)
class PlacedNode:
    """One experiment's box: top-left corner at (x, y), NODE_W x NODE_H."""

    id: str
    title: str  # the full title (the box shows `short_title`)
    state: str
    relation: str  # "root", "ancestor" or "descendant"
    x: int
    y: int

    @property
    def current(self) -> bool:
        return self.relation == "root"

    @property
    def short_title(self) -> str:
        t = self.title
        return t if len(t) <= TITLE_CHARS else t[: TITLE_CHARS - 1] + "…"


@dataclass(frozen=True)
class PlacedEdge:
    """A parent -> child link: an SVG path from the parent's bottom to the child's top."""

    parent_id: str
    child_id: str
    path: str
    tip_x: int  # where it meets the child: the arrowhead's point
    tip_y: int


@dataclass(frozen=True)
class Layout:
    """Where everything goes: boxes, edges and the picture's size."""

    nodes: list[PlacedNode]
    edges: list[PlacedEdge]
    width: int
    height: int
    node_w: int = NODE_W
    node_h: int = NODE_H


def _generations(ids: list[str], edges: list[tuple[str, str]]) -> dict[str, int]:
    """Row of each node: one below its lowest parent (longest path), so every edge points down.

    The API's `depth` is the shortest distance from the current experiment; with
    several paths (a parent that is also a grandparent) it would put a child beside
    its parent.
    """
    children: dict[str, list[str]] = {i: [] for i in ids}
    waiting = dict.fromkeys(ids, 0)  # parents not placed yet
    for parent, child in edges:
        children[parent].append(child)
        waiting[child] += 1
    rows = dict.fromkeys(ids, 0)
    ready = [i for i in ids if waiting[i] == 0]
    while ready:  # Kahn's topological order: no recursion limit on long chains
        node = ready.pop()
        for child in children[node]:
            rows[child] = max(rows[child], rows[node] + 1)
            waiting[child] -= 1
            if waiting[child] == 0:
                ready.append(child)
    return rows


def layout(lineage: LineageResponse) -> Layout:
    """Positions for every node and edge of `lineage` (a DAG: parents predate children).

    Edges naming an experiment that is not among the nodes are left out.
    """
    by_id = {n.id: n for n in lineage.nodes}
    edges = [
        (e.parent_id, e.child_id)
        for e in lineage.edges
        if e.parent_id in by_id and e.child_id in by_id and e.parent_id != e.child_id
    ]
    generation = _generations(list(by_id), edges)
    rows: dict[int, list[str]] = {}
    for node_id, level in generation.items():
        rows.setdefault(level, []).append(node_id)
    widest = max((len(r) for r in rows.values()), default=0)
    width = 2 * MARGIN + widest * NODE_W + max(widest - 1, 0) * GAP_X
    height = 2 * MARGIN + len(rows) * NODE_H + max(len(rows) - 1, 0) * GAP_Y
    parents: dict[str, list[str]] = {}
    for parent, child in edges:
        parents.setdefault(child, []).append(parent)
    centre: dict[str, float] = {}
    nodes: dict[str, PlacedNode] = {}
    for level in sorted(rows):
        # Under their parents, roughly (barycentre), so few edges cross.
        def key(node_id: str) -> tuple[float, str, str]:
            above = [centre[p] for p in parents.get(node_id, []) if p in centre]
            mean = sum(above) / len(above) if above else 0.0
            return (mean, by_id[node_id].title, node_id)

        row = sorted(rows[level], key=key)
        row_w = len(row) * NODE_W + (len(row) - 1) * GAP_X
        x0 = (width - row_w) // 2
        y = MARGIN + level * (NODE_H + GAP_Y)
        for j, node_id in enumerate(row):
            n = by_id[node_id]
            x = x0 + j * (NODE_W + GAP_X)
            centre[node_id] = x + NODE_W / 2
            nodes[node_id] = PlacedNode(node_id, n.title, n.state, n.relation, x, y)
    paths = []
    for parent_id, child_id in edges:
        top, bottom = nodes[parent_id], nodes[child_id]
        x1, y1 = top.x + NODE_W // 2, top.y + NODE_H
        x2, y2 = bottom.x + NODE_W // 2, bottom.y
        bend = (y2 - y1) // 2
        path = f"M{x1},{y1} C{x1},{y1 + bend} {x2},{y2 - bend} {x2},{y2}"
        paths.append(PlacedEdge(parent_id, child_id, path, x2, y2))
    return Layout(list(nodes.values()), paths, width, height)


def _attr(value: str) -> str:
    return escape(value, quote=True)


def _node(n: PlacedNode, link: str | None) -> str:
    classes = f"node {n.relation}" + (" current" if n.current else "")
    if n.current:
        box = f'fill="#ddf4ff" stroke="{CURRENT}" stroke-width="2.5"'
    else:
        box = f'fill="#ffffff" stroke="{LINE}" stroke-width="1"'
    where = "this experiment" if n.current else n.relation
    colour = STATE_COLOURS.get(n.state, MUTED)
    inner = (
        f"<title>{escape(n.relation)}: {escape(n.title)} ({escape(n.state)})</title>"
        f'<rect x="{n.x}" y="{n.y}" width="{NODE_W}" height="{NODE_H}" rx="6" {box}></rect>'
        f'<text x="{n.x + 10}" y="{n.y + 19}" class="title" font-size="13" fill="{INK}">'
        f"{escape(n.short_title)}</text>"
        f'<text x="{n.x + 10}" y="{n.y + 36}" class="sub state-{_attr(n.state)}" '
        f'font-size="11" fill="{colour}">{escape(n.state)} · {escape(where)}</text>'
    )
    data = f'class="{_attr(classes)}" data-experiment-id="{_attr(n.id)}"'
    if link is None:
        return f"<g {data}>{inner}</g>"
    href = link.replace("{id}", quote(n.id, safe=""))
    return f'<a href="{_attr(href)}" {data}>{inner}</a>'


def render(lineage: LineageResponse, *, link: str | None = None) -> str:
    """The SVG picture of `lineage`, one string (see ``LineageResponse.to_svg``)."""
    graph = layout(lineage)
    root = next((n for n in graph.nodes if n.current), None)
    label = f"lineage of {root.title}" if root is not None else "lineage"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="lineage" role="img" '
        f'aria-label="{_attr(label)}" width="{graph.width}" height="{graph.height}" '
        f'viewBox="0 0 {graph.width} {graph.height}" font-family="{_attr(FONT)}" '
        f'style="display:block;max-width:100%;height:auto;background:#fbfcfd;'
        f'border:1px solid #d0d7de;border-radius:8px">'
    ]
    for e in graph.edges:
        x, y = e.tip_x, e.tip_y
        parts.append(
            f'<path class="edge" data-parent-id="{_attr(e.parent_id)}" '
            f'data-child-id="{_attr(e.child_id)}" d="{e.path}" fill="none" stroke="{LINE}" '
            f'stroke-width="1.5"></path>'
            f'<path class="arrowhead" d="M{x - ARROW:g},{y - 2 * ARROW:g} L{x},{y} '
            f'L{x + ARROW:g},{y - 2 * ARROW:g} z" fill="{LINE}"></path>'
        )
    parts.extend(_node(n, link) for n in graph.nodes)
    parts.append("</svg>")
    return "\n".join(parts)
