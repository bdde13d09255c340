"""Lay out an experiment's lineage (the API's `LineageResponse`) for an SVG picture.

Generations are rows: ancestors above the current experiment, descendants below,
each row centred. Edges run from the bottom of a parent to the top of its child.
Pure geometry, so the template only draws what this computes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

NODE_W = 190
NODE_H = 46
GAP_X = 28
GAP_Y = 56
MARGIN = 12
TITLE_CHARS = 24


@dataclass(frozen=True)
class Node:
    id: str
    title: str
    state: str
    relation: str  # "root", "ancestor" or "descendant"
    x: int
    y: int

    @property
    def current(self) -> bool:
        return self.relation == "root"


@dataclass(frozen=True)
class Edge:
    path: str  # SVG path data, parent's bottom to child's top


@dataclass(frozen=True)
class Layout:
    nodes: list[Node]
    edges: list[Edge]
    width: int
    height: int
    node_w: int = NODE_W
    node_h: int = NODE_H


def _short(title: str) -> str:
    return title if len(title) <= TITLE_CHARS else title[: TITLE_CHARS - 1] + "…"


def layout(lineage: dict[str, Any]) -> Layout:
    """Positions for every node and edge of `lineage`."""
    rows: dict[int, list[dict[str, Any]]] = {}
    for node in lineage["nodes"]:
        level = -node["depth"] if node["relation"] == "ancestor" else node["depth"]
        rows.setdefault(level, []).append(node)
    levels = sorted(rows)
    widest = max(len(r) for r in rows.values())
    width = 2 * MARGIN + widest * NODE_W + (widest - 1) * GAP_X
    height = 2 * MARGIN + len(levels) * NODE_H + (len(levels) - 1) * GAP_Y
    nodes: dict[str, Node] = {}
    for i, level in enumerate(levels):
        row = sorted(rows[level], key=lambda n: (n["title"], n["id"]))
        row_w = len(row) * NODE_W + (len(row) - 1) * GAP_X
        x0 = (width - row_w) // 2
        y = MARGIN + i * (NODE_H + GAP_Y)
        for j, n in enumerate(row):
            x = x0 + j * (NODE_W + GAP_X)
            nodes[n["id"]] = Node(n["id"], _short(n["title"]), n["state"], n["relation"], x, y)
    edges = []
    for e in lineage["edges"]:
        parent, child = nodes.get(e["parent_id"]), nodes.get(e["child_id"])
        if parent is None or child is None:
            continue
        x1, y1 = parent.x + NODE_W // 2, parent.y + NODE_H
        x2, y2 = child.x + NODE_W // 2, child.y
        bend = max(GAP_Y // 2, (y2 - y1) // 2)
        edges.append(Edge(f"M{x1},{y1} C{x1},{y1 + bend} {x2},{y2 - bend} {x2},{y2}"))
    return Layout(list(nodes.values()), edges, width, height)
