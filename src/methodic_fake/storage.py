"""Blob storage on disk: what presigned PUTs write and presigned GETs read.

Uploads stream into a temp file while hashing, and only a complete upload is
renamed into place: a reset or truncated PUT never leaves a half component behind,
and a body is never held in memory whole. A write the disk refuses removes its temp
file and answers 507; temp files of a server killed mid-upload are removed when
the next one starts on the same data dir.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import threading
import uuid
from pathlib import Path
from typing import BinaryIO

from methodic_fake.errors import BadRequest, FakeError

TMP_DIR = ".tmp"


class StorageFailure(FakeError):
    """507 when the disk is full (or over quota), else 500: nothing was stored."""

    def __init__(self, exc: OSError) -> None:
        full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
        self.status = 507 if full else 500
        super().__init__(f"could not store the upload ({exc.strerror or exc}); nothing was kept")


class BlobWriter:
    """One in-flight upload: a temp file plus a running sha256."""

    def __init__(self, final: Path, tmp: Path, max_size: int) -> None:
        self._final = final
        self._tmp = tmp
        self.max_size = max_size
        self._hash = hashlib.sha256()
        self.size = 0
        self._file: BinaryIO | None = None
        try:
            self._file = open(tmp, "wb")  # noqa: SIM115 - closed in commit/discard
        except OSError as exc:
            self.discard()
            raise StorageFailure(exc) from exc

    def write(self, chunk: bytes) -> None:
        """Append a chunk; 400 (and nothing kept) as soon as the registered size is exceeded."""
        if self.size + len(chunk) > self.max_size:
            self.discard()
            raise BadRequest(f"upload exceeds the registered size of {self.max_size} bytes")
        assert self._file is not None
        try:
            self._file.write(chunk)
        except OSError as exc:
            self.discard()
            raise StorageFailure(exc) from exc
        self._hash.update(chunk)
        self.size += len(chunk)

    def commit(self) -> tuple[int, str]:
        """Move the complete upload into place; returns (size, sha256 hex)."""
        assert self._file is not None
        try:
            # close() flushes the buffer: on a full disk this is where the write fails.
            self._file.close()
            self._file = None
            self._final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self._tmp, self._final)
        except OSError as exc:
            self.discard()
            raise StorageFailure(exc) from exc
        return self.size, self._hash.hexdigest()

    def discard(self) -> None:
        """Drop the partial upload (idempotent, and safe when the disk refuses writes)."""
        if self._file is not None:
            file, self._file = self._file, None
            with contextlib.suppress(OSError):  # unflushed bytes are thrown away anyway
                file.close()
        self._tmp.unlink(missing_ok=True)


class BlobStore:
    """Components stored as `<root>/<asset_id>/<component>`."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._lock = threading.Lock()
        # A dev server's data dir may hold blobs from earlier runs: reset must see them.
        self._dirty = self.root.exists()
        self._remove_orphans()

    def _remove_orphans(self) -> None:
        """Delete temp files of uploads a killed server never finished.

        Safe: one fake at a time owns a data dir (persistence.py's lock), so no
        upload of another server can be in flight.
        """
        tmp_dir = self.root / TMP_DIR
        if not tmp_dir.is_dir():
            return
        for leftover in tmp_dir.iterdir():
            if leftover.is_dir():
                shutil.rmtree(leftover)
            else:
                leftover.unlink(missing_ok=True)

    def path(self, asset_id: str, component: str) -> Path:
        return self.root / asset_id / component

    def writer(self, asset_id: str, component: str, max_size: int) -> BlobWriter:
        """Start an upload that may hold at most `max_size` bytes."""
        tmp_dir = self.root / TMP_DIR
        try:
            tmp_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageFailure(exc) from exc
        self._dirty = True
        return BlobWriter(self.path(asset_id, component), tmp_dir / uuid.uuid4().hex, max_size)

    def put_bytes(self, asset_id: str, component: str, data: bytes) -> tuple[int, str]:
        """Store a small payload (inline assets) through the same temp-and-rename path."""
        writer = self.writer(asset_id, component, len(data))
        writer.write(data)
        return writer.commit()

    def size(self, asset_id: str, component: str) -> int | None:
        try:
            return self.path(asset_id, component).stat().st_size
        except FileNotFoundError:
            return None

    def read_text(self, asset_id: str, component: str, limit: int) -> str:
        """Up to `limit` bytes decoded as UTF-8 (for the search index)."""
        try:
            with open(self.path(asset_id, component), "rb") as fh:
                return fh.read(limit).decode("utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def clear(self) -> None:
        """Delete every blob (per-test reset); cheap when nothing was written."""
        with self._lock:
            if self._dirty and self.root.exists():
                shutil.rmtree(self.root, ignore_errors=True)
            self._dirty = False
