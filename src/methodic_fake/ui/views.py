"""What the dashboard shows, read straight from one fake's domain.

Every read goes through `registry.transaction()`, as the API's do, so the heartbeat
watchdog has settled overdue runs before anything is shown: the page never
disagrees with what `GET /runs/{id}` would answer at the same instant. Nothing
here changes state; the controls call the harness operations in `pages.py`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from methodic_fake.backend import Backend
from methodic_fake.clock import US_PER_SECOND, isoformat
from methodic_fake.models import Asset, Component, Experiment, Run
from methodic_fake.watchdog import deadline

# Tables show the newest rows; a dev server with more says how many it left out.
MAX_ROWS = 200


def duration(seconds: float) -> str:
    """`75.4` -> `"1m 15s"`: short, human, whole seconds (negative: its magnitude)."""
    total = int(abs(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def size(n: int | None) -> str:
    """Bytes in binary units: `1536` -> `"1.5 KiB"`."""
    if n is None:
        return "—"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{n} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def pretty(value: Any) -> str:
    """JSON for a `<pre>` block ("" for None)."""
    return "" if value is None else json.dumps(value, indent=2, sort_keys=True, default=str)


def compact(value: Any, limit: int = 120) -> str:
    """One-line JSON for a table cell, cut at `limit` characters."""
    if value is None:
        return ""
    text = json.dumps(value, sort_keys=True, separators=(", ", ": "), default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def run_label(run: Run) -> str:
    """`failed (heartbeat_timeout)`: the state and why, as the API's 409 details say it."""
    return f"{run.state} ({run.failure_reason})" if run.failure_reason else run.state


@dataclass(frozen=True)
class Page:
    """The newest rows of a table, and how many there are in all."""

    rows: list[Any]
    total: int

    @property
    def truncated(self) -> bool:
        return self.total > len(self.rows)


def _newest(records: list[Any]) -> list[Any]:
    return sorted(records, key=lambda r: r.seq, reverse=True)


