"""``Run``: the handle a runner drives through a run's lifecycle.

    run = Run(chronicle, run_id)
    config = run.get_variation_config()
    with run.fail_on_crash(), run.heartbeating(interval=60):
        run.start()
        ...                      # train; run.register_and_upload_async(...) per checkpoint
        run.succeed()            # waits for the background uploads first

Lifecycle calls delegate to ``chronicle.runs`` and return ``self``; each drops the
cached run so the next attribute read (``run.state``) re-fetches. Uploads go through
an ``UploadTracker`` so that a process killed mid-upload can ``resume_uploads()``.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from methodic import types
from methodic.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ChronicleError,
    ConflictError,
    ContentTooLargeError,
    NotFoundError,
    PermissionDeniedError,
    UploadError,
)
from methodic.handles import Experiment, Field, Handle, Variation

if TYPE_CHECKING:
    from concurrent.futures import Future
    from types import FrameType

    from methodic.client import Chronicle
    from methodic.tracker import UploadTracker
    from methodic.uploads import PreparedUpload, ProgressArg, ProgressCallback, UploadEngine

__all__ = ["Heartbeater", "Run", "Terminated", "environment_snapshot"]

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

ProgressSource = Mapping[str, Any] | Callable[[], Mapping[str, Any] | None] | None
"""Heartbeat progress: a mapping, or a callable asked for a fresh one at every beat."""


class Terminated(SystemExit):
    """Raised in the main thread by ``Run.fail_on_crash`` when SIGTERM arrives.

    A ``SystemExit`` (code ``128 + signal``), so an uncaught one ends the process the
    way a shell reports a signal death, after ``finally`` blocks have run.
    """

    def __init__(self, signum: int) -> None:
        super().__init__(128 + signum)
        self.signum = signum


class Run(Handle[types.Run]):
    """A run handle. ``Run(chronicle, "id")`` sends no request.

    ``tracker`` is the ``UploadTracker`` the upload methods journal into; without
    one, the default tracker (under the user's cache directory) is opened on first
    upload.
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

    def __init__(
        self, chronicle: Chronicle, run: str | types.Run, tracker: UploadTracker | None = None
    ) -> None:
        super().__init__(chronicle, run)
        self._tracker = tracker
        self._engine: UploadEngine | None = None
        self._uploads_lock = threading.Lock()
        # Uploads of this handle still transferring (sync or background), by journal key.
        self._active: dict[str, PreparedUpload] = {}
        # Every background upload this handle started, until succeed() accounts for it.
        self._background: dict[str, tuple[Future[types.Asset], str]] = {}
        # The error that stopped the heartbeater (reaped, revoked key, unknown run):
        # every later lifecycle or upload call raises it without asking the server.
        self._stopped_by: APIError | None = None
        self._finished = False

    @property
    def variation(self) -> Variation:
        """The variation this run executes."""
        return Variation(self._chronicle, self.variation_id)

    @property
    def experiment(self) -> Experiment:
        """The experiment this run belongs to."""
        return Experiment(self._chronicle, self.experiment_id)

    @property
    def tracker(self) -> UploadTracker:
        """The upload journal (the default one is opened on first use)."""
        with self._uploads_lock:
            if self._tracker is None:
                from methodic.tracker import UploadTracker  # deferred: pulls in sqlite3

                self._tracker = UploadTracker()
            return self._tracker

    @property
    def pending_upload_bytes(self) -> int:
        """Bytes this handle still has to send (running or queued uploads)."""
        with self._uploads_lock:
            return sum(p.pending_bytes for p in self._active.values())

    # -- lifecycle ------------------------------------------------------------------

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
        self._raise_if_stopped()
        try:
            self._chronicle.runs.heartbeat(self._id, progress=progress)
        finally:
            self._invalidate()
        return self

    def succeed(self) -> Run:
        """``running -> succeeded``, once every upload of this run is complete.

        Waits for the background uploads this handle started. If any failed, or the
        tracker still holds unfinished uploads of this run, raises ``UploadError``
        (the cause chained) and does not report success: the run stays running, so
        ``resume_uploads()`` and then ``succeed()`` again can still finish it.
        """
        self._raise_if_stopped()
        self._await_uploads()
        try:
            self._chronicle.runs.succeed(self._id)
        finally:
            self._invalidate()
        self._finished = True
        return self

    def fail(
        self, reason: Literal["crash", "abandoned"] = "crash", message: str | None = None
    ) -> Run:
        """``-> failed``: ``crash`` for unrecoverable errors, ``abandoned`` for cancels.

        Background uploads are not awaited; they carry on (a crash checkpoint is
        still worth keeping) and remain resumable through the tracker.
        """
        try:
            self._chronicle.runs.fail(self._id, reason=reason, message=message)
        finally:
            self._invalidate()
        self._finished = True
        return self

    @contextmanager
    def heartbeating(
        self, interval: float = 60.0, *, progress: ProgressSource = None
    ) -> Iterator[Heartbeater]:
        """Send heartbeats from a daemon thread while the block runs.

        Each beat's progress is ``progress`` (or what the callable returns) plus
        ``pending_upload_bytes`` while uploads are in flight. Transient failures are
        logged and retried at the next beat (the watchdog allows 15 minutes). A 409 —
        the run was reaped or finished elsewhere — or any other 4xx but 408 and 429
        (a revoked key, an unknown run) stops the thread and is surfaced: raised when
        the block exits, and by every later lifecycle or upload call.

            with run.heartbeating(interval=30, progress=lambda: {"step": step}):
                train()
        """
        beater = Heartbeater(self, interval, progress)
        beater.start()
        try:
            yield beater
        except BaseException:
            beater.stop()
            raise
        beater.stop()
        if beater.error is not None:
            raise beater.error

    @contextmanager
    def fail_on_crash(self) -> Iterator[Run]:
        """Turn an escaping exception or SIGTERM into ``fail()``, never into success.

        ``KeyboardInterrupt`` reports ``reason="abandoned"``; anything else (including
        SIGTERM, raised as ``Terminated``) reports ``reason="crash"``. The exception is
        re-raised. In the main thread a SIGTERM handler is installed for the block and
        the previous one restored after (an ignored SIGTERM stays ignored). Nothing is
        reported if the run already finished through this handle.

            with run.fail_on_crash():
                run.start()
                train()
                run.succeed()
        """
        import signal  # deferred: only runners guarding a run need it

        installed = False
        previous: Any = None
        if threading.current_thread() is threading.main_thread():
            previous = signal.getsignal(signal.SIGTERM)
            if previous is not signal.SIG_IGN:

                def on_sigterm(signum: int, frame: FrameType | None) -> None:
                    raise Terminated(signum)

                signal.signal(signal.SIGTERM, on_sigterm)
                installed = True
        try:
            yield self
        except BaseException as exc:
            self._fail_for(exc)
            raise
        finally:
            if installed:
                signal.signal(signal.SIGTERM, previous)

    # -- uploads --------------------------------------------------------------------

    def upload_asset(
        self,
        kind: str,
        name: str,
        files: Mapping[str, str | os.PathLike[str]],
        metadata: Mapping[str, Any] | None = None,
        progress: ProgressArg = None,
        *,
        content_types: Mapping[str, str] | None = None,
    ) -> types.Asset:
        """Upload local files as one asset of this run and wait until it is ready.

        ``files`` maps component names to paths. The upload is journaled in the
        tracker first, so even this synchronous call is resumable after a crash.
        ``progress`` is a ``callback(bytes_done, bytes_total)`` or ``"tqdm"``.

            asset = run.upload_asset("output", "predictions", {"preds.csv": "out/preds.csv"})
        """
        from methodic.uploads import resolve_progress

        self._raise_if_stopped()
        callback = resolve_progress(progress, desc=name)
        prepared = self._register(kind, name, files, metadata, content_types)
        return self._transfer(prepared, callback)

    def upload_inline(
        self,
        kind: str,
        name: str,
        content: str | Mapping[str, Any],
        *,
        content_type: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> types.Asset:
        """Attach a small payload (at most 1 MiB) in one call; it is ready at once.

        run.upload_inline("environment", "pip-freeze", freeze, content_type="text/plain")
        """
        self._raise_if_stopped()
        return self._chronicle.assets.create_inline(
            kind=kind,
            name=name,
            content=content,
            content_type=content_type,
            run_id=self._id,
            metadata=metadata,
        )

    def register_and_upload_async(
        self,
        kind: str,
        name: str,
        files: Mapping[str, str | os.PathLike[str]],
        metadata: Mapping[str, Any] | None = None,
        *,
        content_types: Mapping[str, str] | None = None,
        progress: ProgressArg = None,
    ) -> Future[types.Asset]:
        """Register an asset now; send its bytes in the background.

        Before this returns, the files are hashed, journaled in the tracker and the
        asset is created with Chronicle, so a SIGKILL at any later instant is
        recoverable with ``resume_uploads()``. The transfer and finalize run on the
        client's bounded upload pool; ``succeed()`` waits for them.

            future = run.register_and_upload_async("checkpoint", f"step-{step}", files)
            ...
            run.succeed()                      # raises UploadError if it failed
        """
        from methodic.uploads import resolve_progress

        self._raise_if_stopped()
        callback = resolve_progress(progress, desc=name)
        prepared = self._register(kind, name, files, metadata, content_types)
        key = prepared.record.key
        try:
            future = self._chronicle._upload_executor.submit(self._transfer, prepared, callback)
        except BaseException:
            with self._uploads_lock:
                self._active.pop(key, None)
            self._upload_engine().release(prepared)  # leave it to resume_uploads()
            raise
        with self._uploads_lock:
            self._background[key] = (future, prepared.asset.id)
        return future

    def resume_uploads(self, progress: ProgressArg = None) -> list[types.Asset]:
        """Finish every incomplete upload of this run found in the tracker.

        Returns the assets it completed. Uploads a live process (or a running upload
        of this handle) holds are left to their owner. If some cannot be finished,
        the others still are, and then ``UploadError`` is raised for the first failure.

            run = Run(chronicle, run_id)       # in the restarted process
            run.resume_uploads()
        """
        from methodic.uploads import resolve_progress

        engine = self._upload_engine()
        assets: list[types.Asset] = []
        failures: list[UploadError] = []
        for upload in self.tracker.incomplete(run_id=self._id):
            # Per upload: "tqdm" draws one bar for each, named after its asset.
            callback = resolve_progress(progress, desc=upload.name)
            try:
                asset = engine.resume(upload, progress=callback)
            except UploadError as err:
                failures.append(err)
                continue
            if asset is not None:
                assets.append(asset)
        if failures:
            raise UploadError(
                f"{len(failures)} upload(s) of run {self._id} could not be resumed "
                f"({len(assets)} were): {failures[0]}"
            ) from failures[0]
        return assets

    def download_checkpoint(
        self, dest_dir: str | os.PathLike[str], *, progress: ProgressArg = None
    ) -> list[Path] | None:
        """Download the run's resume checkpoint into ``dest_dir``; ``None`` if there is none.

        Each file is streamed to disk and its sha256 verified (``IntegrityError`` on
        a mismatch, with no partial file left under its final name).

            paths = run.download_checkpoint("/scratch/resume")
            if paths is not None:
                state = load(paths)
        """
        from methodic.uploads import download_asset, resolve_progress

        try:
            asset = self._chronicle.runs.checkpoint(self._id)
        except NotFoundError:
            return None
        return download_asset(
            self._chronicle, asset, dest_dir, progress=resolve_progress(progress, desc=asset.name)
        )

    # -- internals ------------------------------------------------------------------

    def _fetch(self) -> types.Run:
        return self._chronicle.runs.get(self._id)

    def _upload_engine(self) -> UploadEngine:
        tracker = self.tracker
        with self._uploads_lock:
            if self._engine is None:
                from methodic.uploads import UploadEngine

                self._engine = UploadEngine(self._chronicle, tracker)
            return self._engine

    def _register(
        self,
        kind: str,
        name: str,
        files: Mapping[str, str | os.PathLike[str]],
        metadata: Mapping[str, Any] | None,
        content_types: Mapping[str, str] | None,
    ) -> PreparedUpload:
        """Register an upload of this run and count it as active until transferred."""
        prepared = self._upload_engine().register(
            kind=kind,
            name=name,
            files=files,
            run_id=self._id,
            metadata=metadata,
            content_types=content_types,
        )
        # Counted from here, so queued background uploads show in pending bytes too.
        with self._uploads_lock:
            self._active[prepared.record.key] = prepared
        return prepared

    def _transfer(self, prepared: PreparedUpload, progress: ProgressCallback | None) -> types.Asset:
        try:
            return self._upload_engine().transfer(prepared, progress=progress)
        finally:
            with self._uploads_lock:
                self._active.pop(prepared.record.key, None)

    def _await_uploads(self) -> None:
        from concurrent.futures import wait

        with self._uploads_lock:
            background = dict(self._background)
        wait([future for future, _ in background.values()])
        failures: list[BaseException] = []
        for key, (future, asset_id) in background.items():
            error = future.exception()
            if error is not None and not self._completed_elsewhere(asset_id):
                failures.append(error)
                continue
            with self._uploads_lock:
                self._background.pop(key, None)
        if failures:
            raise UploadError(
                f"{len(failures)} of {len(background)} background upload(s) of run {self._id} "
                f"failed, so the run was not marked succeeded (resume_uploads() can finish "
                f"them): {failures[0]}"
            ) from failures[0]
        if self._tracker is not None or _default_tracker_exists():
            leftover = self.tracker.incomplete(run_id=self._id)
            if leftover:
                names = ", ".join(f"{u.kind}/{u.name}" for u in leftover)
                raise UploadError(
                    f"run {self._id} still has {len(leftover)} unfinished upload(s) in "
                    f"{self.tracker.path} ({names}); call resume_uploads() before succeed()"
                )

    def _completed_elsewhere(self, asset_id: str) -> bool:
        # A failed background upload may have been finished since by resume_uploads()
        # (here or in another process): the server knows.
        try:
            return self._chronicle.assets.get(asset_id).state == "ready"
        except ChronicleError:
            return False

    def _raise_if_stopped(self) -> None:
        if self._stopped_by is not None:
            raise self._stopped_by

    def _record_stopped(self, error: APIError) -> None:
        self._stopped_by = error

    def _fail_for(self, exc: BaseException) -> None:
        if self._finished:
            return
        reason: Literal["crash", "abandoned"] = (
            "abandoned" if isinstance(exc, KeyboardInterrupt) else "crash"
        )
        if isinstance(exc, Terminated):
            message = f"terminated by signal {exc.signum}"
        else:
            # Redact before truncating, so a cut can't leave part of the key behind.
            text = self._chronicle.transport.redact(f"{type(exc).__name__}: {exc}")
            message = text[:2000]
        try:
            self.fail(reason=reason, message=message)
        except ChronicleError as err:
            # Already reaped, unreachable server...: the original exception matters more.
            logger.warning("could not report run %s as failed: %s", self._id, err)


class Heartbeater:
    """The background heartbeat thread behind ``Run.heartbeating``.

    ``error`` holds the ``APIError`` that stopped it, if any (``ConflictError`` once
    the run was reaped); ``beats`` and ``failures`` count successful and failed
    heartbeats.
    """

    def __init__(self, run: Run, interval: float, progress: ProgressSource) -> None:
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
        self._thread = threading.Thread(
            target=self._loop, name=f"methodic-heartbeat-{run.id}", daemon=True
        )

    def start(self) -> None:
        """Start beating (the first beat is sent at once)."""
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        """Stop and join the thread (a beat in flight is allowed to finish)."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        """Whether the thread is still beating."""
        return self._thread.is_alive()

    def _payload(self) -> dict[str, Any] | None:
        source = self._progress
        base = source() if callable(source) else source
        payload = dict(base) if base is not None else {}
        pending = self._run.pending_upload_bytes
        if pending:
            payload["pending_upload_bytes"] = pending
        return payload or None

    def _loop(self) -> None:
        run = self._run
        # A run finished through its handle (succeed/fail inside the block) needs no
        # more beats, and the 409 a late beat would get is not a reaping.
        while not self._stop.is_set() and not run._finished:
            try:
                run.heartbeat(progress=self._payload())
                self.beats += 1
            except APIError as err:
                if _retryable(err):
                    self.failures += 1
                    logger.warning("heartbeat for run %s failed: %s", run.id, err)
                elif run._finished:
                    return
                else:
                    self.error = err
                    run._record_stopped(err)
                    logger.error("run %s can no longer heartbeat: %s", run.id, err)
                    return
            except Exception as err:  # keep beating: one lost beat is not fatal
                self.failures += 1
                logger.warning("heartbeat for run %s failed: %s", run.id, err)
            if self._stop.wait(self.interval):
                return


def _retryable(error: APIError) -> bool:
    """Server errors, timeouts and rate limits may pass at the next beat."""
    return not isinstance(error, _PERMANENT_REFUSALS)


def _default_tracker_exists() -> bool:
    from methodic.tracker import default_tracker_path

    return default_tracker_path().exists()


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
