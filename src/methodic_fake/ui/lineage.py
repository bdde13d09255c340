"""Lay out an experiment's lineage (the API's `LineageResponse`) for an SVG picture.

Generations are rows, parents always above their children (so ancestors sit above
the current experiment and descendants below), each row centred and ordered under
its parents. Edges run from the bottom of a parent to the top of its child. Pure
geometry, so the template only draws what this computes.
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


def layout(lineage: dict[str, Any]) -> Layout:
    """Positions for every node and edge of `lineage` (a DAG: parents predate children)."""
    by_id = {n["id"]: n for n in lineage["nodes"]}
    edges = [
        (e["parent_id"], e["child_id"])
        for e in lineage["edges"]
        if e["parent_id"] in by_id and e["child_id"] in by_id
    ]
    generation = _generations(list(by_id), edges)
    rows: dict[int, list[str]] = {}
    for node_id, level in generation.items():
        rows.setdefault(level, []).append(node_id)
    widest = max(len(r) for r in rows.values())
    width = 2 * MARGIN + widest * NODE_W + (widest - 1) * GAP_X
    height = 2 * MARGIN + len(rows) * NODE_H + (len(rows) - 1) * GAP_Y
    parents: dict[str, list[str]] = {}
    for parent, child in edges:
        parents.setdefault(child, []).append(parent)
    centre: dict[str, float] = {}
    nodes: dict[str, Node] = {}
    for level in sorted(rows):
        # Under their parents, roughly (barycentre), so few edges cross.
        def key(node_id: str) -> tuple[float, str, str]:
            above = [centre[p] for p in parents.get(node_id, []) if p in centre]
            mean = sum(above) / len(above) if above else 0.0
            return (mean, by_id[node_id]["title"], node_id)

        row = sorted(rows[level], key=key)
        row_w = len(row) * NODE_W + (len(row) - 1) * GAP_X
        x0 = (width - row_w) // 2
        y = MARGIN + level * (NODE_H + GAP_Y)
        for j, node_id in enumerate(row):
            n = by_id[node_id]
            x = x0 + j * (NODE_W + GAP_X)
            centre[node_id] = x + NODE_W / 2
            nodes[node_id] = Node(node_id, _short(n["title"]), n["state"], n["relation"], x, y)
    paths = []
    for parent_id, child_id in edges:
        parent, child = nodes[parent_id], nodes[child_id]
        x1, y1 = parent.x + NODE_W // 2, parent.y + NODE_H
        x2, y2 = child.x + NODE_W // 2, child.y
        bend = (y2 - y1) // 2
        paths.append(Edge(f"M{x1},{y1} C{x1},{y1 + bend} {x2},{y2 - bend} {x2},{y2}"))
    return Layout(list(nodes.values()), paths, width, height)
