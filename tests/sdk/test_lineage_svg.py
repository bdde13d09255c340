"""The lineage picture: one layout and renderer, owned by the SDK, drawn by the dashboard too."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest

from methodic import Chronicle
from methodic._lineage_svg import NODE_H, layout
from methodic.types import LineageResponse
from methodic_fake import FakeChronicle

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert(1)</script> "quoted" & </svg><img src=x onerror=alert(2)>'


def _lineage(nodes: list[tuple[str, str, int]], edges: list[tuple[str, str]]) -> LineageResponse:
    return LineageResponse.from_dict(
        {
            "root_id": nodes[0][0],
            "nodes": [
                {"id": i, "title": i, "state": "draft", "relation": r, "depth": d}
                for i, r, d in nodes
            ],
            "edges": [{"parent_id": p, "child_id": c} for p, c in edges],
        }
    )


@pytest.fixture
def fake() -> Iterator[FakeChronicle]:
    with FakeChronicle.in_process() as fake:
        yield fake


@pytest.fixture
def researcher(fake: FakeChronicle) -> Chronicle:
    return fake.client("researcher")


def _family(researcher: Chronicle) -> dict[str, str]:
    """baseline -> me -> (kid, kid2); baseline -> kid2 too; a hostile title on one."""
    base = researcher.experiments.create("baseline")
    researcher.experiments.commit(base.id)
    me = researcher.experiments.create(HOSTILE, parent_ids=[base.id])
    kid = researcher.experiments.create("lr sweep, warmup", parent_ids=[me.id])
    kid2 = researcher.experiments.create("both parents", parent_ids=[me.id, base.id])
    return {"base": base.id, "me": me.id, "kid": kid.id, "kid2": kid2.id}


def test_layout_puts_ancestors_above_and_descendants_below() -> None:
    graph = layout(
        _lineage(
            [
                ("me", "root", 0),
                ("mum", "ancestor", 1),
                ("gran", "ancestor", 2),
                ("kid1", "descendant", 1),
                ("kid2", "descendant", 1),
            ],
            [("gran", "mum"), ("mum", "me"), ("me", "kid1"), ("me", "kid2")],
        )
    )
    y = {n.id: n.y for n in graph.nodes}
    assert y["gran"] < y["mum"] < y["me"] < y["kid1"] == y["kid2"]
    x = {n.id: n.x for n in graph.nodes}
    assert x["kid1"] != x["kid2"]
    assert [n.id for n in graph.nodes if n.current] == ["me"]
    assert len(graph.edges) == 4
    assert all(n.x >= 0 and n.x + graph.node_w <= graph.width for n in graph.nodes)
    assert max(n.y for n in graph.nodes) + NODE_H <= graph.height


def test_layout_of_a_lone_experiment() -> None:
    graph = layout(_lineage([("me", "root", 0)], []))
    assert len(graph.nodes) == 1
    assert graph.edges == []


def test_layout_keeps_every_parent_above_its_child() -> None:
    # `a` is both a parent and a grandparent of `me`: the API puts `a` and `b` at
    # the same depth, but `b` is a's child and must be drawn below it.
    graph = layout(
        _lineage(
            [("me", "root", 0), ("a", "ancestor", 1), ("b", "ancestor", 1)],
            [("a", "b"), ("a", "me"), ("b", "me")],
        )
    )
    y = {n.id: n.y for n in graph.nodes}
    assert y["a"] < y["b"] < y["me"]


def test_layout_of_a_long_chain() -> None:
    chain = [(f"e{i}", "ancestor", i) for i in range(1, 1500)]
    edges = [(f"e{i + 1}", f"e{i}") for i in range(1, 1499)] + [("e1", "me")]
    graph = layout(_lineage([("me", "root", 0), *chain], edges))
    assert len({n.y for n in graph.nodes}) == 1500


def test_edges_to_unknown_experiments_and_self_loops_are_left_out() -> None:
    graph = layout(_lineage([("me", "root", 0)], [("ghost", "me"), ("me", "me")]))
    assert graph.edges == []
    ET.fromstring(_lineage([("me", "root", 0)], [("ghost", "me")]).to_svg())


def test_svg_is_well_formed_and_escapes_every_server_string(researcher: Chronicle) -> None:
    ids = _family(researcher)
    svg = researcher.experiments.lineage(ids["kid"]).to_svg(link="/ui/experiments/{id}")
    root = ET.fromstring(svg)  # a title cannot break out of the markup
    assert root.tag == f"{SVG}svg"
    assert not [e for e in root.iter() if e.tag in (f"{SVG}script", f"{SVG}img", "script")]
    titles = [t.text for t in root.iter(f"{SVG}title")]
    assert f"ancestor: {HOSTILE} (draft)" in titles
    shown = [t.text for t in root.iter(f"{SVG}text") if t.get("class") == "title"]
    assert HOSTILE[:23] + "…" in shown  # cut to fit its box; the full title is the tooltip
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_nodes_link_to_the_template_with_the_id_percent_encoded() -> None:
    lineage = _lineage([("me/x y", "root", 0), ("mum", "ancestor", 1)], [("mum", "me/x y")])
    root = ET.fromstring(lineage.to_svg(link="https://chronicle.example/e/{id}?tab=lineage"))
    links = {a.get("data-experiment-id"): a.get("href") for a in root.iter(f"{SVG}a")}
    assert links == {
        "me/x y": "https://chronicle.example/e/me%2Fx%20y?tab=lineage",
        "mum": "https://chronicle.example/e/mum?tab=lineage",
    }
    plain = ET.fromstring(lineage.to_svg())  # no link: groups, not anchors
    assert list(plain.iter(f"{SVG}a")) == []
    assert {g.get("class") for g in plain.iter(f"{SVG}g")} == {
        "node root current",
        "node ancestor",
    }


def test_every_edge_ends_in_an_arrowhead_without_marker_ids() -> None:
    svg = _lineage(
        [("me", "root", 0), ("mum", "ancestor", 1), ("kid", "descendant", 1)],
        [("mum", "me"), ("me", "kid")],
    ).to_svg()
    root = ET.fromstring(svg)
    paths = list(root.iter(f"{SVG}path"))
    assert [p.get("class") for p in paths].count("edge") == 2
    assert [p.get("class") for p in paths].count("arrowhead") == 2
    # Two pictures in one notebook must not share (or fight over) an element id.
    assert " id=" not in svg and "<marker" not in svg


def test_the_sdk_draws_exactly_what_the_dashboard_serves(
    fake: FakeChronicle, researcher: Chronicle
) -> None:
    ids = _family(researcher)
    http = fake.http(None)
    for which in ("me", "kid2", "base"):
        page = http.get(f"/_fake/ui/experiments/{ids[which]}")
        assert page.status_code == 200
        served = re.findall(r"<svg\b.*?</svg>", page.text, flags=re.DOTALL)
        assert len(served) == 1, which
        ours = researcher.experiments.lineage(ids[which]).to_svg(link="/_fake/ui/experiments/{id}")
        assert served[0] == ours
