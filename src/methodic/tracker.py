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
and ``BEGIN IMMEDIATE``. A *claim* stops two live owners from sending the same upload,
while a dead owner's claim is taken over. The owner is a tracker object, made
alive by an advisory lock (``flock``) it holds on its own file beside the journal
(``<journal>-owners/<token>``): the kernel drops that lock when the process dies,
however it dies, so a claim is alive exactly while its owner's file is locked. Pids
are not involved, so a restarted container whose new process is pid 1 again, or
two containers sharing the journal from different pid namespaces, are told apart.
Without ``fcntl`` (Windows) the owner is its pid, host and boot id plus a lease.

Every SQLite or filesystem failure of the journal (a damaged, read-only or full
file) is raised as ``TrackerError``, naming the file and what to do about it. The
file is opened on first use; queries on a journal that does not exist yet answer
"nothing unfinished" without creating it.

    tracker = UploadTracker("/scratch/uploads.sqlite3")
    for upload in tracker.incomplete():
        print(upload.name, upload.pending_bytes)
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import sqlite3
import tempfile
import threading
import time
import uuid
import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from methodic.errors import TrackerError

try:
    import fcntl as _fcntl
except ImportError:  # pragma: no cover - Windows: claims fall back to pids and leases
    _fcntl = None  # type: ignore[assignment]

__all__ = [
    "DEFAULT_LEASE_SECONDS",
    "ComponentFile",
    "TrackedComponent",
    "TrackedUpload",
    "UploadTracker",
    "default_tracker_path",
]

DEFAULT_LEASE_SECONDS = 300.0
"""How long a claim stays valid without renewal where no owner lock can be checked
(Windows, whose claims are pid-based); transfers renew it when they start and as
bytes flow."""

_SCHEMA_VERSION = 2
_BUSY_TIMEOUT_MS = 30_000
_TRACKER_PATH_ENV = "METHODIC_TRACKER_PATH"
_NEARLY_FULL_BYTES = 64 * 1024  # less free than a few journal pages: an I/O error means "full"

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
    claim_expires  REAL,
    claim_owner    TEXT
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

# Primary SQLite result codes (``sqlite3.Error.sqlite_errorcode & 0xFF``) -> what to do.
_DAMAGED = (
    "it is damaged or not an upload journal: move it aside (uploads it recorded cannot "
    "be resumed) and methodic starts a new one there"
)
_NOT_WRITABLE = (
    "it cannot be written: make the file and its directory writable, or give the Run "
    "another tracker (UploadTracker(path), or METHODIC_TRACKER_PATH)"
)
_FULL = "its filesystem is full: free space there, or give the Run a tracker on another disk"
_REMEDIES = {
    3: _NOT_WRITABLE,  # SQLITE_PERM
    5: "another process kept it locked for 30 s: retry, or find the process holding it",
    6: "another process kept it locked for 30 s: retry, or find the process holding it",
    8: _NOT_WRITABLE,  # SQLITE_READONLY
    10: "reading or writing it failed (I/O error): check the disk, or move the file aside",
    11: _DAMAGED,  # SQLITE_CORRUPT
    13: _FULL,  # SQLITE_FULL
    14: _NOT_WRITABLE,  # SQLITE_CANTOPEN
    23: _NOT_WRITABLE,  # SQLITE_AUTH
    26: _DAMAGED,  # SQLITE_NOTADB
}
_ERRNO_REMEDIES = {
    errno.EACCES: _NOT_WRITABLE,
    errno.EPERM: _NOT_WRITABLE,
    errno.EROFS: _NOT_WRITABLE,
    errno.ENOSPC: _FULL,
    errno.EDQUOT: _FULL,
}


