"""The machinery behind a runner's ``Run`` handle: lifecycle, heartbeats, signals.

The handle itself lives with the other handles (``methodic.handles.Run``) and only
delegates; what it delegates its lifecycle to is here:

    with Run(chronicle, run_id).lifecycle(heartbeat_interval=60) as run:
        ...                      # train; run.register_and_upload_async(...) per checkpoint

``RunLifecycle`` is that context manager, ``Heartbeater`` the background heartbeat
thread, ``CrashGuard`` the exception and SIGTERM reporting behind ``fail_on_crash()``.
They reach the run only through its public API, and this module imports no handle at
runtime, so the import graph stays a tree.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal

from methodic._signals import leave_signals_to_main_thread
from methodic.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ChronicleError,
    ConflictError,
    ContentTooLargeError,
    NotFoundError,
    PermissionDeniedError,
    TrackerError,
)

if TYPE_CHECKING:
    from types import FrameType

    from methodic.handles import Run
    from methodic.types import Asset

__all__ = [
    "CrashGuard",
    "Heartbeater",
    "OnSigterm",
    "ProgressSource",
    "RunLifecycle",
    "Terminated",
    "environment_snapshot",
]

logger = logging.getLogger("methodic")

_WATCHDOG_SECONDS = 15 * 60
# Refusals a later beat cannot get past (409 reaped, 401 revoked key, 403, 404 unknown
# run, 400/422 bad body, 413 progress too large); anything else (5xx, 429, 408, ...)
# may pass at the next beat.
_PERMANENT_REFUSALS = (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    ContentTooLargeError,
    NotFoundError,
    PermissionDeniedError,
)

# Refusals that stopped the heartbeater and that fail() would get too.
_UNREPORTABLE = (AuthenticationError, ConflictError, NotFoundError, PermissionDeniedError)

ProgressSource = Mapping[str, Any] | Callable[[], Mapping[str, Any] | None] | None
"""Heartbeat progress: a mapping, or a callable asked for a fresh one at every beat."""

OnSigterm = Literal["leave", "fail"]
"""What a SIGTERM does to the run: ``"leave"`` it running for a restart, or ``"fail"`` it."""


class Terminated(SystemExit):
    """Raised in the main thread by ``lifecycle()`` / ``fail_on_crash()`` on SIGTERM.

    A ``SystemExit`` (code ``128 + signal``), so an uncaught one ends the process the
    way a shell reports a signal death, after ``finally`` blocks have run.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(128 + signum)
        self.signum = signum