class Dashboard:
    """Read-only views of one backend, shaped for the templates."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    # --- clock and controls -------------------------------------------------------

    def clock(self) -> dict[str, Any]:
        clock = self.backend.clock
        return {
            "now": isoformat(clock.now_us()),
            "offset": clock.offset,
            "offset_seconds": f"{clock.offset:g}",
            "offset_text": duration(clock.offset) if clock.offset else "none",
            "frozen": clock.frozen,
        }

    def controls(self) -> dict[str, Any]:
        return {
            "clock": self.clock(),
            "faults": self.backend.faults.pending(),
            "search_configured": self.backend.search_configured,
        }

    # --- experiments --------------------------------------------------------------

    def experiments(self) -> Page:
        reg = self.backend.registry
        with reg.transaction():
            counts: dict[str, dict[str, int]] = {}
            for run in reg.runs.values():
                per = counts.setdefault(run.experiment_id, {})
                per[run.state] = per.get(run.state, 0) + 1
            variations: dict[str, int] = {}
            for variation in reg.variations.values():
                variations[variation.experiment_id] = variations.get(variation.experiment_id, 0) + 1
            newest = _newest(list(reg.experiments.values()))
            rows = [
                self._experiment_row(e, counts.get(e.id, {}), variations.get(e.id, 0))
                for e in newest[:MAX_ROWS]
            ]
            return Page(rows, len(newest))

    @staticmethod
    def _experiment_row(exp: Experiment, counts: dict[str, int], variations: int) -> dict[str, Any]:
        return {
            "id": exp.id,
            "title": exp.title,
            "state": exp.state,
            "tags": exp.tags,
            "run_counts": dict(sorted(counts.items())),
            "variations": variations,
            "created_at": isoformat(exp.created_at),
        }

    def experiment(self, experiment_id: str) -> dict[str, Any]:
        """The experiment, its variations, runs and assets, and its lineage graph."""
        detail = self.backend.experiments.get(experiment_id)  # 404 for unknown ids
        lineage = self.backend.experiments.lineage(experiment_id)
        reg = self.backend.registry
        with reg.transaction() as now:
            names = {v.id: v.name for v in reg.variations.values()}
            runs = _newest([r for r in reg.runs.values() if r.experiment_id == experiment_id])
            assets = _newest([a for a in reg.assets.values() if a.experiment_id == experiment_id])
            # Newest first, like every other table here and every list of the API.
            detail["variations"] = [
                {
                    **v,
                    "config_text": pretty(v["config_json"]),
                    "config_line": compact(v["config_json"]),
                }
                for v in reversed(detail["variations"])
            ]
            return {
                "experiment": detail,
                "lineage": lineage,
                "runs": Page([self._run_row(r, now, names) for r in runs[:MAX_ROWS]], len(runs)),
                "assets": Page([self._asset_row(a) for a in assets[:MAX_ROWS]], len(assets)),
            }

    # --- runs ---------------------------------------------------------------------

    def runs(self) -> Page:
        reg = self.backend.registry
        with reg.transaction() as now:
            names = {v.id: v.name for v in reg.variations.values()}
            newest = _newest(list(reg.runs.values()))
            return Page([self._run_row(r, now, names) for r in newest[:MAX_ROWS]], len(newest))

    def _run_row(self, run: Run, now: int, names: dict[str, str | None]) -> dict[str, Any]:
        exp = self.backend.registry.experiments.get(run.experiment_id)
        due = deadline(run)
        beat = run.last_heartbeat_at
        return {
            "id": run.id,
            "experiment_id": run.experiment_id,
            "experiment_title": exp.title if exp is not None else run.experiment_id,
            "variation_id": run.variation_id,
            "variation_name": names.get(run.variation_id),
            "state": run.state,
            "label": run_label(run),
            "failure_reason": run.failure_reason,
            "failure_message": run.failure_message,
            "heartbeat_age": duration((now - beat) / US_PER_SECOND) if beat is not None else None,
            "deadline": isoformat(due),
            # The watchdog fails the run at any instant after `due`, so a countdown
            # at zero still means "running": it reads 0s, never negative.
            "remaining": duration(max(0, due - now) / US_PER_SECOND) if due is not None else None,
            "progress": compact(run.progress),
            "created_at": isoformat(run.created_at),
            "started_at": isoformat(run.started_at),
            "finished_at": isoformat(run.finished_at),
        }

    def run(self, run_id: str) -> dict[str, Any]:
        reg = self.backend.registry
        with reg.transaction() as now:
            run = reg.get(reg.runs, "run", run_id)
            names = {v.id: v.name for v in reg.variations.values()}
            row = self._run_row(run, now, names)
            row["progress_text"] = pretty(run.progress)
            row["environment_text"] = pretty(run.environment)
            row["resume_from_run_id"] = run.resume_from_run_id
            assets = _newest([a for a in reg.assets.values() if a.run_id == run_id])
            return {"run": row, "assets": Page([self._asset_row(a) for a in assets], len(assets))}

    # --- assets -------------------------------------------------------------------

    def assets(self) -> Page:
        reg = self.backend.registry
        with reg.transaction():
            newest = _newest(list(reg.assets.values()))
            return Page([self._asset_row(a) for a in newest[:MAX_ROWS]], len(newest))

    @staticmethod
    def _asset_row(asset: Asset) -> dict[str, Any]:
        held = sum(1 for c in asset.components if c.uploaded)
        return {
            "id": asset.id,
            "kind": asset.kind,
            "name": asset.name,
            "state": asset.state,
            "run_id": asset.run_id,
            "experiment_id": asset.experiment_id,
            "components": len(asset.components),
            "held": held,
            "size": size(sum(c.size for c in asset.components)),
            "created_at": isoformat(asset.created_at),
            "finalized_at": isoformat(asset.finalized_at),
        }

    def asset(self, asset_id: str) -> dict[str, Any]:
        reg = self.backend.registry
        with reg.transaction():
            asset = reg.get(reg.assets, "asset", asset_id)
            row = self._asset_row(asset)
            row["metadata_text"] = pretty(asset.metadata) if asset.metadata else ""
            row["component_rows"] = [_component_row(c) for c in asset.components]
            return row


def _component_row(comp: Component) -> dict[str, Any]:
    """A component, and whether storage already holds exactly its registered bytes."""
    if not comp.uploaded:
        storage, ok = "not uploaded yet", False
    elif comp.matches():
        storage, ok = "held, matches", True
    else:
        storage, ok = (
            f"held, but {size(comp.stored_size)} sha256 {comp.stored_sha256} "
            "does not match the registration",
            False,
        )
    return {
        "name": comp.name,
        "size": size(comp.size),
        "bytes": comp.size,
        "sha256": comp.sha256,
        "content_type": comp.content_type or "",
        "storage": storage,
        "held": comp.uploaded,
        "ok": ok,
    }
