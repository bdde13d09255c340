"""`methodic lineage ID`: the tree drawn with box-drawing characters, and its JSON."""

from __future__ import annotations

from methodic import Chronicle
from methodic.cli.lineage import draw
from methodic.types import LineageEdge, LineageNode, LineageResponse

from .conftest import CLI, World


def test_both_directions_draw_ancestors_and_descendants(cli: CLI, world: World) -> None:
    out = cli("lineage", world.exp_id).ok().out
    assert out.splitlines() == [
        f"Warmup length sweep  {world.exp_id}  committed",
        "├── ancestors",
        f"│   └── Cosine schedule baseline  {world.parent_id}  committed",
        "└── descendants",
        f"    └── Warmup follow-up  {world.child_id}  draft",
    ]


def test_one_direction_and_depth(cli: CLI, researcher: Chronicle, world: World) -> None:
    grandchild = researcher.experiments.create("Grandchild", parent_ids=[world.child_id]).id
    out = cli("lineage", world.parent_id, "--direction", "descendants").ok().out
    assert out.splitlines() == [
        f"Cosine schedule baseline  {world.parent_id}  committed",
        "└── descendants",
        f"    └── Warmup length sweep  {world.exp_id}  committed",
        f"        └── Warmup follow-up  {world.child_id}  draft",
        f"            └── Grandchild  {grandchild}  draft",
    ]
    shallow = cli("lineage", world.parent_id, "--direction", "descendants", "--depth", "1")
    assert world.child_id not in shallow.ok().out
    none = cli("lineage", world.parent_id, "--direction", "ancestors").ok().out
    assert none.splitlines()[1:] == ["└── ancestors", "    └── (no ancestors)"]


def test_json_is_the_lineage_response(cli: CLI, world: World) -> None:
    data = cli("--json", "lineage", world.child_id, "--direction", "ancestors").ok().json()
    assert data["root_id"] == world.child_id
    assert {n["id"]: n["relation"] for n in data["nodes"]} == {
        world.child_id: "root",
        world.exp_id: "ancestor",
        world.parent_id: "ancestor",
    }
    assert {"parent_id": world.exp_id, "child_id": world.child_id} in data["edges"]


def test_lineage_errors(cli: CLI) -> None:
    missing = "00000000-0000-0000-0000-000000000000"
    assert cli("lineage", missing).failed() == f"not found: experiment {missing} not found"
    assert "--depth" in cli("lineage", missing, "--depth", "0").failed(2)
    assert "--direction" in cli("lineage", missing, "--direction", "up").failed(2)


def _node(id: str, relation: str, depth: int) -> LineageNode:
    return LineageNode(id=id, title=f"title {id}", state="draft", relation=relation, depth=depth)


def test_a_shared_ancestor_is_drawn_once_and_long_titles_shrink() -> None:
    # d has parents b and c, which share the parent a (a diamond).
    nodes = [_node("d", "root", 0), _node("b", "ancestor", 1), _node("c", "ancestor", 1)]
    nodes.append(_node("a", "ancestor", 2))
    edges = [LineageEdge(parent, child) for parent, child in ("ab", "ac", "bd", "cd")]
    lineage = LineageResponse(root_id="d", nodes=nodes, edges=edges)
    assert draw(lineage, "ancestors", 80).splitlines() == [
        "title d  d  draft",
        "└── ancestors",
        "    ├── title b  b  draft",
        "    │   └── title a  a  draft",
        "    └── title c  c  draft",
        "        └── a  (shown above)",
    ]
    lineage.nodes[0].title = "x" * 200
    first = draw(lineage, "ancestors", 40).splitlines()[0]
    assert len(first) == 40 and first.endswith("…  d  draft")
