"""Lineage walks over parent/child links."""

from __future__ import annotations

import pytest

from methodic import BadRequestError, Chronicle, NotFoundError


def _chain(researcher: Chronicle) -> list[str]:
    """grandparent -> parent -> child, plus a sibling of child."""
    grand = researcher.experiments.create("grand")
    parent = researcher.experiments.create("parent", parent_ids=[grand.id])
    child = researcher.experiments.create("child", parent_ids=[parent.id])
    sibling = researcher.experiments.create("sibling", parent_ids=[parent.id])
    return [grand.id, parent.id, child.id, sibling.id]


def test_both_directions(researcher: Chronicle) -> None:
    grand, parent, child, sibling = _chain(researcher)
    lineage = researcher.experiments.lineage(parent)
    assert lineage.root_id == parent
    relations = {n.id: (n.relation, n.depth) for n in lineage.nodes}
    assert relations == {
        parent: ("root", 0),
        grand: ("ancestor", 1),
        child: ("descendant", 1),
        sibling: ("descendant", 1),
    }
    edges = {(e.parent_id, e.child_id) for e in lineage.edges}
    assert edges == {(grand, parent), (parent, child), (parent, sibling)}


def test_ancestors_with_depth(researcher: Chronicle) -> None:
    grand, parent, child, _ = _chain(researcher)
    full = researcher.experiments.lineage(child, direction="ancestors")
    assert {n.id: n.depth for n in full.nodes} == {child: 0, parent: 1, grand: 2}
    shallow = researcher.experiments.lineage(child, direction="ancestors", depth=1)
    assert {n.id for n in shallow.nodes} == {child, parent}


def test_descendants_only(researcher: Chronicle) -> None:
    grand, parent, child, sibling = _chain(researcher)
    lineage = researcher.experiments.lineage(grand, direction="descendants")
    assert {n.id for n in lineage.nodes} == {grand, parent, child, sibling}
    assert all(n.relation in ("root", "descendant") for n in lineage.nodes)


def test_errors(researcher: Chronicle) -> None:
    with pytest.raises(NotFoundError):
        researcher.experiments.lineage("missing")
    exp = researcher.experiments.create("t")
    with pytest.raises(BadRequestError) as info:
        researcher.experiments.lineage(exp.id, direction="sideways")
    assert info.value.status_code == 422