class Heartbeater:
    """The background heartbeat thread behind ``Run.heartbeating``; a context manager.

    It beats only a running run: entered while the run is still pending it waits,
    and ``Run.start()`` wakes it. ``error`` holds the ``APIError`` that stopped it,
    if any (``ConflictError`` once the run was reaped); ``beats`` and ``failures``
    count successful and failed heartbeats.
    """

    def __init__(self, run: Run, interval: float = 60.0, progress: ProgressSource = None) -> None:
        if interval <= 0:
            raise ValueError("interval must be positive")
        if interval >= _WATCHDOG_SECONDS:
            logger.warning(
                "heartbeat interval %.0fs is not shorter than the 15-minute watchdog", interval
            )
        self.interval = interval
        self.error: APIError | None = None
        self.beats = 0
        self.failures = 0
        self._run = run
        self._progress = progress
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, name=f"methodic-heartbeat-{run.id}", daemon=True
        )

    def __enter__(self) -> Heartbeater:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        if exc is None and self.error is not None:
            raise self.error

    def start(self) -> None:
        """Start the thread (it beats at once if the run is running)."""
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Stop and join the thread (a beat in flight is allowed to finish)."""
        self._stop.set()
        self._wake.set()
        # At interpreter exit (a process that never left the block) a daemon thread
        # can no longer run, and joining it would hang the exit forever.
        if sys.is_finalizing():
            return
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def wake(self) -> None:
        """Look at the run again now (``Run.start()`` calls this once it is running)."""
        self._wake.set()

    @property
    def running(self) -> bool:
        """Whether the thread is still alive (beating, or waiting for the run to start)."""
        return self._thread.is_alive()

    def beat_now(self) -> None:
        """Beat once from the calling thread, with the progress as it is now.

        ``Run.succeed()`` calls it once the uploads are done: with a minute between
        beats, the finished run would otherwise show the progress of up to a minute
        before the end (a short block: the progress it started with). Skipped unless
        the thread still beats (not stopped, not refused, the run not finished); a
        failure is logged, as a beat's is.
        """
        run = self._run
        if not self.running or self._stop.is_set() or self.error is not None or run.finished:
            return
        try:
            # The callable, as the thread passes it: Run.heartbeat encodes the
            # progress and survives a source that raises or returns junk.
            run.heartbeat(progress=self._payload)
            self.beats += 1
        except ChronicleError as err:
            self.failures += 1
            logger.warning("last heartbeat for run %s failed: %s", run.id, err)

    def _payload(self) -> Any:
        # Called by Run.heartbeat, which reports (and survives) a source that raises
        # or returns something that is not a mapping.
        source = self._progress
        base = source() if callable(source) else source
        if base is not None and not isinstance(base, Mapping):
            return base
        payload = dict(base or {})
        pending = self._run.pending_upload_bytes
        if pending:
            payload["pending_upload_bytes"] = pending
        return payload or None

    def _loop(self) -> None:
        leave_signals_to_main_thread()
        run = self._run
        live = False
        # A run finished through its handle (succeed/fail inside the block) needs no
        # more beats, and the 409 a late beat would get is not a reaping.
        while not self._stop.is_set() and not run.finished:
            self._wake.clear()
            try:
                # A pending run is not beaten (Chronicle answers 409): wait for start().
                # A handle that started or attached knows; otherwise the server says.
                live = live or run.attached is not None or run.refresh().state != "pending"
                if live:
                    run.heartbeat(progress=self._payload)
                    self.beats += 1
            except APIError as err:
                if _retryable(err):
                    self.failures += 1
                    logger.warning("heartbeat for run %s failed: %s", run.id, err)
                elif run.finished:
                    return
                else:
                    self.error = err
                    logger.error("run %s can no longer heartbeat: %s", run.id, err)
                    return
            except Exception as err:  # keep beating: one lost beat is not fatal
                self.failures += 1
                logger.warning("heartbeat for run %s failed: %s", run.id, err)
            self._wake.wait(self.interval)


class CrashGuard:
    """Reports an exception escaping its block as ``fail()``; never as success.

    ``KeyboardInterrupt`` reports ``reason="abandoned"``, anything else
    ``reason="crash"`` with a redacted ``"<Type>: <text>"`` message; the exception is
    re-raised. In the main thread SIGTERM raises ``Terminated`` for the block
    (previous handler restored after; an ignored SIGTERM stays ignored), which
    ``on_sigterm`` decides: ``"leave"`` the run running for a restart of the same run
    id, or ``"fail"`` it as a crash. Nothing is reported for a run already finished
    through its handle. ``Run.fail_on_crash()`` returns one.
    """

    def __init__(self, run: Run, *, on_sigterm: OnSigterm = "leave") -> None:
        if on_sigterm not in ("leave", "fail"):
            raise ValueError(f"on_sigterm must be 'leave' or 'fail', not {on_sigterm!r}")
        self._run = run
        self._on_sigterm = on_sigterm
        self._installed = False
        self._previous: Any = None

    def __enter__(self) -> Run:
        self.install()
        return self._run

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc is not None:
                self.report(exc)
        finally:
            self.restore()

    def install(self) -> None:
        """Turn SIGTERM into ``Terminated`` (main thread only; Python allows no other)."""
        import signal  # deferred: only runners guarding a run need it

        if threading.current_thread() is not threading.main_thread():
            return
        previous = signal.getsignal(signal.SIGTERM)
        if previous is signal.SIG_IGN:
            return

        def on_sigterm(signum: int, frame: FrameType | None) -> None:
            raise Terminated(signum)

        signal.signal(signal.SIGTERM, on_sigterm)
        self._previous, self._installed = previous, True

    def restore(self) -> None:
        """Put back the SIGTERM handler that was there before ``install()``."""
        import signal

        if self._installed:
            signal.signal(signal.SIGTERM, self._previous)
            self._installed = False

    def report(self, exc: BaseException) -> None:
        """Fail the run for ``exc`` (or leave it, for a SIGTERM under ``"leave"``)."""
        run = self._run
        if run.finished:
            return
        stopped = run.heartbeat_health.error if run.heartbeat_health.stopped else None
        if isinstance(stopped, _UNREPORTABLE):
            # Reaped or finished elsewhere, key revoked, run unknown: the heartbeater
            # already said so, and fail() could only be refused the same way.
            logger.info("run %s: not reported as failed: %s", run.id, stopped)
            return
        if isinstance(exc, Terminated) and self._on_sigterm == "leave":
            logger.info(
                "run %s: signal %d, leaving the run running for a restart of the same "
                "run id (Chronicle's watchdog fails it if none comes within 15 minutes)",
                run.id,
                exc.signum,
            )
            return
        reason: Literal["crash", "abandoned"] = (
            "abandoned" if isinstance(exc, KeyboardInterrupt) else "crash"
        )
        if isinstance(exc, Terminated):
            message = f"terminated by signal {exc.signum}"
        else:
            # Redact before truncating, so a cut can't leave part of the key behind.
            text = run.chronicle.transport.redact(f"{type(exc).__name__}: {exc}")
            message = text[:2000]
        try:
            run.fail(reason=reason, message=message)
        except ChronicleError as err:
            # Already reaped, unreachable server...: the original exception matters more.
            logger.warning("could not report run %s as failed: %s", run.id, err)


class RunLifecycle:
    """``with run.lifecycle(...) as run:`` — a whole run, correct by construction.

    Enter: start the run (or attach to it if a restarted runner finds it already
    running; ``ConflictError`` if it finished), install the SIGTERM handler, start
    heartbeating, and resume this run's unfinished uploads. Clean exit: wait for the
    background uploads, then succeed. An exception: fail (``crash``, or ``abandoned``
    for Ctrl-C) and re-raise. SIGTERM: see ``CrashGuard`` and ``on_sigterm``.
    """

    def __init__(
        self,
        run: Run,
        *,
        heartbeat_interval: float = 60.0,
        progress: ProgressSource = None,
        environment: Mapping[str, Any] | None = None,
        on_sigterm: OnSigterm = "leave",
    ) -> None:
        self._run = run
        self._guard = CrashGuard(run, on_sigterm=on_sigterm)
        # Built now so a bad interval fails before anything is sent.
        self._beater = run.heartbeating(heartbeat_interval, progress=progress)
        self._environment = environment
        self._resumed: list[Asset] = []

    @property
    def resumed(self) -> list[Asset]:
        """The uploads of a killed predecessor that entering finished (its assets)."""
        return list(self._resumed)

    @property
    def heartbeater(self) -> Heartbeater:
        """The heartbeat thread of this lifecycle (``error``, ``beats``, ``failures``)."""
        return self._beater

    def __enter__(self) -> Run:
        run = self._run
        run.start(self._environment)  # a finished run raises here, before anything changed
        self._guard.install()
        try:
            self._beater.start()
            try:
                self._resumed = run.resume_uploads()
            except TrackerError as err:
                # Nothing can be resumed from an unreadable journal, and a run that
                # uploads nothing must not fail for it; an upload through it raises.
                logger.warning("run %s: cannot resume uploads: %s", run.id, err)
        except BaseException as exc:
            self._leave(exc)
            raise
        return run

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is not None:
            self._leave(exc)
            return
        try:
            if not self._run.finished:
                # Heartbeats go on while succeed() waits for the background uploads.
                self._run.succeed()
        except BaseException as err:
            self._leave(err)
            raise
        self._beater.stop()
        self._guard.restore()

    def _leave(self, exc: BaseException) -> None:
        try:
            self._beater.stop()  # no beat may race the failure report
            self._guard.report(exc)
        finally:
            self._guard.restore()


def _retryable(error: APIError) -> bool:
    """Server errors, timeouts and rate limits may pass at the next beat."""
    return not isinstance(error, _PERMANENT_REFUSALS)


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
