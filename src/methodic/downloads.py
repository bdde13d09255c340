"""Asset downloads: components stream in parallel to temporary files, are verified, renamed.

Most callers use ``Run.download_checkpoint``; this module is the machinery under it:

    paths = download_asset(chronicle, chronicle.assets.get(asset_id), "out/")

What the server says about an asset is checked before any byte is fetched: every
component name must follow the contract's rule (``[A-Za-z0-9._-]{1,128}``, not
``.`` or ``..``) and appear once, and every size must be a byte count. Storage may
then send no more than the declared size (the read stops one network read past it)
and the bytes must hash to the declared sha256. Files only take their final names
once every component has arrived intact, so a failed download leaves nothing behind
in ``dest_dir`` (files already there are untouched).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from methodic._signals import leave_signals_to_main_thread
from methodic.errors import ChronicleError, IntegrityError, NotFoundError
from methodic.uploads import ProgressArg, ProgressCallback, resolve_progress

if TYPE_CHECKING:
    from methodic.client import Chronicle
    from methodic.types import Asset, AssetComponent

__all__ = ["MAX_PARALLEL_DOWNLOADS", "Checkpoint", "download_asset", "download_checkpoint"]

MAX_PARALLEL_DOWNLOADS = 8
"""Components of one asset fetched at the same time."""

# docs/api.md: the names the server itself accepts; anything else did not come from it.
_COMPONENT_NAME = re.compile(r"[A-Za-z0-9._-]{1,128}")


@dataclass(frozen=True)
class Checkpoint:
    """The checkpoint ``Run.download_checkpoint`` picked, and where its files now are.

    ``run_id`` is the run that saved it: the downloading run itself after a restart,
    else a predecessor (its ``resume_from_run_id``, or further up). ``metadata`` is what the saver attached (its step,
    say); ``paths`` maps each component name to its downloaded file.

        checkpoint = run.download_checkpoint("/scratch/resume")
        if checkpoint is not None:
            step = checkpoint.metadata.get("step", 0)
            state = load(checkpoint.paths["model.bin"])
    """

    asset_id: str
    name: str
    run_id: str
    metadata: dict[str, Any]
    paths: dict[str, Path]


def download_checkpoint(
    chronicle: Chronicle,
    run_id: str,
    dest_dir: str | os.PathLike[str],
    *,
    progress: ProgressArg = None,
) -> Checkpoint | None:
    """Download the checkpoint run ``run_id`` resumes from; ``None`` if there is none.

    Chronicle picks it (``GET /runs/{id}/checkpoint``): the run's own newest ready
    checkpoint (a restart of the same run), else what its ``resume_from_run_id``
    resumes from, up the chain; never a sibling run's.
    """
    try:
        asset = chronicle.runs.checkpoint(run_id)
    except NotFoundError:
        return None
    if asset.run_id is None:
        raise IntegrityError(f"checkpoint {asset.id} for run {run_id} belongs to no run")
    paths = download_asset(
        chronicle, asset, dest_dir, progress=resolve_progress(progress, desc=asset.name)
    )
    return Checkpoint(
        asset_id=asset.id,
        name=asset.name,
        run_id=asset.run_id,
        metadata=dict(asset.metadata),
        paths={c.name: path for c, path in zip(asset.components, paths, strict=True)},
    )


def download_asset(
    chronicle: Chronicle,
    asset: Asset,
    dest_dir: str | os.PathLike[str],
    *,
    progress: ProgressCallback | None = None,
    max_parallel: int = MAX_PARALLEL_DOWNLOADS,
) -> list[Path]:
    """Fetch every component of a ready ``asset`` into ``dest_dir``; paths in component order.

    Components are fetched ``max_parallel`` at a time, each streamed to a temporary
    file in ``dest_dir`` with its size and sha256 checked as it arrives. Only when
    all are intact are they renamed to their component names (replacing files of the
    same name). On ``IntegrityError`` or any other failure, nothing is left behind.
    ``progress(bytes_done, bytes_total)`` may be called from worker threads.
    """
    if max_parallel <= 0:
        raise ValueError("max_parallel must be positive")
    components = _checked_components(asset)
    urls = chronicle.assets.download_urls(asset.id)
    missing = [c.name for c in components if c.name not in urls]
    if missing:
        raise ChronicleError(f"asset {asset.id} has no download URL for {missing}")
    dest = Path(dest_dir)
    created = not dest.exists()
    dest.mkdir(parents=True, exist_ok=True)
    try:
        staged = _Fetch(chronicle, asset.id, dest, components, progress).run(urls, max_parallel)
    except BaseException:
        if created:
            _remove_if_empty(dest)
        raise
    try:
        for component in components:
            os.replace(staged[component.name], dest / component.name)
    finally:
        for tmp in staged.values():
            tmp.unlink(missing_ok=True)
    return [dest / c.name for c in components]


def _checked_components(asset: Asset) -> list[AssetComponent]:
    """The asset's components, once their names and sizes are safe to act on."""
    seen: set[str] = set()
    for c in asset.components:
        name = c.name
        if not (isinstance(name, str) and _COMPONENT_NAME.fullmatch(name)) or name in (".", ".."):
            raise IntegrityError(
                f"asset {asset.id}: refusing component name {name!r}: names are "
                f"[A-Za-z0-9._-]{{1,128}} and not '.' or '..'"
            )
        if name in seen:
            raise IntegrityError(
                f"asset {asset.id}: duplicate component name {name!r}; one file would "
                f"overwrite the other"
            )
        seen.add(name)
        if type(c.size) is not int or c.size < 0:
            raise IntegrityError(
                f"asset {asset.id} component {name!r}: declared size {c.size!r} is not a byte count"
            )
    return list(asset.components)


