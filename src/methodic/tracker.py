"""UploadTracker: a local SQLite (WAL) journal of asset uploads, for crash recovery.

The tracker records an upload *before* anything is sent, so a process killed at any
instant leaves enough behind for a fresh process to finish the job:

1. ``register()`` stores an idempotency key with every component (name, path, size,
   mtime, sha256) in one transaction;
2. the asset is created with Chronicle using that key, then ``set_asset_id()``;
3. each component is PUT to storage, then ``mark_uploaded()``;
4. the asset is finalized, then ``discard()`` deletes the rows.

Resuming repeats whichever steps are missing; Chronicle's idempotency key makes a
repeated create return the same asset, and the server (not this file) is the source
of truth for which components are already stored.

Several threads and processes may share one tracker file. Each transaction is short
and ``BEGIN IMMEDIATE``; a *claim* (pid, host, boot id and a lease) stops two live
processes from resuming the same upload, while a dead owner's claim is taken over
(on the owner's host its pid decides; elsewhere, only its lease).

    tracker = UploadTracker("/scratch/uploads.sqlite3")
    for upload in tracker.incomplete():
        print(upload.name, upload.pending_bytes)
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_LEASE_SECONDS",
    "ComponentFile",
    "TrackedComponent",
    "TrackedUpload",
    "UploadTracker",
    "default_tracker_path",
]

DEFAULT_LEASE_SECONDS = 300.0
"""How long a claim stays valid without renewal where its owner's pid cannot be checked
(another host, Windows); transfers renew it when they start and as bytes flow."""

_SCHEMA_VERSION = 1
_BUSY_TIMEOUT_MS = 30_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS uploads (
    key            TEXT PRIMARY KEY,
    kind           TEXT NOT NULL,
    name           TEXT NOT NULL,
    run_id         TEXT,
    experiment_id  TEXT,
    metadata       TEXT,
    asset_id       TEXT,
    created_at     REAL NOT NULL,
    claim_token    TEXT,
    claim_pid      INTEGER,
    claim_host     TEXT,
    claim_boot     TEXT,
    claim_expires  REAL
);
CREATE INDEX IF NOT EXISTS uploads_run ON uploads (run_id);
CREATE TABLE IF NOT EXISTS components (
    upload_key    TEXT NOT NULL REFERENCES uploads (key) ON DELETE CASCADE,
    position      INTEGER NOT NULL,
    name          TEXT NOT NULL,
    path          TEXT NOT NULL,
    size          INTEGER NOT NULL,
    mtime_ns      INTEGER NOT NULL,
    sha256        TEXT NOT NULL,
    content_type  TEXT,
    uploaded      INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (upload_key, name)
);
"""


def default_tracker_path() -> Path:
    """Where a Run keeps its tracker when none is given.

    ``$XDG_CACHE_HOME/methodic/uploads.sqlite3``, falling back to
    ``~/.cache/methodic/uploads.sqlite3``.
    """
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(cache) / "methodic" / "uploads.sqlite3"


@dataclass(frozen=True)
class ComponentFile:
    """A local file to be uploaded as one component, as measured at registration."""

    name: str
    path: str
    size: int
    mtime_ns: int
    sha256: str
    content_type: str | None = None


@dataclass(frozen=True)
class TrackedComponent(ComponentFile):
    """A registered component and whether this tracker has seen its PUT succeed.

    ``uploaded`` is a local hint only: on resume the server decides.
    """

    uploaded: bool = False


@dataclass(frozen=True)
class TrackedUpload:
    """One unfinished upload as recorded in the tracker."""

    key: str
    """The idempotency key sent with ``POST /assets``."""
    kind: str
    name: str
    run_id: str | None
    experiment_id: str | None
    metadata: dict[str, Any] | None
    asset_id: str | None
    """Set once Chronicle has created the (pending) asset."""
    created_at: float
    components: tuple[TrackedComponent, ...]
    claim_token: str | None
    """Token of the current claim, if any (ours when returned by register/claim)."""
    claim_pid: int | None
    claim_expires: float | None

    @property
    def total_bytes(self) -> int:
        """Size of every component together."""
        return sum(c.size for c in self.components)

    @property
    def pending_bytes(self) -> int:
        """Bytes of components not yet known to be uploaded."""
        return sum(c.size for c in self.components if not c.uploaded)


