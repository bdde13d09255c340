"""Asset downloads: stream each component to a temporary file, verify, rename.

Most callers use ``Run.download_checkpoint``; this module is the machinery under it:

    paths = download_asset(chronicle, chronicle.assets.get(asset_id), "out/")
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from methodic.errors import ChronicleError, IntegrityError, NotFoundError
from methodic.uploads import CHUNK_SIZE, ProgressArg, ProgressCallback, resolve_progress

if TYPE_CHECKING:
    from methodic.client import Chronicle
    from methodic.types import Asset

__all__ = ["download_asset", "download_checkpoint"]


def download_asset(
    chronicle: Chronicle,
    asset: Asset,
    dest_dir: str | os.PathLike[str],
    *,
    chunk_size: int = CHUNK_SIZE,
    progress: ProgressCallback | None = None,
) -> list[Path]:
    """Stream every component of a ready ``asset`` into ``dest_dir``; returns the paths.

    Each file is written under a temporary name, its sha256 and size checked against
    the asset, and only then renamed into place: on ``IntegrityError`` (or any failure)
    no partial file is left under the final name.
    """
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    for component in asset.components:
        _check_safe_name(component.name)
    urls = chronicle.assets.download_urls(asset.id)
    total = sum(c.size for c in asset.components)
    done = 0
    paths: list[Path] = []
    for component in asset.components:
        url = urls.get(component.name)
        if url is None:
            raise ChronicleError(f"asset {asset.id} has no download URL for {component.name!r}")
        fd, tmp_name = tempfile.mkstemp(dir=dest, prefix=f".{component.name}.", suffix=".part")
        tmp = Path(tmp_name)
        try:
            digest = hashlib.sha256()
            size = 0
            with (
                os.fdopen(fd, "wb") as out,
                chronicle.transport.storage_stream("GET", url) as response,
            ):
                for chunk in response.iter_bytes(chunk_size):
                    out.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)
                    if progress is not None:
                        progress(done + size, total)
                out.flush()
                os.fsync(out.fileno())
            if size != component.size or digest.hexdigest() != component.sha256:
                raise IntegrityError(
                    f"asset {asset.id} component {component.name!r}: downloaded {size} bytes "
                    f"with sha256 {digest.hexdigest()}, expected {component.size} bytes "
                    f"with sha256 {component.sha256}"
                )
            final = dest / component.name
            os.replace(tmp, final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        done += component.size
        paths.append(final)
    return paths


def _check_safe_name(name: str) -> None:
    # Component names come from the server; never let one escape dest_dir.
    if name in ("", ".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise IntegrityError(f"refusing to write component with unsafe name {name!r}")


def download_checkpoint(
    chronicle: Chronicle,
    run_id: str,
    dest_dir: str | os.PathLike[str],
    *,
    progress: ProgressArg = None,
) -> list[Path] | None:
    """Download run ``run_id``'s resume checkpoint into ``dest_dir``; ``None`` if none."""
    try:
        asset = chronicle.runs.checkpoint(run_id)
    except NotFoundError:
        return None
    return download_asset(
        chronicle, asset, dest_dir, progress=resolve_progress(progress, desc=asset.name)
    )
