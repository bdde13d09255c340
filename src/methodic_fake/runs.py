"""Runs: `pending -> running -> succeeded | failed`, `pending -> failed`.

The watchdog (see watchdog.py) is applied by the registry before every operation,
so a heartbeat on a reaped run is a 409 that says `failed (heartbeat_timeout)`.
"""

from __future__ import annotations

from typing import Any

from methodic_fake import machines
from methodic_fake.auth import Principal
from methodic_fake.errors import NotFound, Unprocessable
from methodic_fake.models import Asset, Run, new_id
from methodic_fake.pagination import DEFAULT_ORDER, Order
from methodic_fake.registry import Registry

# What a client may report; `heartbeat_timeout` is the watchdog's alone.
FAIL_REASONS = ("abandoned", "crash")


def _note(run: Run) -> str:
    return f" ({run.failure_reason})" if run.failure_reason else ""


class RunService:
    """Run lifecycle, configs and checkpoint lookup (every /runs/{id} call is open to workers)."""

    def __init__(self, registry: Registry) -> None:
        self._reg = registry

    def _get(self, run_id: str) -> Run:
        return self._reg.get(self._reg.runs, "run", run_id)

    def create(
        self, principal: Principal, variation_id: str, *, resume_from_run_id: str | None = None
    ) -> dict[str, Any]:
        principal.require_researcher("create runs")
        with self._reg.transaction() as now:
            variation = self._reg.get(self._reg.variations, "variation", variation_id)
            exp = self._reg.experiments[variation.experiment_id]
            machines.apply("experiment", "create a run for", exp.id, exp.state)
            if resume_from_run_id is not None:
                self._get(resume_from_run_id)
            run = Run(
                id=new_id(),
                created_at=now,
                seq=self._reg.next_seq(),
                variation_id=variation.id,
                experiment_id=exp.id,
                resume_from_run_id=resume_from_run_id,
            )
            self._reg.save(run)
            return run.wire()

    def list(
        self,
        *,
        variation_id: str | None = None,
        experiment_id: str | None = None,
        state: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
        order: Order = DEFAULT_ORDER,
    ) -> dict[str, Any]:
        with self._reg.transaction():
            items = (
                r
                for r in self._reg.runs.values()
                if (variation_id is None or r.variation_id == variation_id)
                and (experiment_id is None or r.experiment_id == experiment_id)
                and (state is None or r.state == state)
            )
            return self._reg.cursors.page(
                ("runs", variation_id, experiment_id, state), items, limit, cursor, order
            )

    def get(self, run_id: str) -> dict[str, Any]:
        with self._reg.transaction():
            return self._get(run_id).wire()

    def config(self, run_id: str) -> dict[str, Any]:
        """What a runner needs to start: the variation's configs, keyed by the run."""
        with self._reg.transaction():
            run = self._get(run_id)
            variation = self._reg.variations[run.variation_id]
            return {
                "run_id": run.id,
                "variation_id": variation.id,
                "experiment_id": run.experiment_id,
                "config_json": variation.config_json,
                "accelerate_config_json": variation.accelerate_config_json,
                "launch_config": variation.launch_config,
            }

    def start(self, run_id: str, *, environment: dict[str, Any] | None = None) -> dict[str, Any]:
        with self._reg.transaction() as now:
            run = self._get(run_id)
            run.state = machines.apply("run", "start", run.id, run.state, _note(run))
            run.started_at = run.last_heartbeat_at = now
            run.environment = environment
            self._reg.save(run)
            return run.wire()

    def heartbeat(self, run_id: str, *, progress: dict[str, Any] | None = None) -> dict[str, Any]:
        with self._reg.transaction() as now:
            run = self._get(run_id)
            machines.apply("run", "heartbeat", run.id, run.state, _note(run))
            run.last_heartbeat_at = now
            if progress is not None:
                run.progress = progress
            self._reg.save(run)
            return run.wire()

    def succeed(self, run_id: str) -> dict[str, Any]:
        with self._reg.transaction() as now:
            run = self._get(run_id)
            run.state = machines.apply("run", "succeed", run.id, run.state, _note(run))
            run.finished_at = now
            self._reg.save(run)
            return run.wire()

    def fail(self, run_id: str, *, reason: str, message: str | None = None) -> dict[str, Any]:
        if reason not in FAIL_REASONS:
            raise Unprocessable(f"reason must be one of {', '.join(FAIL_REASONS)}, not {reason!r}")
        with self._reg.transaction() as now:
            run = self._get(run_id)
            run.state = machines.apply("run", "fail", run.id, run.state, _note(run))
            run.failure_reason = reason
            run.failure_message = message
            run.finished_at = now
            self._reg.save(run)
            return run.wire()

    def checkpoint(self, run_id: str) -> dict[str, Any]:
        """What the run resumes from: its own newest ready checkpoint (a restart), else
        its `resume_from_run_id`'s by the same rule, up the chain. Never a sibling's.
        """
        with self._reg.transaction():
            run = self._get(run_id)
            current: Run | None = run
            seen: set[str] = set()
            # A chain cannot loop (a predecessor exists before its successor), but a
            # guard costs nothing and keeps a corrupt database from hanging a request.
            while current is not None and current.id not in seen:
                seen.add(current.id)
                found = self._newest_checkpoint(current.id)
                if found is not None:
                    return found.wire()
                parent = current.resume_from_run_id
                current = self._reg.runs.get(parent) if parent is not None else None
            raise NotFound(f"no ready checkpoint to resume run {run.id} from")

    def _newest_checkpoint(self, run_id: str) -> Asset | None:
        best: Asset | None = None
        for asset in self._reg.assets.values():
            if asset.kind != "checkpoint" or asset.state != "ready" or asset.run_id != run_id:
                continue
            key = (asset.finalized_at or 0, asset.seq)
            if best is None or key > (best.finalized_at or 0, best.seq):
                best = asset
        return best