class UploadTracker:
    """SQLite journal of uploads, safe for several threads and processes at once.

    The file is opened lazily in WAL mode. One connection per process is shared by its
    threads under a lock (every transaction is a few statements long), and a forked
    child opens its own.

        with UploadTracker(tmp / "uploads.sqlite3") as tracker:
            assert tracker.incomplete() == []
    """

    def __init__(
        self, path: str | os.PathLike[str] | None = None, *, lease: float = DEFAULT_LEASE_SECONDS
    ) -> None:
        if lease <= 0:
            raise ValueError("lease must be positive")
        self.path = Path(path) if path is not None else default_tracker_path()
        self.lease = lease
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._conn_pid: int | None = None
        self._host = socket.gethostname()
        self._boot = _boot_id()

    def __repr__(self) -> str:
        return f"UploadTracker({str(self.path)!r})"

    def __enter__(self) -> UploadTracker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close this process's connection; the tracker reopens it if used again."""
        with self._lock:
            if self._conn is not None and self._conn_pid == os.getpid():
                self._conn.close()
            self._conn = None
            self._conn_pid = None

    # -- journal steps -------------------------------------------------------------

    def register(
        self,
        *,
        kind: str,
        name: str,
        components: Sequence[ComponentFile],
        run_id: str | None = None,
        experiment_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        key: str | None = None,
    ) -> TrackedUpload:
        """Journal a new upload with all its components, claimed by the caller.

        This must commit before ``POST /assets`` is sent: the returned ``key`` is the
        idempotency key for that request.
        """
        if not components:
            raise ValueError("an upload needs at least one component")
        names = [c.name for c in components]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate component names: {sorted(names)}")
        key = key or f"methodic-upload-{uuid.uuid4()}"
        token = uuid.uuid4().hex
        now = time.time()
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO uploads (key, kind, name, run_id, experiment_id, metadata,"
                " created_at, claim_token, claim_pid, claim_host, claim_boot, claim_expires)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    key,
                    kind,
                    name,
                    run_id,
                    experiment_id,
                    json.dumps(dict(metadata)) if metadata is not None else None,
                    now,
                    token,
                    os.getpid(),
                    self._host,
                    self._boot,
                    now + self.lease,
                ),
            )
            conn.executemany(
                "INSERT INTO components (upload_key, position, name, path, size, mtime_ns,"
                " sha256, content_type) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (key, i, c.name, c.path, c.size, c.mtime_ns, c.sha256, c.content_type)
                    for i, c in enumerate(components)
                ],
            )
            record = self._load(conn, key)
        assert record is not None
        return record

    def set_asset_id(self, key: str, asset_id: str) -> None:
        """Record the asset Chronicle created for this upload."""
        with self._transaction() as conn:
            conn.execute("UPDATE uploads SET asset_id = ? WHERE key = ?", (asset_id, key))

    def mark_uploaded(self, key: str, component: str) -> None:
        """Record that a component's PUT succeeded."""
        with self._transaction() as conn:
            conn.execute(
                "UPDATE components SET uploaded = 1 WHERE upload_key = ? AND name = ?",
                (key, component),
            )

    def discard(self, key: str) -> None:
        """Drop an upload from the journal: once its asset is ready (finished rows are
        pruned), or when you no longer want it (e.g. its files are gone)."""
        with self._transaction() as conn:
            conn.execute("DELETE FROM components WHERE upload_key = ?", (key,))
            conn.execute("DELETE FROM uploads WHERE key = ?", (key,))

    def refresh_files(
        self, key: str, token: str, components: Sequence[ComponentFile]
    ) -> TrackedUpload | None:
        """Point a claimed upload's components at these files (same bytes, new path/mtime).

        For a retry that re-describes the same content: later checks that the file is
        unchanged then compare with the file as it is now. ``None`` if the claim is
        no longer ours.
        """
        with self._transaction() as conn:
            held = conn.execute("SELECT claim_token FROM uploads WHERE key = ?", (key,)).fetchone()
            if held is None or held[0] != token:
                return None
            conn.executemany(
                "UPDATE components SET path = ?, mtime_ns = ? WHERE upload_key = ? AND name = ?",
                [(c.path, c.mtime_ns, key, c.name) for c in components],
            )
            return self._load(conn, key)

    # -- claims ---------------------------------------------------------------------

    def claim(self, key: str) -> TrackedUpload | None:
        """Take the upload for this caller, unless a live owner holds it.

        Returns the record (with our ``claim_token``), or ``None`` when the upload is
        gone or another live claimant holds it. On this host the owner's pid decides:
        a claim is taken over once its process is gone (or died in an earlier boot),
        and never while it lives, renewed or not; a claim of this very process is
        alive (another thread holds it). Only where the pid cannot be checked
        (another host sharing the file, Windows) does an expired lease free it.
        """
        token = uuid.uuid4().hex
        now = time.time()
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT claim_token, claim_pid, claim_host, claim_boot, claim_expires"
                " FROM uploads WHERE key = ?",
                (key,),
            ).fetchone()
            if row is None:
                return None
            held_token, pid, host, boot, expires = row
            if held_token is not None and self._claim_alive(pid, host, boot, expires, now):
                return None
            conn.execute(
                "UPDATE uploads SET claim_token = ?, claim_pid = ?, claim_host = ?,"
                " claim_boot = ?, claim_expires = ? WHERE key = ?",
                (token, os.getpid(), self._host, self._boot, now + self.lease, key),
            )
            return self._load(conn, key)

    def renew(self, key: str, token: str) -> bool:
        """Extend our lease; ``False`` if the claim is no longer ours."""
        with self._transaction() as conn:
            cursor = conn.execute(
                "UPDATE uploads SET claim_expires = ? WHERE key = ? AND claim_token = ?",
                (time.time() + self.lease, key, token),
            )
            return cursor.rowcount == 1

    def release(self, key: str, token: str) -> None:
        """Give up our claim so another caller (or a later resume) can take the upload."""
        with self._transaction() as conn:
            conn.execute(
                "UPDATE uploads SET claim_token = NULL, claim_pid = NULL, claim_host = NULL,"
                " claim_boot = NULL, claim_expires = NULL WHERE key = ? AND claim_token = ?",
                (key, token),
            )

    # -- queries --------------------------------------------------------------------

    def get(self, key: str) -> TrackedUpload | None:
        """The record for ``key``, or ``None`` once it has finished (or never existed)."""
        with self._transaction() as conn:
            return self._load(conn, key)

    def incomplete(self, *, run_id: str | None = None) -> list[TrackedUpload]:
        """Every unfinished upload (of one run, if given), oldest first."""
        with self._transaction() as conn:
            if run_id is None:
                keys = conn.execute("SELECT key FROM uploads ORDER BY created_at, key")
            else:
                keys = conn.execute(
                    "SELECT key FROM uploads WHERE run_id = ? ORDER BY created_at, key",
                    (run_id,),
                )
            records = [self._load(conn, k) for (k,) in keys.fetchall()]
        return [r for r in records if r is not None]

    def find_unfinished(
        self,
        *,
        kind: str,
        name: str,
        components: Sequence[ComponentFile],
        run_id: str | None = None,
        experiment_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> TrackedUpload | None:
        """The oldest unfinished upload that would send exactly this request, if any.

        Same target, kind, name and metadata, and the same components (name, size,
        sha256, content type): retrying such an upload must reuse its idempotency
        key, or a create whose response was lost would yield a second asset.
        """
        wanted = sorted((c.name, c.size, c.sha256, c.content_type) for c in components)
        # Compared as stored: through a JSON round trip (tuples become lists, ...).
        meta = json.loads(json.dumps(dict(metadata))) if metadata is not None else None
        for upload in self.incomplete(run_id=run_id):
            same_target = (upload.run_id, upload.experiment_id) == (run_id, experiment_id)
            if not same_target or (upload.kind, upload.name) != (kind, name):
                continue
            if upload.metadata != meta:
                continue
            held = sorted((c.name, c.size, c.sha256, c.content_type) for c in upload.components)
            if held == wanted:
                return upload
        return None

    # -- internals ------------------------------------------------------------------

    def _claim_alive(
        self,
        pid: int | None,
        host: str | None,
        boot: str | None,
        expires: float | None,
        now: float,
    ) -> bool:
        if host == self._host and pid is not None:
            if boot is not None and self._boot is not None and boot != self._boot:
                return False  # the owner died with an earlier boot of this machine
            if pid == os.getpid():
                # Another thread of this process holds it (say, a queued background
                # upload): alive however long it has waited.
                return True
            if os.name != "nt":
                # The pid decides, not the lease: a live owner keeps its upload even
                # if it has not renewed lately, and a dead one loses it at once.
                return _pid_alive(pid)
        # Another machine sharing the file, or Windows (where probing a pid with
        # os.kill would send CTRL_C_EVENT): only the lease tells us anything.
        return expires is not None and expires > now

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                # COMMIT itself can fail (a deferred constraint, SQLITE_BUSY, a full
                # disk) and leave the transaction open: every later BEGIN would fail.
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _connection(self) -> sqlite3.Connection:
        pid = os.getpid()
        if self._conn is not None and self._conn_pid == pid:
            return self._conn
        # A connection inherited through fork() must not be used (SQLite forbids it);
        # it is abandoned rather than closed so the parent's locks are untouched.
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        conn = sqlite3.connect(
            self.path,
            timeout=_BUSY_TIMEOUT_MS / 1000,
            isolation_level=None,  # we issue BEGIN IMMEDIATE / COMMIT ourselves
            check_same_thread=False,  # guarded by self._lock
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise sqlite3.OperationalError(
                    f"{self.path}: could not enable WAL mode (got {mode!r}); "
                    "put the tracker on a local filesystem"
                )
            # FULL: a committed journal step survives power loss, not just a SIGKILL.
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("BEGIN IMMEDIATE")
            try:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version > _SCHEMA_VERSION:
                    raise sqlite3.OperationalError(
                        f"{self.path} was written by a newer methodic (schema {version})"
                    )
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except BaseException:
            conn.close()
            raise
        self._conn, self._conn_pid = conn, pid
        return conn

    @staticmethod
    def _load(conn: sqlite3.Connection, key: str) -> TrackedUpload | None:
        row = conn.execute(
            "SELECT key, kind, name, run_id, experiment_id, metadata, asset_id, created_at,"
            " claim_token, claim_pid, claim_expires FROM uploads WHERE key = ?",
            (key,),
        ).fetchone()
        if row is None:
            return None
        components = tuple(
            TrackedComponent(
                name=name,
                path=path,
                size=size,
                mtime_ns=mtime_ns,
                sha256=sha256,
                content_type=content_type,
                uploaded=bool(uploaded),
            )
            for name, path, size, mtime_ns, sha256, content_type, uploaded in conn.execute(
                "SELECT name, path, size, mtime_ns, sha256, content_type, uploaded"
                " FROM components WHERE upload_key = ? ORDER BY position",
                (key,),
            )
        )
        return TrackedUpload(
            key=row[0],
            kind=row[1],
            name=row[2],
            run_id=row[3],
            experiment_id=row[4],
            metadata=json.loads(row[5]) if row[5] is not None else None,
            asset_id=row[6],
            created_at=row[7],
            components=components,
            claim_token=row[8],
            claim_pid=row[9],
            claim_expires=row[10],
        )


def _pid_alive(pid: int) -> bool:
    """Whether ``pid`` is a live process on this (POSIX) host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by another user
    # A killed process that its parent has not reaped yet is a zombie: dead for us.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    state = stat.rpartition(")")[2].split()[:1]
    return state not in (["Z"], ["X"])


def _boot_id() -> str | None:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip() or None
    except OSError:
        return None
