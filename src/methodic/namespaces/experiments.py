"""``chronicle.experiments``: experiment lifecycle, listing and lineage."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from methodic.namespaces._base import Namespace, Order
from methodic.types import Experiment, ExperimentDetail, LineageResponse, Page

__all__ = ["Experiments"]


class Experiments(Namespace):
    """Experiments: ``draft -> committed -> concluded``, or ``-> retracted``.

    The namespace form needs no handle:

        exp = chronicle.experiments.create("lr sweep", hypothesis="lower lr helps")
        chronicle.experiments.commit(exp.id)
    """

    def create(
        self,
        title: str,
        *,
        hypothesis: str | None = None,
        description: str | None = None,
        parent_ids: Sequence[str] | None = None,
        tags: Sequence[str] | None = None,
        idempotency_key: str | None = None,
    ) -> Experiment:
        """Create a draft experiment (``POST /experiments``)."""
        body: dict[str, Any] = {"title": title}
        if hypothesis is not None:
            body["hypothesis"] = hypothesis
        if description is not None:
            body["description"] = description
        if parent_ids is not None:
            body["parent_ids"] = list(parent_ids)
        if tags is not None:
            body["tags"] = list(tags)
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        data = self._transport.request("POST", "/experiments", json=body, headers=headers)
        return Experiment.from_dict(data)

    def get(self, experiment_id: str) -> ExperimentDetail:
        """Fetch one experiment with its variations and run counts."""
        data = self._transport.request("GET", self._transport.path("experiments", experiment_id))
        return ExperimentDetail.from_dict(data)

    def list(
        self,
        *,
        state: str | None = None,
        tag: str | None = None,
        parent_id: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        order: Order | None = None,
    ) -> Page[Experiment]:
        """Experiments, optionally filtered, newest first: iterate for all of them.

        ``limit`` is the page size; ``cursor`` starts from a page's ``next_cursor``;
        ``order="asc"`` walks oldest first (default: the server's, newest first).

            drafts = [exp.id for exp in chronicle.experiments.list(state="draft")]
        """
        params = {
            "state": state,
            "tag": tag,
            "parent_id": parent_id,
            "limit": limit,
            "order": order,
        }
        return self._list("/experiments", params, Experiment, cursor)

    def update(
        self,
        experiment_id: str,
        *,
        title: str | None = None,
        hypothesis: str | None = None,
        description: str | None = None,
        tags: Sequence[str] | None = None,
    ) -> Experiment:
        """Edit a draft (``PATCH``); only the fields you pass are sent."""
        body: dict[str, Any] = {}
        if title is not None:
            body["title"] = title
        if hypothesis is not None:
            body["hypothesis"] = hypothesis
        if description is not None:
            body["description"] = description
        if tags is not None:
            body["tags"] = list(tags)
        path = self._transport.path("experiments", experiment_id)
        return Experiment.from_dict(self._transport.request("PATCH", path, json=body))

    def commit(self, experiment_id: str) -> Experiment:
        """``draft -> committed``; ConflictError from any other state."""
        path = self._transport.path("experiments", experiment_id, "commit")
        return Experiment.from_dict(self._transport.request("POST", path))

    def conclude(self, experiment_id: str, *, conclusion: str) -> Experiment:
        """``committed -> concluded``; ConflictError while a run is pending or running."""
        path = self._transport.path("experiments", experiment_id, "conclude")
        data = self._transport.request("POST", path, json={"conclusion": conclusion})
        return Experiment.from_dict(data)

    def retract(self, experiment_id: str, *, reason: str) -> Experiment:
        """``committed | concluded -> retracted``."""
        path = self._transport.path("experiments", experiment_id, "retract")
        data = self._transport.request("POST", path, json={"reason": reason})
        return Experiment.from_dict(data)

    def lineage(
        self,
        experiment_id: str,
        *,
        direction: Literal["ancestors", "descendants", "both"] = "both",
        depth: int | None = None,
    ) -> LineageResponse:
        """Walk parent/child links from ``experiment_id``."""
        path = self._transport.path("experiments", experiment_id, "lineage")
        data = self._transport.request("GET", path, params={"direction": direction, "depth": depth})
        return LineageResponse.from_dict(data)
