"""``Run``: the handle a runner drives through a run's lifecycle.

    run = Run(chronicle, run_id)
    config = run.get_variation_config()
    run.start()
    ...                          # train, calling run.heartbeat(progress={...})
    run.succeed()                # or run.fail(reason="crash", message=str(err))

Lifecycle calls delegate to ``chronicle.runs`` and return ``self``; each drops the
cached run so the next attribute read (``run.state``) re-fetches.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal

from methodic import types
from methodic.handles import Experiment, Field, Handle, Variation

if TYPE_CHECKING:
    from methodic.client import Chronicle

__all__ = ["Run", "environment_snapshot"]


class Run(Handle[types.Run]):
    """A run handle. ``Run(chronicle, "id")`` sends no request.

    ``tracker`` is an optional ``UploadTracker`` used by the upload methods.
    """

    _model = types.Run

    variation_id = Field[str]()
    experiment_id = Field[str]()
    state = Field[str]()
    created_at = Field[str]()
    failure_reason = Field[str | None]()
    failure_message = Field[str | None]()
    environment = Field[dict[str, Any] | None]()
    progress = Field[dict[str, Any] | None]()
    resume_from_run_id = Field[str | None]()
    started_at = Field[str | None]()
    last_heartbeat_at = Field[str | None]()
    finished_at = Field[str | None]()

    def __init__(self, chronicle: Chronicle, run: str | types.Run, tracker: Any = None) -> None:
        super().__init__(chronicle, run)
        self._tracker = tracker

    @property
    def variation(self) -> Variation:
        """The variation this run executes."""
        return Variation(self._chronicle, self.variation_id)

    @property
    def experiment(self) -> Experiment:
        """The experiment this run belongs to."""
        return Experiment(self._chronicle, self.experiment_id)

    def get_variation_config(self) -> types.VariationConfig:
        """The config to run: ``config_json``, ``accelerate_config_json``, ``launch_config``."""
        return self._chronicle.runs.config(self._id)

    def start(self, environment: Mapping[str, Any] | None = None) -> Run:
        """``pending -> running``. Without ``environment``, sends ``environment_snapshot()``."""
        env = environment_snapshot() if environment is None else environment
        try:
            self._chronicle.runs.start(self._id, environment=env)
        finally:
            self._invalidate()
        return self

    def heartbeat(self, progress: Mapping[str, Any] | None = None) -> Run:
        """Report liveness (and optional progress); ConflictError once the run was reaped."""
        try:
            self._chronicle.runs.heartbeat(self._id, progress=progress)
        finally:
            self._invalidate()
        return self

    def succeed(self) -> Run:
        """``running -> succeeded``."""
        try:
            self._chronicle.runs.succeed(self._id)
        finally:
            self._invalidate()
        return self

    def fail(
        self, reason: Literal["crash", "abandoned"] = "crash", message: str | None = None
    ) -> Run:
        """``-> failed``: ``crash`` for unrecoverable errors, ``abandoned`` for cancels."""
        try:
            self._chronicle.runs.fail(self._id, reason=reason, message=message)
        finally:
            self._invalidate()
        return self

    def _fetch(self) -> types.Run:
        return self._chronicle.runs.get(self._id)


def environment_snapshot() -> dict[str, Any]:
    """Where this process runs: interpreter, platform, host, methodic version.

    Deliberately no environment variables: their values routinely hold secrets.
    """
    import platform  # deferred: only runners starting a run need these
    import socket

    from methodic._version import __version__

    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "hostname": socket.gethostname(),
        "methodic": __version__,
    }
