"""Asset uploads: their one owner, and the streaming presign -> PUT -> finalize engine.

``UploadManager`` (``chronicle.uploads``) owns a client's uploads, in the spirit of
s3transfer's ``TransferManager``: the worker threads, the uploads in flight and their
accounting per run, the default journal, and shutdown. ``UploadEngine`` is the
pipeline of one upload against one journal. Every upload goes through an
``UploadTracker`` so that it can be resumed after a crash (see ``methodic.tracker``
for the journal order). Files are hashed and sent in fixed-size chunks, so memory
stays flat whatever their size, and the components of one asset are sent in parallel
on the manager's bounded workers.

Most callers use ``Run.upload_asset`` / ``Run.register_and_upload_async``, which
delegate to the manager; this module is the machinery under them:

    future = chronicle.uploads.submit(kind="output", name="preds",
                                      files={"preds.csv": "out/preds.csv"}, run_id=run_id)
    engine = UploadEngine(chronicle, UploadTracker(path))
    asset = engine.upload(kind="output", name="preds", files={"preds.csv": "out/preds.csv"})
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import logging
import mimetypes
import os
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from methodic.errors import (
    APIError,
    ChronicleError,
    NotFoundError,
    PermissionDeniedError,
    TrackerError,
    UploadError,
)
from methodic.tracker import (
    ComponentFile,
    TrackedComponent,
    TrackedUpload,
    UploadTracker,
)
from methodic.types import Asset, ComponentSpec, PresignedAsset

if TYPE_CHECKING:
    from methodic.client import Chronicle

__all__ = [
    "CHUNK_SIZE",
    "DEFAULT_CONTENT_TYPE",
    "MAX_PARALLEL_COMPONENTS",
    "PreparedUpload",
    "ProgressArg",
    "ProgressCallback",
    "UploadEngine",
    "UploadManager",
    "check_files",
    "describe_file",
    "resolve_progress",
    "tqdm_progress",
]

logger = logging.getLogger("methodic")

CHUNK_SIZE = 1 << 20
"""Bytes read, hashed and sent per step (1 MiB)."""
MAX_PARALLEL_COMPONENTS = 4
"""Components of one asset sent at the same time."""
DEFAULT_CONTENT_TYPE = "application/octet-stream"

ProgressCallback = Callable[[int, int], None]
"""Called as ``progress(bytes_done, bytes_total)``, possibly from worker threads."""
ProgressArg = ProgressCallback | Literal["tqdm"] | None

_T = TypeVar("_T")

# Statuses meaning the create request itself is wrong (bad component names, unknown
# run, payload too large). Only a brand-new registration, whose caller sees the error
# at once, drops its journal entry on them: on resume the same status may come from a
# misconfigured base URL or a proxy, and dropping would lose the upload for good.
_PERMANENT_CREATE_STATUSES = frozenset({400, 404, 413, 422})
# On resume, a create refused with one of these, by a server that shows it knows the
# upload's run (or experiment), can never succeed: the entry is dropped.
_REFUSED_FOR_GOOD_STATUSES = _PERMANENT_CREATE_STATUSES | {409}
# Asset states an upload can still be completed from.
_COMPLETABLE_STATES = frozenset({"pending", "ready"})


def tqdm_progress(desc: str | None = None, **tqdm_kwargs: Any) -> ProgressCallback:
    """A progress callback that draws a ``tqdm`` bar in bytes (needs ``tqdm`` installed).

    run.upload_asset("checkpoint", "step-100", files=files, progress=tqdm_progress("ckpt"))
    """
    try:
        # Imported by name so that tqdm (and its stubs) stay optional.
        tqdm = importlib.import_module("tqdm.auto").tqdm
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("tqdm_progress() needs tqdm: pip install tqdm") from err

    lock = threading.Lock()
    state: dict[str, Any] = {"bar": None, "last": 0}

    def update(done: int, total: int) -> None:
        with lock:
            bar = state["bar"]
            if bar is None:
                options: dict[str, Any] = {
                    "unit": "B",
                    "unit_scale": True,
                    "unit_divisor": 1024,
                    "desc": desc,
                }
                options.update(tqdm_kwargs)
                bar = state["bar"] = tqdm(total=total, **options)
            bar.update(done - state["last"])
            state["last"] = done
            if done >= total:
                bar.close()

    return update


def resolve_progress(progress: ProgressArg, desc: str | None = None) -> ProgressCallback | None:
    """Turn the ``progress=`` argument (callback, ``"tqdm"`` or ``None``) into a callback."""
    if progress is None:
        return None
    if progress == "tqdm":
        return tqdm_progress(desc)
    if callable(progress):
        return progress
    raise ValueError(f"progress must be a callable, 'tqdm' or None, not {progress!r}")


def check_files(files: object) -> None:
    """Refuse a ``files`` argument that is not a non-empty component-name -> path mapping.

    A list or a single path is the usual slip; it gets a ``TypeError`` that shows the
    expected shape rather than an ``AttributeError`` from deep inside the upload.
    """
    if not isinstance(files, Mapping):
        raise TypeError(
            f"files must be a mapping of component name to path, such as "
            f"{{'model.bin': 'out/model.bin'}}; got {type(files).__name__} {files!r:.80}"
        )
    if not files:
        raise ValueError("files must name at least one component")
    for name in files:
        if not isinstance(name, str):
            raise TypeError(
                f"files must map component names (str) to paths; got key {name!r} "
                f"of type {type(name).__name__}"
            )


def describe_file(
    name: str, path: str | os.PathLike[str], *, content_type: str | None = None
) -> ComponentFile:
    """Measure a local file (size, mtime, streaming sha256) as an upload component.

    Without ``content_type`` the type is guessed from the component name.

    Raises ``UploadError`` if the file cannot be read or changes while being hashed.
    """
    resolved = os.path.abspath(os.fspath(path))
    try:
        before = os.stat(resolved)
        digest = hashlib.sha256()
        with open(resolved, "rb") as f:
            while chunk := f.read(CHUNK_SIZE):
                digest.update(chunk)
        after = os.stat(resolved)
    except OSError as err:
        raise UploadError(f"component {name!r}: cannot read {resolved}: {err}") from err
    if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns):
        raise UploadError(f"component {name!r}: {resolved} changed while it was being hashed")
    return ComponentFile(
        name=name,
        path=resolved,
        size=after.st_size,
        mtime_ns=after.st_mtime_ns,
        sha256=digest.hexdigest(),
        content_type=content_type or mimetypes.guess_type(name)[0] or DEFAULT_CONTENT_TYPE,
    )


class _Progress:
    """Byte counters shared by one upload's component threads; also keeps the lease.

    ``done`` counts bytes handed to the network (what a progress bar shows);
    ``stored`` counts bytes of components whose PUT storage has acknowledged, which
    is what "pending" means for heartbeats: socket buffers can swallow a whole small
    file long before it is stored.

    ``renew`` raises ``UploadError`` once the claim is no longer ours; from then on
    every component stops at its next chunk, so two owners never send one upload.
    """

    def __init__(
        self,
        total: int,
        callback: ProgressCallback | None,
        renew: Callable[[], None],
        lease: float,
    ) -> None:
        self.total = total
        self.done = 0
        self.stored = 0
        self._callback = callback
        self._renew = renew
        self._renew_every = lease / 4
        self._last_renewal = time.monotonic()
        self._lost: UploadError | None = None
        self._lock = threading.Lock()

    @property
    def pending(self) -> int:
        return max(self.total - self.stored, 0)

    def confirm(self, n: int) -> None:
        with self._lock:
            self.stored += n

    def add(self, n: int) -> None:
        """Count ``n`` more bytes sent (negative: taken back after a failed PUT)."""
        with self._lock:
            if self._lost is not None and n > 0:
                raise self._lost
            self.done += n
            done = self.done
            renew = n > 0 and time.monotonic() - self._last_renewal >= self._renew_every
            if renew:
                self._last_renewal = time.monotonic()
            if self._callback is not None:
                self._callback(done, self.total)
        if renew:
            try:
                self._renew()
            except UploadError as err:
                with self._lock:
                    self._lost = err
                raise

    def report(self) -> None:
        if self._callback is not None:
            with self._lock:
                self._callback(self.done, self.total)


@dataclass
class PreparedUpload:
    """An upload that is journaled and registered with Chronicle, bytes not yet sent.

    From the moment one exists, a crash at any instant is recoverable by
    ``UploadEngine.resume``.
    """

    record: TrackedUpload
    asset: Asset
    upload_urls: dict[str, str]
    resumed: bool = False
    """A retry of an upload already journaled with its asset: the server decides what to send."""
    _progress: _Progress | None = field(default=None, repr=False)

    @property
    def total_bytes(self) -> int:
        """Bytes of every component."""
        return self.record.total_bytes

    @property
    def pending_bytes(self) -> int:
        """Bytes of components storage has not yet acknowledged."""
        if self._progress is None:
            return self.record.pending_bytes
        return self._progress.pending


class UploadEngine:
    """Runs uploads for one ``Chronicle`` against one ``UploadTracker``.

    Thread-safe: one engine may register and transfer many uploads at once. Its
    parallel work (hashing, component PUTs) runs on the client's ``UploadManager``
    (``chronicle.uploads``), at most ``max_parallel_components`` at a time per asset.
    """

    def __init__(
        self,
        chronicle: Chronicle,
        tracker: UploadTracker,
        *,
        chunk_size: int = CHUNK_SIZE,
        max_parallel_components: int = MAX_PARALLEL_COMPONENTS,
    ) -> None:
        if chunk_size <= 0 or max_parallel_components <= 0:
            raise ValueError("chunk_size and max_parallel_components must be positive")
        self.chronicle = chronicle
        self.tracker = tracker
        self.chunk_size = chunk_size
        self.max_parallel_components = max_parallel_components

    # -- public entry points --------------------------------------------------------

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
        progress: ProgressCallback | None = None,
    ) -> Asset:
        """Register and transfer synchronously; returns the ready asset."""
        prepared = self.register(
            kind=kind,
            name=name,
            files=files,
            run_id=run_id,
            experiment_id=experiment_id,
            metadata=metadata,
            content_types=content_types,
        )
        return self.transfer(prepared, progress=progress)

    def register(
        self,
        *,
        kind: str,
        name: str,
        files: Mapping[str, str | os.PathLike[str]],
        run_id: str | None = None,
        experiment_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        content_types: Mapping[str, str] | None = None,
    ) -> PreparedUpload:
        """Hash the files, journal them, and create the pending asset with Chronicle.

        The journal commits before ``POST /assets`` is sent, with the idempotency key
        the request then carries: a crash between the two cannot make a second asset.
        An unfinished journal entry for exactly the same upload (a retry after a
        failure) is reused, key included, rather than registered again. The returned
        upload is claimed by the caller until ``transfer`` ends.

        Raises ``UploadError`` if that same upload is being sent by a live process.
        """
        check_files(files)
        types = content_types or {}
        unknown = set(types) - set(files)
        if unknown:
            raise ValueError(f"content_types names unknown components: {sorted(unknown)}")
        components = self._describe_all(files, types)
        request: dict[str, Any] = {
            "kind": kind,
            "name": name,
            "components": components,
            "run_id": run_id,
            "experiment_id": experiment_id,
            "metadata": metadata,
        }
        record = self._reuse(components, request)
        fresh = record is None
        if record is None:
            record = self.tracker.register(**request)
        try:
            if record.asset_id is not None:
                # A retry after the asset was created: like a resume, it asks the
                # server what is stored rather than sending everything again.
                asset = self._get_asset(record, record.asset_id)
                return PreparedUpload(record=record, asset=asset, upload_urls={}, resumed=True)
            presigned = self._create(record, drop_if_invalid=fresh)
            self.tracker.set_asset_id(record.key, presigned.asset.id)
        except BaseException:
            self._release(record)
            raise
        return PreparedUpload(
            record=record, asset=presigned.asset, upload_urls=presigned.upload_urls
        )

    def _reuse(
        self, components: list[ComponentFile], request: dict[str, Any]
    ) -> TrackedUpload | None:
        """Claim the unfinished journal entry of this very upload, if there is one."""
        existing = self.tracker.find_unfinished(**request)
        if existing is None:
            return None
        record = self.tracker.claim(existing.key)
        if record is None:
            holder = self.tracker.get(existing.key)
            if holder is None:  # finished meanwhile: this is a new upload
                return None
            raise UploadError(
                f"{_label(holder)} is already being uploaded by process pid "
                f"{holder.claim_pid} (tracker key {holder.key!r}); wait for it to finish"
            )
        assert record.claim_token is not None
        refreshed = self.tracker.refresh_files(record.key, record.claim_token, components)
        return refreshed if refreshed is not None else record

    def _describe_all(
        self, files: Mapping[str, str | os.PathLike[str]], types: Mapping[str, str]
    ) -> list[ComponentFile]:
        """Hash every file, several at once (hashlib releases the GIL on large reads).

        Registration happens in the caller's thread, so for a big checkpoint this is
        the part a training loop waits for.
        """
        calls = [
            functools.partial(describe_file, n, p, content_type=types.get(n))
            for n, p in files.items()
        ]
        return self.chronicle.uploads.hash_all(calls, limit=self.max_parallel_components)

    def transfer(
        self, prepared: PreparedUpload, *, progress: ProgressCallback | None = None
    ) -> Asset:
        """Send every component, finalize, and drop the journal entry; returns the asset.

        On failure the claim is released and ``UploadError`` raised (with the cause
        chained); the journal keeps the upload for ``resume``.
        """
        record = prepared.record
        try:
            if prepared.resumed:
                return self._complete(record, prepared.asset, progress, prepared)
            state = self._progress(record, progress)
            prepared._progress = state
            self._put_all(record, record.components, prepared.upload_urls, prepared.asset.id, state)
            return self._finalize(record, prepared.asset.id)
        except (UploadError, TrackerError):
            raise
        except Exception as err:
            raise UploadError(f"upload of {_label(record)} failed: {err}") from err
        finally:
            self._release(record)

    def resume(
        self, upload: TrackedUpload, *, progress: ProgressCallback | None = None
    ) -> Asset | None:
        """Finish an upload found in the journal.

        The server decides what is left: the asset is (re)created with the stored
        idempotency key if needed, components it already stores with the registered
        size and sha256 are skipped, fresh URLs are fetched, and a local file that
        changed since registration is refused.

        Returns ``None`` if a live owner holds the upload, or if it can never
        complete and was dropped from the journal (logged on the ``methodic``
        logger): Chronicle refuses to create its asset or no longer has it (404) or
        the asset is in a state nothing can complete — each only once Chronicle has
        shown it knows the upload's run, since a wrong base URL or a proxy can answer
        404 too — or its run has finished and its local files are gone or changed.
        Any other failure raises ``UploadError`` and the upload stays for a later
        resume or an explicit ``tracker.discard``.
        """
        record = self.tracker.claim(upload.key)
        if record is None:
            return None
        try:
            return self._resume_claimed(record, progress)
        except _LocalFileError as err:
            if self._run_finished(record):
                self._drop(record, f"its run has finished and {err}")
                return None
            raise
        except (UploadError, TrackerError):
            raise
        except Exception as err:
            raise UploadError(f"resuming {_label(record)} failed: {err}") from err
        finally:
            self._release(record)

    def release(self, prepared: PreparedUpload) -> None:
        """Give up the claim on a registered upload that will not be transferred now.

        It stays in the journal, so a later ``resume`` (here or elsewhere) finishes it.
        """
        self._release(prepared.record)

    # -- steps ----------------------------------------------------------------------

    def _resume_claimed(
        self, record: TrackedUpload, progress: ProgressCallback | None
    ) -> Asset | None:
        asset_id = record.asset_id
        if asset_id is None:
            # Crashed around POST /assets: repeating it with the same key returns the
            # asset if the first request got through, or creates it now.
            for component in record.components:
                _check_unchanged(record, component)
            try:
                presigned = self._create(record, drop_if_invalid=False)
            except UploadError as err:
                refusal = err.__cause__
                if (
                    isinstance(refusal, APIError)
                    and refusal.status_code in _REFUSED_FOR_GOOD_STATUSES
                    and self._target_known(record)
                ):
                    self._drop(record, f"Chronicle refuses to create its asset: {refusal}")
                    return None
                raise
            asset_id = presigned.asset.id
            self.tracker.set_asset_id(record.key, asset_id)
        try:
            asset = self._get_asset(record, asset_id)
        except UploadError as err:
            if isinstance(err.__cause__, NotFoundError) and self._target_known(record):
                self._drop(record, f"its asset {asset_id} no longer exists")
                return None
            raise
        if asset.state not in _COMPLETABLE_STATES:
            self._drop(record, f"its asset {asset_id} is {asset.state}")
            return None
        return self._complete(record, asset, progress)

    def _target_known(self, record: TrackedUpload) -> bool:
        """Whether Chronicle (not a proxy, not a wrong base URL) knows the upload's owner."""
        try:
            if record.run_id is not None:
                self.chronicle.runs.get(record.run_id)
            elif record.experiment_id is not None:
                self.chronicle.experiments.get(record.experiment_id)
            else:
                return False
        except ChronicleError:
            return False
        return True

    def _run_finished(self, record: TrackedUpload) -> bool:
        if record.run_id is None:
            return False
        try:
            return self.chronicle.runs.get(record.run_id).state in ("succeeded", "failed")
        except ChronicleError:
            return False

    def _drop(self, record: TrackedUpload, why: str) -> None:
        logger.warning(
            "dropping %s (tracker key %s) from %s: it can never complete: %s",
            _label(record),
            record.key,
            self.tracker.path,
            why,
        )
        self.tracker.discard(record.key)

    def _get_asset(self, record: TrackedUpload, asset_id: str) -> Asset:
        try:
            return self.chronicle.assets.get(asset_id)
        except ChronicleError as err:
            raise UploadError(
                f"{_label(record)}: cannot look up asset {asset_id}: {err}. The upload stays "
                f"in the tracker; resume it later, or drop it with "
                f"tracker.discard({record.key!r})"
            ) from err

    def _complete(
        self,
        record: TrackedUpload,
        asset: Asset,
        progress: ProgressCallback | None,
        prepared: PreparedUpload | None = None,
    ) -> Asset:
        """Send what the server lacks for a pending ``asset``, then finalize."""
        if asset.state == "ready":
            self.tracker.discard(record.key)
            return asset
        # Not the components' ``uploaded`` flags: those mean storage holds *some*
        # bytes. Chronicle hands out URLs exactly for the components not stored with
        # the registered size and sha256, so wrong bytes are replaced too.
        urls = self.chronicle.assets.upload_urls(asset.id)
        todo = [c for c in record.components if c.name in urls]
        for component in todo:
            _check_unchanged(record, component)
        state = self._progress(record, progress)
        if prepared is not None:
            prepared._progress = state
        state.done = state.stored = state.total - sum(c.size for c in todo)
        state.report()
        self._put_all(record, todo, urls, asset.id, state)
        return self._finalize(record, asset.id)

    def _create(self, record: TrackedUpload, *, drop_if_invalid: bool) -> PresignedAsset:
        specs = [
            ComponentSpec(name=c.name, size=c.size, sha256=c.sha256, content_type=c.content_type)
            for c in record.components
        ]
        try:
            return self.chronicle.assets.create(
                kind=record.kind,
                name=record.name,
                components=specs,
                run_id=record.run_id,
                experiment_id=record.experiment_id,
                metadata=record.metadata,
                idempotency_key=record.key,
            )
        except APIError as err:
            if drop_if_invalid and err.status_code in _PERMANENT_CREATE_STATUSES:
                # A brand-new registration the server refuses: nothing was created,
                # and the caller sees this error now.
                self.tracker.discard(record.key)
            raise UploadError(f"registering {_label(record)} failed: {err}") from err
        except ChronicleError as err:
            raise UploadError(f"registering {_label(record)} failed: {err}") from err

    def _put_all(
        self,
        record: TrackedUpload,
        components: tuple[TrackedComponent, ...] | list[TrackedComponent],
        urls: Mapping[str, str],
        asset_id: str,
        state: _Progress,
    ) -> None:
        if not components:
            return
        refresher = _UrlRefresher(self.chronicle, asset_id, urls)
        calls = [
            functools.partial(self._put_one, record, component, refresher, state)
            for component in components
        ]
        self.chronicle.uploads.send_all(calls, limit=self.max_parallel_components)

    def _put_one(
        self,
        record: TrackedUpload,
        component: TrackedComponent,
        refresher: _UrlRefresher,
        state: _Progress,
    ) -> None:
        _check_unchanged(record, component)
        url = refresher.url(component.name)
        try:
            self._put_stream(record, component, url, state)
        except PermissionDeniedError:
            # The presigned URL expired (e.g. the upload sat queued): mint fresh ones
            # and send this component once more from the start.
            url = refresher.refresh(component.name)
            self._put_stream(record, component, url, state)
        state.confirm(component.size)
        self.tracker.mark_uploaded(record.key, component.name)

    def _put_stream(
        self, record: TrackedUpload, component: TrackedComponent, url: str, state: _Progress
    ) -> None:
        sent = 0

        def body() -> Iterator[bytes]:
            nonlocal sent
            digest = hashlib.sha256()
            remaining = component.size
            with open(component.path, "rb") as f:
                while remaining > 0:
                    chunk = f.read(min(self.chunk_size, remaining))
                    remaining -= len(chunk)
                    digest.update(chunk)
                    # Checked before the last chunk leaves: a request that stops short
                    # of its Content-Length is discarded by storage, so bytes that differ
                    # from the registered ones (or a shrunken file) never get stored.
                    if not chunk or (remaining == 0 and digest.hexdigest() != component.sha256):
                        raise UploadError(_changed_message(record, component))
                    yield chunk
                    sent += len(chunk)
                    state.add(len(chunk))

        try:
            self.chronicle.transport.storage_request(
                "PUT",
                url,
                content=body(),
                headers={
                    "Content-Length": str(component.size),
                    "Content-Type": component.content_type or DEFAULT_CONTENT_TYPE,
                },
            )
        except BaseException:
            state.add(-sent)  # these bytes will be sent again
            raise

    def _finalize(self, record: TrackedUpload, asset_id: str) -> Asset:
        asset = self.chronicle.assets.finalize(asset_id)
        self.tracker.discard(record.key)  # finished uploads are pruned
        return asset

    def _progress(self, record: TrackedUpload, callback: ProgressCallback | None) -> _Progress:
        """Progress against the asset's full size; renewing the claim as bytes flow.

        The claim is renewed here first: an upload may have sat queued since it was
        claimed, and if another process took it over meanwhile nothing is sent.
        """
        self._renew(record)
        return _Progress(
            record.total_bytes, callback, lambda: self._renew(record), self.tracker.lease
        )

    def _renew(self, record: TrackedUpload) -> None:
        if record.claim_token is None:
            return
        if not self.tracker.renew(record.key, record.claim_token):
            raise UploadError(
                f"{_label(record)}: lost the claim on upload {record.key!r} (another process "
                f"took it over: it found this one dead, or its lease ran out); stopping so it is "
                f"sent only once"
            )

    def _release(self, record: TrackedUpload) -> None:
        if record.claim_token is None:
            return
        try:
            self.tracker.release(record.key, record.claim_token)
        except Exception:  # the original failure matters more than a lost claim
            logger.warning("could not release the claim on upload %s", record.key, exc_info=True)