def _remove_if_empty(directory: Path) -> None:
    # Not empty, or gone: either way nothing of ours is in it.
    with contextlib.suppress(OSError):
        directory.rmdir()


class _Cancelled(Exception):
    """A component stopped because another one failed."""


class _Fetch:
    """One asset's components, streaming in parallel into temporary files.

    Every temporary file is known here from the moment it exists, so after a failure
    (or an interrupt of the waiting thread) they are removed once the workers end;
    the workers stop at their next network read.
    """

    def __init__(
        self,
        chronicle: Chronicle,
        asset_id: str,
        dest: Path,
        components: list[AssetComponent],
        progress: ProgressCallback | None,
    ) -> None:
        self._chronicle = chronicle
        self._asset_id = asset_id
        self._dest = dest
        self._components = components
        self._progress = progress
        self._total = sum(c.size for c in components)
        self._done = 0
        self._temps: dict[str, Path] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def run(self, urls: dict[str, str], workers: int) -> dict[str, Path]:
        """Fetch everything; the temporary file of each component, by name."""
        if not self._components:
            return {}
        pool = ThreadPoolExecutor(
            max_workers=min(workers, len(self._components)),
            thread_name_prefix="methodic-get",
            initializer=leave_signals_to_main_thread,
        )
        ok = False
        try:
            futures = [pool.submit(self._one, c, urls[c.name]) for c in self._components]
            for future in as_completed(futures):
                future.result()  # the first failure to happen is the one raised
            ok = True
        finally:
            if not ok:
                self._stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
            if not ok:
                for tmp in self._temps.values():
                    tmp.unlink(missing_ok=True)
        return dict(self._temps)

    def _one(self, component: AssetComponent, url: str) -> None:
        if self._stop.is_set():
            raise _Cancelled
        fd, tmp_name = tempfile.mkstemp(
            dir=self._dest, prefix=f".{component.name}.", suffix=".part"
        )
        tmp = Path(tmp_name)
        with self._lock:
            self._temps[component.name] = tmp
        digest = hashlib.sha256()
        size = 0
        # Identity encoding, read raw: the sha256 is over the stored bytes, and a
        # decompressed stream could grow far past the declared size in one read.
        headers = {"Accept-Encoding": "identity"}
        with (
            os.fdopen(fd, "wb") as out,
            self._chronicle.transport.storage_stream("GET", url, headers=headers) as response,
        ):
            self._check_declared_length(component, response.headers.get("Content-Length"))
            for chunk in response.iter_raw():
                if self._stop.is_set():
                    raise _Cancelled
                size += len(chunk)
                if size > component.size:
                    raise IntegrityError(
                        f"{self._label(component)}: storage sent more than the declared "
                        f"{component.size} bytes; stopped reading"
                    )
                digest.update(chunk)
                out.write(chunk)
                self._advance(len(chunk))
            # No fsync: the rename guards against a crashed process, and after a power
            # loss the runner downloads again (nothing trusts a file already there).
            # Flushing 8 x 64 MiB to disk cost about a fifth of the download time.
        if size != component.size or digest.hexdigest() != component.sha256:
            raise IntegrityError(
                f"{self._label(component)}: downloaded {size} bytes with sha256 "
                f"{digest.hexdigest()}, expected {component.size} bytes with sha256 "
                f"{component.sha256}"
            )

    def _check_declared_length(self, component: AssetComponent, declared: str | None) -> None:
        if declared is not None and declared.strip() != str(component.size):
            raise IntegrityError(
                f"{self._label(component)}: storage declares {declared[:40]!r} bytes, "
                f"expected {component.size}"
            )

    def _advance(self, n: int) -> None:
        with self._lock:
            self._done += n
            if self._progress is not None:
                self._progress(self._done, self._total)

    def _label(self, component: AssetComponent) -> str:
        return f"asset {self._asset_id} component {component.name!r}"
