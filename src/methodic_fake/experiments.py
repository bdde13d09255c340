"""Experiments: `draft -> committed -> concluded`, `committed|concluded -> retracted`."""

from __future__ import annotations

from collections import deque
from typing import Any

from methodic_fake import machines
from methodic_fake.auth import Principal
from methodic_fake.errors import Conflict
from methodic_fake.models import Experiment, new_id
from methodic_fake.pagination import DEFAULT_ORDER, Order
from methodic_fake.registry import Registry

_EDITABLE = ("title", "hypothesis", "description", "tags")
DIRECTIONS = ("ancestors", "descendants", "both")


class ExperimentService:
    """Experiment lifecycle, listing, detail and lineage.

    Methods return wire dicts (what the API sends); mutations take the calling
    `Principal` because workers may not perform them.
    """

    def __init__(self, registry: Registry) -> None:
        self._reg = registry

    def _get(self, experiment_id: str) -> Experiment:
        return self._reg.get(self._reg.experiments, "experiment", experiment_id)

    def create(
        self,
        principal: Principal,
        *,
        title: str,
        hypothesis: str | None = None,
        description: str | None = None,
        parent_ids: list[str] | None = None,
        tags: list[str] | None = None,
    ) -> dict[str, Any]:
        principal.require_researcher("create experiments")
        with self._reg.transaction() as now:
            parents = list(dict.fromkeys(parent_ids or []))
            for parent_id in parents:
                self._get(parent_id)
            exp = Experiment(
                id=new_id(),
                created_at=now,
                seq=self._reg.next_seq(),
                title=title,
                updated_at=now,
                hypothesis=hypothesis,
                description=description,
                parent_ids=parents,
                tags=list(dict.fromkeys(tags or [])),
            )
            self._reg.save(exp)
            return exp.wire()

    def list(
        self,
        *,
        state: str | None = None,
        tag: str | None = None,
        parent_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        order: Order = DEFAULT_ORDER,
    ) -> dict[str, Any]:
        with self._reg.transaction():
            items = (
                e
                for e in self._reg.experiments.values()
                if (state is None or e.state == state)
                and (tag is None or tag in e.tags)
                and (parent_id is None or parent_id in e.parent_ids)
            )
            return self._reg.cursors.page(
                ("experiments", state, tag, parent_id), items, limit, cursor, order
            )

    def get(self, experiment_id: str) -> dict[str, Any]:
        """`ExperimentDetail`: the experiment, its variations and run counts by state."""
        with self._reg.transaction():
            exp = self._get(experiment_id)
            out = exp.wire()
            out["variations"] = [
                v.wire() for v in self._reg.variations.values() if v.experiment_id == exp.id
            ]
            counts: dict[str, int] = {}
            for run in self._reg.runs.values():
                if run.experiment_id == exp.id:
                    counts[run.state] = counts.get(run.state, 0) + 1
            out["run_counts"] = counts
            return out

    def update(self, principal: Principal, experiment_id: str, **fields: Any) -> dict[str, Any]:
        principal.require_researcher("edit experiments")
        with self._reg.transaction() as now:
            exp = self._get(experiment_id)
            machines.apply("experiment", "update", exp.id, exp.state)
            for name in _EDITABLE:
                value = fields.get(name)
                if value is not None:
                    setattr(exp, name, list(dict.fromkeys(value)) if name == "tags" else value)
            exp.updated_at = now
            self._reg.save(exp)
            return exp.wire()

    def commit(self, principal: Principal, experiment_id: str) -> dict[str, Any]:
        principal.require_researcher("commit experiments")
        with self._reg.transaction() as now:
            exp = self._get(experiment_id)
            exp.state = machines.apply("experiment", "commit", exp.id, exp.state)
            exp.committed_at = exp.updated_at = now
            self._reg.save(exp)
            return exp.wire()

    def conclude(self, principal: Principal, experiment_id: str, conclusion: str) -> dict[str, Any]:
        principal.require_researcher("conclude experiments")
        with self._reg.transaction() as now:
            exp = self._get(experiment_id)
            machines.apply("experiment", "conclude", exp.id, exp.state)
            active = sum(
                1
                for r in self._reg.runs.values()
                if r.experiment_id == exp.id and r.state in ("pending", "running")
            )
            if active:
                raise Conflict(
                    f"cannot conclude experiment {exp.id}: it is {exp.state} "
                    f"with {active} run(s) still pending or running"
                )
            exp.state = "concluded"
            exp.conclusion = conclusion
            exp.concluded_at = exp.updated_at = now
            self._reg.save(exp)
            return exp.wire()

    def retract(self, principal: Principal, experiment_id: str, reason: str) -> dict[str, Any]:
        principal.require_researcher("retract experiments")
        with self._reg.transaction() as now:
            exp = self._get(experiment_id)
            exp.state = machines.apply("experiment", "retract", exp.id, exp.state)
            exp.retraction_reason = reason
            exp.retracted_at = exp.updated_at = now
            self._reg.save(exp)
            return exp.wire()

    def lineage(
        self, experiment_id: str, *, direction: str = "both", depth: int | None = None
    ) -> dict[str, Any]:
        """`LineageResponse`: breadth-first walk of parent/child links from the root.

        `direction` is one of DIRECTIONS and `depth` >= 1 or None (the route checks both).
        """
        with self._reg.transaction():
            root = self._get(experiment_id)
            children: dict[str, list[str]] = {}
            for exp in self._reg.experiments.values():
                for parent in exp.parent_ids:
                    children.setdefault(parent, []).append(exp.id)
            nodes = [_node(root, "root", 0)]
            edges: set[tuple[str, str]] = set()
            parents = {e.id: e.parent_ids for e in self._reg.experiments.values()}
            walks: list[tuple[str, dict[str, list[str]]]] = []
            if direction in ("ancestors", "both"):
                walks.append(("ancestor", parents))
            if direction in ("descendants", "both"):
                walks.append(("descendant", children))
            for relation, neighbours in walks:
                seen = {root.id}
                queue = deque([(root.id, 0)])
                while queue:
                    current, level = queue.popleft()
                    if depth is not None and level >= depth:
                        continue
                    for other in neighbours.get(current, []):
                        edge = (other, current) if relation == "ancestor" else (current, other)
                        edges.add(edge)
                        if other in seen:
                            continue
                        seen.add(other)
                        nodes.append(_node(self._reg.experiments[other], relation, level + 1))
                        queue.append((other, level + 1))
            return {
                "root_id": root.id,
                "nodes": nodes,
                "edges": [{"parent_id": p, "child_id": c} for p, c in sorted(edges)],
            }


def _node(exp: Experiment, relation: str, depth: int) -> dict[str, Any]:
    return {
        "id": exp.id,
        "title": exp.title,
        "state": exp.state,
        "relation": relation,
        "depth": depth,
    }
