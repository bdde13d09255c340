"""``chronicle.runs``: the run lifecycle a runner drives."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Literal

from methodic.namespaces._base import Namespace, Order
from methodic.types import Asset, Page, Run, VariationConfig

__all__ = ["Runs"]

logger = logging.getLogger("methodic")


class Runs(Namespace):
    """Runs: ``pending -> running -> succeeded | failed``.

    The namespace form needs no handle:

        run = chronicle.runs.create(variation_id)
        chronicle.runs.start(run.id)
    """

    def create(
        self,
        variation_id: str,
        *,
        resume_from_run_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> Run:
        """Create a pending run of a committed experiment's variation."""
        body: dict[str, Any] = {}
        if resume_from_run_id is not None:
            body["resume_from_run_id"] = resume_from_run_id
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        path = self._transport.path("variations", variation_id, "runs")
        return Run.from_dict(self._transport.request("POST", path, json=body, headers=headers))

    def get(self, run_id: str) -> Run:
        """Fetch one run (a watchdog-reaped run reads as failed/heartbeat_timeout)."""
        return Run.from_dict(self._transport.request("GET", self._transport.path("runs", run_id)))

    def list(
        self,
        *,
        variation_id: str | None = None,
        experiment_id: str | None = None,
        state: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        order: Order | None = None,
    ) -> Page[Run]:
        """Runs, optionally filtered, newest first: iterate for all of them across pages.

        ``limit`` is the page size; ``cursor`` starts from a page's ``next_cursor``;
        ``order="asc"`` walks oldest first (default: the server's, newest first).

            for run in chronicle.runs.list(variation_id=variation_id, state="failed"):
                print(run.id, run.failure_reason)
        """
        params = {
            "variation_id": variation_id,
            "experiment_id": experiment_id,
            "state": state,
            "limit": limit,
            "order": order,
        }
        return self._list("/runs", params, Run, cursor)

    def config(self, run_id: str) -> VariationConfig:
        """The variation config a runner needs before ``start``."""
        data = self._transport.request("GET", self._transport.path("runs", run_id, "config"))
        return VariationConfig.from_dict(data)

    def start(self, run_id: str, *, environment: Mapping[str, Any] | None = None) -> Run:
        """``pending -> running``, recording an optional environment snapshot."""
        body = {"environment": dict(environment)} if environment is not None else {}
        path = self._transport.path("runs", run_id, "start")
        return Run.from_dict(self._transport.request("POST", path, json=body))

    def heartbeat(self, run_id: str, *, progress: Mapping[str, Any] | None = None) -> Run:
        """Tell the watchdog the run is alive; ConflictError once it is no longer running.

        ``progress`` is sent in docs/api.md's encoding: NaN and infinities as the
        strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"``, numpy values and ``Decimal``
        as numbers, datetimes as RFC 3339; values with no JSON form are dropped, each
        logged as a warning (``Run.heartbeat`` logs each kind once per run).
        """
        body: dict[str, Any] = {}
        if progress is not None:
            from methodic._progress import encode_progress

            encoded = encode_progress(progress)
            for problem in encoded.problems:
                logger.warning("run %s: heartbeat progress: %s", run_id, problem)
            if encoded.payload is not None:
                body["progress"] = encoded.payload
        path = self._transport.path("runs", run_id, "heartbeat")
        return Run.from_dict(self._transport.request("POST", path, json=body))

    def succeed(self, run_id: str) -> Run:
        """``running -> succeeded``."""
        path = self._transport.path("runs", run_id, "succeed")
        return Run.from_dict(self._transport.request("POST", path))

    def fail(
        self,
        run_id: str,
        *,
        reason: Literal["crash", "abandoned"],
        message: str | None = None,
    ) -> Run:
        """``pending | running -> failed``: ``crash`` for errors, ``abandoned`` for cancels."""
        body: dict[str, Any] = {"reason": reason}
        if message is not None:
            body["message"] = message
        path = self._transport.path("runs", run_id, "fail")
        return Run.from_dict(self._transport.request("POST", path, json=body))

    def checkpoint(self, run_id: str) -> Asset:
        """The checkpoint asset to resume from; NotFoundError when there is none."""
        data = self._transport.request("GET", self._transport.path("runs", run_id, "checkpoint"))
        return Asset.from_dict(data)