def default_tracker_path() -> Path:
    """Where a Run keeps its tracker when none is given.

    ``$METHODIC_TRACKER_PATH`` if set, else ``$XDG_CACHE_HOME/methodic/uploads.sqlite3``,
    falling back to ``~/.cache/methodic/uploads.sqlite3``.
    """
    explicit = os.environ.get(_TRACKER_PATH_ENV)
    if explicit:
        return Path(explicit)
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

    Constructing one touches no file: the journal is opened (in WAL mode) on first
    use. One connection per process is shared by its threads under a lock (every
    transaction is a few statements long), and a forked child opens its own.

        with UploadTracker(tmp / "uploads.sqlite3") as tracker:
            assert tracker.incomplete() == []

    Raises ``TrackerError`` (with ``path`` and the ``sqlite3`` error as
    ``__cause__``) whenever the file cannot be used.
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
        self._owner: _OwnerLock | None = None
        self._host = socket.gethostname()
        self._boot = _boot_id()

    def __repr__(self) -> str:
        return f"UploadTracker({str(self.path)!r})"

    def __enter__(self) -> UploadTracker:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close this process's connection; the tracker reopens it if used again.

        Claims stay alive: they end with this tracker object (or its process).
        """
        with self._lock:
            if self._conn is not None and self._conn_pid == os.getpid():
                self._conn.close()
            self._conn = None
            self._conn_pid = None

    @property
    def owners_dir(self) -> Path:
        """The directory of the lock files that keep live owners' claims alive."""
        return self.path.with_name(self.path.name + "-owners")

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
        now = time.time()
        with self._transaction() as conn:
            claim = self._new_claim(now)
            conn.execute(
                "INSERT INTO uploads (key, kind, name, run_id, experiment_id, metadata,"
                " created_at, claim_token, claim_pid, claim_host, claim_boot, claim_expires,"
                " claim_owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    key,
                    kind,
                    name,
                    run_id,
                    experiment_id,
                    json.dumps(dict(metadata)) if metadata is not None else None,
                    now,
                    *claim,
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
        with self._existing() as conn:
            if conn is None:
                return
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
        gone or a live owner holds it. An owner is a tracker object: its claims live
        exactly as long as its lock file beside the journal stays locked, which the
        kernel ends with its process. So a claim is taken over as soon as its process
        is gone (whatever pid the next process gets), and never while it lives,
        renewed or not; a claim of this tracker, or of another tracker object in this
        process, is alive (another thread or handle holds it). Without ``fcntl``
        (Windows) the owner's pid decides on its own host, and elsewhere an expired
        lease.
        """
        now = time.time()
        with self._existing() as conn:
            if conn is None:
                return None
            row = conn.execute(
                "SELECT claim_token, claim_owner, claim_pid, claim_host, claim_boot,"
                " claim_expires FROM uploads WHERE key = ?",
                (key,),
            ).fetchone()
            if row is None:
                return None
            if row[0] is not None and self._claim_alive(*row[1:], now=now):
                return None
            conn.execute(
                "UPDATE uploads SET claim_token = ?, claim_pid = ?, claim_host = ?,"
                " claim_boot = ?, claim_expires = ?, claim_owner = ? WHERE key = ?",
                (*self._new_claim(now), key),
            )
            return self._load(conn, key)

    def renew(self, key: str, token: str) -> bool:
        """Extend our lease; ``False`` if the claim is no longer ours."""
        with self._existing() as conn:
            if conn is None:
                return False
            cursor = conn.execute(
                "UPDATE uploads SET claim_expires = ? WHERE key = ? AND claim_token = ?",
                (time.time() + self.lease, key, token),
            )
            return cursor.rowcount == 1

    def release(self, key: str, token: str) -> None:
        """Give up our claim so another caller (or a later resume) can take the upload."""
        with self._existing() as conn:
            if conn is None:
                return
            conn.execute(
                "UPDATE uploads SET claim_token = NULL, claim_pid = NULL, claim_host = NULL,"
                " claim_boot = NULL, claim_expires = NULL, claim_owner = NULL"
                " WHERE key = ? AND claim_token = ?",
                (key, token),
            )

    # -- queries --------------------------------------------------------------------

    def get(self, key: str) -> TrackedUpload | None:
        """The record for ``key``, or ``None`` once it has finished (or never existed)."""
        with self._existing() as conn:
            return None if conn is None else self._load(conn, key)

    def incomplete(self, *, run_id: str | None = None) -> list[TrackedUpload]:
        """Every unfinished upload (of one run, if given), oldest first."""
        with self._existing() as conn:
            if conn is None:
                return []
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

    def _new_claim(self, now: float) -> tuple[str, int, str, str | None, float, str | None]:
        """Column values (token, pid, host, boot, expires, owner) of a claim of ours."""
        owner = self._owner_token()
        return (uuid.uuid4().hex, os.getpid(), self._host, self._boot, now + self.lease, owner)

    def _owner_token(self) -> str | None:
        """This tracker's owner token, creating its lock file on first use (lock held)."""
        if _fcntl is None:
            return None
        owner = self._owner
        if owner is None or owner.pid != os.getpid():
            # A forked child is a new owner: the parent's claims are not its own.
            owner = self._owner = _OwnerLock.create(self.owners_dir)
        return owner.token

    def _claim_alive(
        self,
        owner: str | None,
        pid: int | None,
        host: str | None,
        boot: str | None,
        expires: float | None,
        *,
        now: float,
    ) -> bool:
        if owner is not None and _fcntl is not None:
            me = self._owner
            if me is not None and me.pid == os.getpid() and owner == me.token:
                # Another thread holds it through this tracker (say, a queued
                # background upload): alive however long it has waited.
                return True
            return _owner_alive(self.owners_dir, owner)
        return self._legacy_claim_alive(pid, host, boot, expires, now)

    def _legacy_claim_alive(
        self,
        pid: int | None,
        host: str | None,
        boot: str | None,
        expires: float | None,
        now: float,
    ) -> bool:
        """Claims without an owner lock (Windows): pid, host and boot id, else the lease.

        Weaker than a lock: a new process that got the same pid (a restarted
        container's pid 1) would look like the dead owner.
        """
        if host == self._host and pid is not None:
            if boot is not None and self._boot is not None and boot != self._boot:
                return False  # the owner died with an earlier boot of this machine
            if pid == os.getpid():
                return True
            if os.name != "nt":
                return _pid_alive(pid)
        # Another machine sharing the file, or Windows (where probing a pid with
        # os.kill would send CTRL_C_EVENT): only the lease tells us anything.
        return expires is not None and expires > now

    @contextmanager
    def _existing(self) -> Iterator[sqlite3.Connection | None]:
        """A transaction if the journal exists; ``None`` (and no file created) if not."""
        if not self._connected() and not self.path.exists():
            yield None
            return
        with self._transaction() as conn:
            yield conn

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT`` on this process's connection."""
        with self._lock:
            try:
                conn = self._connection()
                conn.execute("BEGIN IMMEDIATE")
            except (sqlite3.Error, OSError) as err:
                raise self._error(err) from err
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException as err:
                # COMMIT itself can fail (a deferred constraint, SQLITE_BUSY, a full
                # disk) and leave the transaction open: every later BEGIN would fail.
                try:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                except sqlite3.Error as rollback_err:
                    raise self._error(rollback_err) from err
                if isinstance(err, (sqlite3.Error, OSError)):
                    raise self._error(err) from err
                raise

    def _connected(self) -> bool:
        return self._conn is not None and self._conn_pid == os.getpid()

    def _error(self, err: BaseException) -> TrackerError:
        """The ``TrackerError`` for a failure of this journal: what failed, what to do."""
        if isinstance(err, TrackerError):
            return err
        remedy = _DAMAGED
        if isinstance(err, sqlite3.Error):
            code = getattr(err, "sqlite_errorcode", None)
            if code is not None:
                remedy = _REMEDIES.get(code & 0xFF, remedy)
            if code is not None and code & 0xFF == 10 and self._disk_full():
                remedy = _FULL  # SQLite reports ENOSPC while growing its -shm as I/O
        elif isinstance(err, OSError) and err.errno is not None:
            remedy = _ERRNO_REMEDIES.get(err.errno, _NOT_WRITABLE)
        return TrackerError(f"upload journal {self.path}: {err}; {remedy}", self.path)

    def _disk_full(self) -> bool:
        try:
            fs = os.statvfs(self.path.parent)
        except (OSError, AttributeError):  # AttributeError: no statvfs on Windows
            return False
        return fs.f_bavail * fs.f_frsize < _NEARLY_FULL_BYTES

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
                raise TrackerError(
                    f"upload journal {self.path}: could not enable WAL mode (got {mode!r}); "
                    "put the tracker on a local filesystem",
                    self.path,
                )
            # FULL: a committed journal step survives power loss, not just a SIGKILL.
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("BEGIN IMMEDIATE")
            try:
                self._migrate(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except BaseException:
            conn.close()
            raise
        self._conn, self._conn_pid = conn, pid
        return conn

    def _migrate(self, conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > _SCHEMA_VERSION:
            raise TrackerError(
                f"upload journal {self.path} was written by a newer methodic (schema "
                f"{version}): upgrade methodic, or move the file aside (uploads it recorded "
                "cannot then be resumed)",
                self.path,
            )
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)
        columns = {row[1] for row in conn.execute("PRAGMA table_info(uploads)")}
        if "claim_owner" not in columns:  # schema 1: claims had no owner lock
            conn.execute("ALTER TABLE uploads ADD COLUMN claim_owner TEXT")
        conn.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")

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


class _OwnerLock:
    """A claim owner: a file named by a random token, ``flock``-ed for the owner's life.

    The file appears under its final name already locked (created under a temporary
    name, locked, then renamed), so a file there that nobody has locked belongs to a
    dead owner, and whoever finds it so may delete it. ``flock`` locks belong to the
    open file, not the process: another tracker object in this same process gets a
    conflict too, so its claims are as alive as another process's.
    """

    _live: ClassVar[weakref.WeakSet[_OwnerLock]] = weakref.WeakSet()

    def __init__(self, token: str, fd: int, path: Path) -> None:
        self.token = token
        self.fd: int | None = fd
        self.path = path
        self.pid = os.getpid()
        # Removed when the tracker is collected or the interpreter exits; a killed
        # process leaves its file unlocked, and the next owner sweeps it.
        self._finalizer = weakref.finalize(self, _drop_owner_file, fd, path, self.pid)
        _OwnerLock._live.add(self)

    @classmethod
    def create(cls, directory: Path) -> _OwnerLock:
        assert _fcntl is not None
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        _sweep_dead_owners(directory)
        token = uuid.uuid4().hex
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".new-")
        try:
            _fcntl.flock(fd, _fcntl.LOCK_EX | _fcntl.LOCK_NB)  # nobody else knows the file
            final = directory / token
            os.rename(tmp, final)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return cls(token, fd, final)

    def forget_inherited(self) -> None:
        """In a forked child: close the copy of the parent's descriptor.

        The parent keeps its lock (it holds its own descriptor of the same open file);
        the child must not, or the parent's claims would outlive the parent.
        """
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = None
        self._finalizer.detach()


def _drop_owner_file(fd: int, path: Path, pid: int) -> None:
    if os.getpid() != pid:
        return  # a forked child: the file and lock are its parent's
    with contextlib.suppress(OSError):
        os.unlink(path)
    with contextlib.suppress(OSError):
        os.close(fd)


def _after_fork_in_child() -> None:
    for owner in list(_OwnerLock._live):
        owner.forget_inherited()


if _fcntl is not None:
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _owner_alive(directory: Path, token: str) -> bool:
    """Whether the owner ``token`` lives: someone holds the lock on its file.

    A dead owner's file is deleted on the way (while we hold its lock, so no one can
    be relying on it).
    """
    assert _fcntl is not None
    if not token or "/" in token or token.startswith("."):
        return False  # not a token we wrote
    path = directory / token
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    except OSError:
        return True  # cannot look (another user's file): assume the owner lives
    try:
        try:
            _fcntl.flock(fd, _fcntl.LOCK_EX | _fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        with contextlib.suppress(OSError):
            os.unlink(path)
        return False
    finally:
        os.close(fd)


def _sweep_dead_owners(directory: Path) -> None:
    """Delete the lock files of owners that died (SIGKILL leaves them behind)."""
    assert _fcntl is not None
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        path = directory / name
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            if name.startswith(".new-") and time.time() - os.fstat(fd).st_mtime < 60:
                continue  # being born: locked an instant after it was created
            _fcntl.flock(fd, _fcntl.LOCK_EX | _fcntl.LOCK_NB)
        except OSError:
            pass  # a live owner
        else:
            with contextlib.suppress(OSError):
                os.unlink(path)
        finally:
            os.close(fd)


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
