"""Asset uploads: the streaming hash, presign -> PUT -> finalize pipeline of one upload.

Every upload goes through an ``UploadTracker`` so that it can be resumed after a
crash (see ``methodic.tracker`` for the journal order). Files are hashed and sent in
fixed-size chunks, so memory stays flat whatever their size, and the components of
one asset are sent in parallel on the workers of the client's ``UploadManager``
(``chronicle.uploads``, ``methodic.upload_manager``), the one owner of its uploads.

Most callers use ``Run.upload_asset`` / ``Run.register_and_upload_async``, which
delegate to the manager; this module is the machinery under it:

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
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from methodic.errors import (
    APIError,
    BadRequestError,
    ChronicleError,
    ConflictError,
    ContentTooLargeError,
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
_PERMANENT_CREATE_ERRORS = (BadRequestError, ContentTooLargeError, NotFoundError)
# On resume, a create refused with one of these, by a server that shows it knows the
# upload's run (or experiment), can never succeed: the entry is dropped.
_REFUSED_FOR_GOOD = (*_PERMANENT_CREATE_ERRORS, ConflictError)
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
                if isinstance(refusal, _REFUSED_FOR_GOOD) and self._target_known(record):
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
            if drop_if_invalid and isinstance(err, _PERMANENT_CREATE_ERRORS):
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