class _UrlRefresher:
    """Hands out upload URLs, fetching fresh ones at most once per transfer."""

    def __init__(self, chronicle: Chronicle, asset_id: str, urls: Mapping[str, str]) -> None:
        self._chronicle = chronicle
        self._asset_id = asset_id
        self._urls = dict(urls)
        self._refreshed = False
        self._lock = threading.Lock()

    def url(self, component: str) -> str:
        with self._lock:
            url = self._urls.get(component)
        return url if url is not None else self.refresh(component)

    def refresh(self, component: str) -> str:
        with self._lock:
            if not self._refreshed:
                self._urls.update(self._chronicle.assets.upload_urls(self._asset_id))
                self._refreshed = True
            url = self._urls.get(component)
        if url is None:
            raise UploadError(
                f"Chronicle gave no upload URL for component {component!r} of asset "
                f"{self._asset_id}"
            )
        return url


class _LocalFileError(UploadError):
    """A registered local file is gone or changed: only its owner can put it back."""


def _check_unchanged(record: TrackedUpload, component: TrackedComponent) -> None:
    try:
        st = os.stat(component.path)
    except OSError as err:
        raise _LocalFileError(
            f"{_label(record)}: component {component.name!r}: cannot read {component.path}: "
            f"{err}. Restore the file, or drop the upload with tracker.discard({record.key!r})"
        ) from err
    if (st.st_size, st.st_mtime_ns) != (component.size, component.mtime_ns):
        raise _LocalFileError(_changed_message(record, component))


