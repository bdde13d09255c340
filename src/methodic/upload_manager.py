"""``UploadManager``: the one owner of a client's uploads (``chronicle.uploads``).

In the spirit of s3transfer's ``TransferManager``, it alone holds the worker threads
(background transfers, component PUTs, hashing: each pool bounded, started as work
arrives), the uploads in flight and their accounting per run, the default journal,
and shutdown. ``Run``'s upload calls delegate here, and ``UploadEngine`` (the pipeline
of one upload, in ``methodic.uploads``) runs its parallel work on these workers:

    future = chronicle.uploads.submit(kind="checkpoint", name="step-5", files=files,
                                      run_id=run_id)
    chronicle.uploads.wait(run_id)          # UploadError if one failed
"""

from __future__ import annotations

import functools
import logging
import os
import queue
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from methodic._signals import leave_signals_to_main_thread
from methodic.errors import ChronicleError, TrackerError, UploadError
from methodic.tracker import TrackedUpload, UploadTracker
from methodic.uploads import (
    MAX_PARALLEL_COMPONENTS,
    PreparedUpload,
    ProgressArg,
    ProgressCallback,
    UploadEngine,
    check_files,
    resolve_progress,
)

if TYPE_CHECKING:
    from methodic.client import Chronicle
    from methodic.types import Asset

__all__ = ["UploadManager"]

logger = logging.getLogger("methodic")

_T = TypeVar("_T")


