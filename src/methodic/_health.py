"""How a run's heartbeats are going, as its handle sees them: ``run.heartbeat_health``.

``BeatLog`` is the handle's record of every beat it sent (background or direct): the
last error, the last success and what was wrong with the progress payload.
``HeartbeatHealth`` is the frozen snapshot a runner reads to decide whether to go on.

A problem with a payload is logged once per kind of problem and handle, however many
beats repeat it: a loss that stays NaN for a week must not write a warning a minute.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from methodic.types import Run

__all__ = ["BeatLog", "HeartbeatHealth"]

logger = logging.getLogger("methodic")

_LOGGED_KINDS = 100  # distinct problems logged per handle; past that, only recorded


@dataclass(frozen=True)
class HeartbeatHealth:
    """A snapshot of a run handle's heartbeats (``run.heartbeat_health``).

    Attributes:
        beats: heartbeats Chronicle accepted from this handle.
        consecutive_failures: failed beats since the last accepted one (0 when the
            last beat went through).
        error: the last failed beat's exception, until a beat succeeds again; once
            beating ``stopped``, the error that stopped it.
        stopped: background heartbeating stopped for good: the run was reaped or
            finished elsewhere, or the key was revoked (``error`` says which). Every
            later lifecycle or upload call on the handle raises ``error``.
        last_beat_at: Chronicle's ``last_heartbeat_at`` after this handle's last
            accepted beat, or after ``start()`` (which the watchdog counts as one):
            RFC 3339, the server's clock. ``None`` before either.
        seconds_since_beat: seconds since that beat, by this process's monotonic
            clock; ``None`` before it. Chronicle's watchdog fails a running run after
            900 s without a beat.
        progress_problem: what was wrong with the last beat's progress (a value that
            had to be dropped, a progress callable that raised, Chronicle refusing
            the payload): the beat went out regardless. ``None`` when it was sent whole.

    Stop early when beats keep failing::

        health = run.heartbeat_health
        if health.stopped or health.consecutive_failures >= 3:
            raise RuntimeError(f"heartbeats failing: {health.error}")
    """

    beats: int = 0
    consecutive_failures: int = 0
    error: Exception | None = None
    stopped: bool = False
    last_beat_at: str | None = None
    seconds_since_beat: float | None = None
    progress_problem: str | None = None


class BeatLog:
    """The record behind ``HeartbeatHealth``, kept by one ``Run`` handle (thread-safe)."""

    def __init__(self, run_id: str, redact: Callable[[str], str]) -> None:
        self._run_id = run_id
        self._redact = redact  # a callable's error text is logged: never with the key
        self._lock = threading.Lock()
        self._beats = 0
        self._failures = 0
        self._error: Exception | None = None
        self._last_beat_at: str | None = None
        self._last_beat_clock: float | None = None
        self._problem: str | None = None
        self._logged: set[str] = set()

    def send(self, beat: Callable[[dict[str, Any] | None], Run], progress: Any) -> Run:
        """One heartbeat through ``beat(payload)``, recorded; its errors are re-raised.

        Liveness never depends on the payload: a beat whose progress Chronicle refuses
        (400, 413, 422) is sent again at once without it.
        """
        from methodic.errors import BadRequestError, ContentTooLargeError

        payload = self.payload(progress)
        try:
            try:
                answer = beat(payload)
            except (BadRequestError, ContentTooLargeError) as refused:
                if payload is None:
                    raise
                self.problem(
                    f"Chronicle refused it ({refused}); beat sent without progress",
                    kind=f"refused {refused.status_code}",
                )
                answer = beat(None)
        except Exception as err:
            self.failed(err)
            raise
        self.alive(answer.last_heartbeat_at, beat=True)
        return answer

    def payload(self, progress: Any) -> dict[str, Any] | None:
        """``progress`` (a mapping, or a callable returning one) as the JSON to send.

        Whatever is wrong with it is recorded and logged once; the caller sends the
        beat with what is left (nothing, when the callable raised).
        """
        from methodic._progress import encode_progress

        if callable(progress):
            try:
                progress = progress()
            except Exception as err:
                self.problem(
                    f"the progress callable raised {type(err).__name__}: "
                    f"{_short(self._redact(str(err)))} (beat sent without progress)",
                    kind=f"raised {type(err).__name__}",
                )
                return None
        encoded = encode_progress(progress)
        if encoded.problems:
            for problem in encoded.problems:
                # "... and N more" varies with N: one kind, or it would log every beat.
                self._log_once("more" if problem.startswith("...") else problem, problem)
            self._set_problem("; ".join(encoded.problems))
        else:
            self._set_problem(None)
        return encoded.payload

    def problem(self, text: str, *, kind: str) -> None:
        """Record (and log once per ``kind``) a problem with this beat's progress."""
        self._log_once(kind, text)
        self._set_problem(text)

    def alive(self, last_heartbeat_at: str | None, *, beat: bool) -> None:
        """Chronicle accepted a beat (``beat``) or a start: the watchdog restarts."""
        with self._lock:
            if beat:
                self._beats += 1
            self._failures = 0
            self._error = None
            self._last_beat_at = last_heartbeat_at
            self._last_beat_clock = time.monotonic()

    def failed(self, error: Exception) -> None:
        """A beat did not reach Chronicle, or Chronicle refused it."""
        with self._lock:
            self._failures += 1
            self._error = error

    def snapshot(self, stopped_by: Exception | None) -> HeartbeatHealth:
        """The health now; ``stopped_by`` is the error that stopped background beats."""
        with self._lock:
            since = None
            if self._last_beat_clock is not None:
                since = time.monotonic() - self._last_beat_clock
            return HeartbeatHealth(
                beats=self._beats,
                consecutive_failures=self._failures,
                error=stopped_by if stopped_by is not None else self._error,
                stopped=stopped_by is not None,
                last_beat_at=self._last_beat_at,
                seconds_since_beat=since,
                progress_problem=self._problem,
            )

    def _set_problem(self, text: str | None) -> None:
        with self._lock:
            self._problem = text

    def _log_once(self, kind: str, text: str) -> None:
        with self._lock:
            if kind in self._logged or len(self._logged) >= _LOGGED_KINDS:
                return
            self._logged.add(kind)
        logger.warning("run %s: heartbeat progress: %s", self._run_id, text)


def _short(text: str, limit: int = 200) -> str:
    # Redacted before it is cut, so a cut cannot leave part of a key behind.
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