def _changed_message(record: TrackedUpload, component: TrackedComponent) -> str:
    return (
        f"{_label(record)}: component {component.name!r}: {component.path} changed since it "
        f"was registered (size, mtime or sha256 differ); refusing to upload different bytes. "
        f"Drop the upload with tracker.discard({record.key!r}) and upload it again."
    )


def _label(record: TrackedUpload) -> str:
    return f"asset {record.kind}/{record.name!r}"


class _Skipped(Exception):
    """A queued call of a batch that failed elsewhere: it never started."""


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
        resumes_from: Callable[[], str | None] | None = None,
        progress: ProgressArg = None,
        tracker: UploadTracker | None = None,
    ) -> list[Asset]:
        """Finish the journal's incomplete uploads (of ``run_id``, or all of them).

        With ``resumes_from``, the uploads of the run it names (``run_id``'s
        ``resume_from_run_id``) are finished too, finished run or not: it is asked
        only if the journal holds uploads of other runs. Returns the assets it
        completed; uploads a live owner holds are left to it, and uploads that can
        never complete are dropped with a log line. If some cannot be finished the
        others still are, then ``UploadError`` is raised for the first failure.
        """
        engine = self.engine(tracker)
        unfinished = engine.tracker.incomplete()
        if run_id is not None:
            runs = {run_id}
            if resumes_from is not None and any(u.run_id not in runs for u in unfinished):
                # A successor also finishes what its predecessor left (Chronicle
                # accepts assets of a finished run): typically the checkpoint it
                # resumes from.
                predecessor = resumes_from()
                if predecessor is not None:
                    runs.add(predecessor)
            unfinished = [u for u in unfinished if u.run_id in runs]
        assets: list[Asset] = []
        failures: list[UploadError] = []
        for upload in unfinished:
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