class _Workers:
    """A bounded pool of daemon threads, started as work arrives.

    Not a ``ThreadPoolExecutor``: those workers are joined on shutdown and again at
    interpreter exit, so a SIGTERM or Ctrl-C during a multi-gigabyte PUT would end
    the process only once that PUT had. A waiter interrupted here returns at once,
    and the calls still running die with the process; what they were sending stays
    in the journal for ``resume``.
    """

    def __init__(self, max_workers: int, name: str) -> None:
        self.max_workers = max_workers
        self._name = name
        self._queue: queue.SimpleQueue[tuple[Future[Any], Callable[[], Any]] | None] = (
            queue.SimpleQueue()
        )
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, call: Callable[[], _T]) -> Future[_T]:
        future: Future[_T] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError(f"{self._name} workers are shut down")
            self._queue.put((future, call))
            if len(self._threads) < self.max_workers:
                thread = threading.Thread(
                    target=self._work, name=f"{self._name}-{len(self._threads)}", daemon=True
                )
                self._threads.append(thread)
                thread.start()
        return future

    def run_all(self, calls: Sequence[Callable[[], _T]], limit: int) -> list[_T]:
        """Run ``calls``, at most ``limit`` at once; their results, in order.

        After a failure no further call starts; the running ones end, and the first
        failure is raised. An interrupted caller (``Terminated``, Ctrl-C) returns at
        once and leaves the running calls behind.
        """
        if limit <= 1 or len(calls) <= 1:
            return [call() for call in calls]
        results: list[Any] = [None] * len(calls)
        failures: list[BaseException] = []
        pending = iter(enumerate(calls))
        lock = threading.Lock()
        stop = threading.Event()

        def drain() -> None:
            while not stop.is_set():
                with lock:
                    item = next(pending, None)
                if item is None:
                    return
                index, call = item
                try:
                    results[index] = call()
                except BaseException as err:
                    with lock:
                        failures.append(err)
                    stop.set()

        futures = [self.submit(drain) for _ in range(min(limit, len(calls)))]
        try:
            wait(futures)
        except BaseException:
            stop.set()
            raise
        if failures:
            raise failures[0]
        return results

    def shutdown(self, *, wait: bool = True) -> None:
        """Stop taking work; with ``wait``, finish what is queued first."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            threads = list(self._threads)
            for _ in threads:
                self._queue.put(None)
        # At interpreter exit a daemon thread can no longer run: joining it would hang.
        if wait and not sys.is_finalizing():
            for thread in threads:
                if thread is not threading.current_thread():
                    thread.join()

    def _work(self) -> None:
        leave_signals_to_main_thread()
        while (item := self._queue.get()) is not None:
            future, call = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = call()
            except BaseException as err:
                future.set_exception(err)
            else:
                future.set_result(result)


@dataclass
class _Background:
    run_id: str | None
    asset_id: str
    future: Future[Asset]


class UploadManager:
    """The one owner of a client's uploads: ``chronicle.uploads``.

    It holds the worker threads (background transfers, component PUTs, hashing, each
    pool bounded), the uploads in flight and their accounting per run, the default
    journal, and shutdown. ``Run`` delegates its upload calls here; ``Chronicle.close``
    waits for what is queued.

        future = chronicle.uploads.submit(kind="checkpoint", name="step-5", files=files,
                                          run_id=run_id)
        chronicle.uploads.wait(run_id)      # UploadError if one failed

    ``tracker=None`` everywhere means the default journal (``default_tracker``).
    """

    def __init__(self, chronicle: Chronicle, *, max_workers: int = MAX_PARALLEL_COMPONENTS) -> None:
        if max_workers <= 0:
            raise ValueError("max_workers must be positive")
        self._chronicle = chronicle
        self._transfers = _Workers(max_workers, "methodic-upload")
        self._io = _Workers(max_workers, "methodic-put")
        self._hash = _Workers(max_workers, "methodic-hash")
        self._lock = threading.Lock()
        self._engines: list[UploadEngine] = []
        self._default: UploadTracker | None = None
        # Uploads still transferring (sync or background), by journal key.
        self._active: dict[str, tuple[str | None, PreparedUpload]] = {}
        # Background uploads not yet accounted for by wait(), by journal key.
        self._background: dict[str, _Background] = {}
        self._closed = False

    # -- journals and engines -------------------------------------------------------

    @property
    def default_tracker(self) -> UploadTracker:
        """The journal used when none is given (see ``default_tracker_path``)."""
        with self._lock:
            self._check_open()
            if self._default is None:
                self._default = UploadTracker()
            return self._default

    def engine(self, tracker: UploadTracker | None = None) -> UploadEngine:
        """The engine this manager runs uploads of ``tracker`` with (one per journal)."""
        resolved = tracker if tracker is not None else self.default_tracker
        with self._lock:
            for engine in self._engines:
                if engine.tracker is resolved:
                    return engine
            engine = UploadEngine(self._chronicle, resolved)
            self._engines.append(engine)
            return engine

    # -- uploads --------------------------------------------------------------------

    def upload(
        self,
        *,
        kind: str,
        name: str,
        files: Mapping[str, str | os.PathLike[str]],
        run_id: str | None = None,
        experiment_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        content_types: Mapping[str, str] | None = None,
        progress: ProgressArg = None,
        tracker: UploadTracker | None = None,
    ) -> Asset:
        """Register and send an upload; waits until the asset is ready."""
        check_files(files)
        callback = resolve_progress(progress, desc=name)
        engine = self.engine(tracker)
        prepared = self._register(
            engine, kind, name, files, run_id, experiment_id, metadata, content_types
        )
        return self._transfer(engine, prepared, callback)

    def submit(
        self,
        *,
        kind: str,
        name: str,
        files: Mapping[str, str | os.PathLike[str]],
        run_id: str | None = None,
        experiment_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        content_types: Mapping[str, str] | None = None,
        progress: ProgressArg = None,
        tracker: UploadTracker | None = None,
    ) -> Future[Asset]:
        """Register an upload now (hash, journal, create); send it in the background."""
        check_files(files)
        callback = resolve_progress(progress, desc=name)
        engine = self.engine(tracker)
        prepared = self._register(
            engine, kind, name, files, run_id, experiment_id, metadata, content_types
        )
        key = prepared.record.key
        try:
            with self._lock:
                self._check_open()
                future = self._transfers.submit(
                    functools.partial(self._transfer, engine, prepared, callback)
                )
                self._background[key] = _Background(run_id, prepared.asset.id, future)
        except BaseException:
            with self._lock:
                self._active.pop(key, None)
            engine.release(prepared)  # leave it to resume()
            raise
        return future

    def resume(
        self,
        *,
        run_id: str | None = None,
        progress: ProgressArg = None,
        tracker: UploadTracker | None = None,
    ) -> list[Asset]:
        """Finish the journal's incomplete uploads (of ``run_id``, or all of them).

        With ``run_id``, also those of the run it resumes from (``resume_from_run_id``),
        finished or not: Chronicle accepts assets of a finished run, so a successor
        completes the checkpoint its killed predecessor left. Returns the assets it
        completed; uploads a live owner holds are left to it, and uploads that can
        never complete are dropped with a log line (``UploadEngine.resume``). If some
        cannot be finished the others still are, then ``UploadError`` is raised for
        the first failure.
        """
        engine = self.engine(tracker)
        assets: list[Asset] = []
        failures: list[UploadError] = []
        for upload in self._resumable(engine.tracker, run_id):
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
            whose = f" of run {run_id}" if run_id is not None else ""
            raise UploadError(
                f"{len(failures)} upload(s){whose} could not be resumed "
                f"({len(assets)} were): {failures[0]}"
            ) from failures[0]
        return assets

    def _resumable(self, journal: UploadTracker, run_id: str | None) -> list[TrackedUpload]:
        unfinished = journal.incomplete()
        if run_id is None:
            return unfinished
        runs = {run_id}
        if any(u.run_id != run_id for u in unfinished):  # only then ask for the predecessor
            predecessor = self._chronicle.runs.get(run_id).resume_from_run_id
            if predecessor is not None:
                runs.add(predecessor)
        return [u for u in unfinished if u.run_id in runs]

    def pending_bytes(self, run_id: str | None = None) -> int:
        """Bytes storage has not yet acknowledged, of ``run_id``'s uploads (or all)."""
        with self._lock:
            return sum(
                prepared.pending_bytes
                for owner, prepared in self._active.values()
                if run_id is None or owner == run_id
            )

    def wait(self, run_id: str, *, tracker: UploadTracker | None = None) -> None:
        """Wait for ``run_id``'s background uploads; raise unless all of them are done.

        ``UploadError`` (the first failure chained) if one failed and was not finished
        since (by a resume here or elsewhere), or if the journal still holds unfinished
        uploads of the run. A failed upload stays accounted for until it is resolved.
        """
        with self._lock:
            background = {k: b for k, b in self._background.items() if b.run_id == run_id}
        wait([b.future for b in background.values()])
        failures: list[BaseException] = []
        for key, item in background.items():
            error = item.future.exception()
            if error is not None and not self._completed_elsewhere(item.asset_id):
                failures.append(error)
                continue
            with self._lock:
                self._background.pop(key, None)
        if failures:
            raise UploadError(
                f"{len(failures)} of {len(background)} background upload(s) of run {run_id} "
                f"failed, so the run was not marked succeeded (resume_uploads() can finish "
                f"them): {failures[0]}"
            ) from failures[0]
        journal = self.engine(tracker).tracker
        try:
            leftover = journal.incomplete(run_id=run_id)
        except TrackerError as err:
            # An unreadable journal must not fail every run on the host: what it
            # recorded cannot be resumed from it anyway, and this client's own
            # uploads of the run were awaited above.
            logger.warning("run %s: cannot check for unfinished uploads: %s", run_id, err)
            leftover = []
        if leftover:
            names = ", ".join(f"{u.kind}/{u.name}" for u in leftover)
            raise UploadError(
                f"run {run_id} still has {len(leftover)} unfinished upload(s) in "
                f"{journal.path} ({names}); call resume_uploads() before succeed()"
            )

    def shutdown(self, *, wait: bool = True) -> None:
        """Stop taking uploads; with ``wait``, finish the queued background ones first.

        Called by ``Chronicle.close()``. The default journal is closed afterwards.
        """
        with self._lock:
            self._closed = True
        self._transfers.shutdown(wait=wait)
        # Transfers use these: they go once no transfer can start.
        self._io.shutdown(wait=wait)
        self._hash.shutdown(wait=wait)
        with self._lock:
            default, self._default = self._default, None
        if default is not None and wait:
            default.close()

    # -- seams for UploadEngine -----------------------------------------------------

    def send_all(self, calls: Sequence[Callable[[], _T]], *, limit: int) -> list[_T]:
        """Run network calls (component PUTs) on the I/O workers; see ``_Workers.run_all``."""
        return self._io.run_all(calls, limit)

    def hash_all(self, calls: Sequence[Callable[[], _T]], *, limit: int) -> list[_T]:
        """Run hashing calls on their own workers, so they never queue behind PUTs."""
        return self._hash.run_all(calls, limit)

    # -- internals ------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise ChronicleError("this Chronicle client is closed")

    def _register(
        self,
        engine: UploadEngine,
        kind: str,
        name: str,
        files: Mapping[str, str | os.PathLike[str]],
        run_id: str | None,
        experiment_id: str | None,
        metadata: Mapping[str, Any] | None,
        content_types: Mapping[str, str] | None,
    ) -> PreparedUpload:
        with self._lock:
            self._check_open()
        prepared = engine.register(
            kind=kind,
            name=name,
            files=files,
            run_id=run_id,
            experiment_id=experiment_id,
            metadata=metadata,
            content_types=content_types,
        )
        # Counted from here, so queued background uploads show in pending bytes too.
        with self._lock:
            self._active[prepared.record.key] = (run_id, prepared)
        return prepared

    def _transfer(
        self, engine: UploadEngine, prepared: PreparedUpload, progress: ProgressCallback | None
    ) -> Asset:
        try:
            return engine.transfer(prepared, progress=progress)
        finally:
            with self._lock:
                self._active.pop(prepared.record.key, None)

    def _completed_elsewhere(self, asset_id: str) -> bool:
        # A failed background upload may have been finished since by a resume (here
        # or in another process): the server knows.
        try:
            return self._chronicle.assets.get(asset_id).state == "ready"
        except ChronicleError:
            return False
