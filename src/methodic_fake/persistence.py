"""Where the registry's records survive: nowhere (tests) or SQLite (dev server).

The registry keeps every record in memory and writes each mutation through to the
store before the HTTP response is sent, so an acknowledged change is on disk.

SQLite runs in WAL mode with `synchronous=NORMAL`. In WAL mode a commit appends
to the WAL with write(2) before returning, and the OS page cache survives the
death of the process, so nothing acknowledged is lost on SIGKILL (the failure a
dev server meets: Ctrl-C twice, `kill -9`, a crashed terminal). NORMAL skips the
fsync per commit that only matters on power loss or kernel panic, which for an
offline development fake is not worth a disk flush on every request.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from methodic_fake.errors import FakeError
from methodic_fake.models import Record

LOCK_FILE = "lock"
DATABASE = "chronicle.sqlite3"  # in the data dir, next to LOCK_FILE


class DataDirLocked(RuntimeError):
    """Another fake (in this process or another) already serves this data dir."""


class StoreFailure(FakeError):
    """500: the database refused a commit, so the change was not acknowledged."""

    status = 500


def _lock_data_dir(data_dir: Path) -> int:
    """Hold an exclusive, non-blocking lock on `<data_dir>/lock`; returns its fd.

    Two servers on one data dir would each keep their own in-memory tables and
    sequence counters and overwrite each other's rows. The OS drops the lock when
    the process dies (even on SIGKILL), so a crash never leaves a stale lock.
    """
    path = data_dir / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
            import msvcrt

            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise DataDirLocked(
            f"data dir {data_dir} is in use by another methodic-fake server "
            "(stop it, or pass a different --data-dir)"
        ) from None
    return fd


def _unlock_data_dir(fd: int) -> None:
    os.close(fd)  # closing the descriptor releases the lock


_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    kind TEXT NOT NULL, id TEXT NOT NULL, seq INTEGER NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (kind, id));
CREATE TABLE IF NOT EXISTS idempotency (
    scope TEXT PRIMARY KEY, status INTEGER NOT NULL, body TEXT NOT NULL, fingerprint TEXT);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class Store(Protocol):
    """Write-through persistence used by the registry (all calls under its lock)."""

    def load_records(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every stored record as (kind, dumped record), in creation order."""
        ...

    def load_idempotency(self) -> Iterator[tuple[str, int, Any, str | None]]:
        """Every remembered idempotent response as (scope, status, body, fingerprint)."""
        ...

    def stage(self, record: Record) -> None:
        """Queue a new or changed record for the next commit."""
        ...

    def stage_idempotency(self, scope: str, status: int, body: Any, fingerprint: str) -> None:
        """Queue an idempotency record for the next commit."""
        ...

    def commit(self) -> None:
        """Durably write everything staged, atomically."""
        ...

    def get_meta(self, key: str) -> str | None:
        """A stored setting (keys, signing secret, clock offset), or None."""
        ...

    def set_meta(self, key: str, value: str) -> None:
        """Store a setting at once."""
        ...

    def clear(self) -> None:
        """Delete all records and idempotency entries (settings stay)."""
        ...

    def close(self) -> None:
        """Release the underlying database."""
        ...


class MemoryStore:
    """No persistence: state lives and dies with the process (tests)."""

    def __init__(self) -> None:
        self._meta: dict[str, str] = {}

    def load_records(self) -> Iterator[tuple[str, dict[str, Any]]]:
        return iter(())

    def load_idempotency(self) -> Iterator[tuple[str, int, Any, str | None]]:
        return iter(())

    def stage(self, record: Record) -> None:
        pass

    def stage_idempotency(self, scope: str, status: int, body: Any, fingerprint: str) -> None:
        pass

    def commit(self) -> None:
        pass

    def get_meta(self, key: str) -> str | None:
        return self._meta.get(key)

    def set_meta(self, key: str, value: str) -> None:
        self._meta[key] = value

    def clear(self) -> None:
        pass

    def close(self) -> None:
        pass


class SqliteStore:
    """Records as JSON rows in `<data_dir>/chronicle.sqlite3`."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock_fd: int | None = _lock_data_dir(path.parent)
        try:
            # One connection shared by the server's threads; the registry's lock serialises use.
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(idempotency)")}
            if "fingerprint" not in columns:  # a data dir from before parameters were checked
                self._db.execute("ALTER TABLE idempotency ADD COLUMN fingerprint TEXT")
        except BaseException:
            _unlock_data_dir(self._lock_fd)
            raise
        self._staged: list[tuple[str, tuple[Any, ...]]] = []
        self._lock = threading.Lock()

    def load_records(self) -> Iterator[tuple[str, dict[str, Any]]]:
        rows = self._db.execute("SELECT kind, body FROM records ORDER BY seq").fetchall()
        for kind, body in rows:
            yield kind, json.loads(body)

    def load_idempotency(self) -> Iterator[tuple[str, int, Any, str | None]]:
        rows = self._db.execute("SELECT scope, status, body, fingerprint FROM idempotency")
        for scope, status, body, fingerprint in rows:
            yield scope, status, json.loads(body), fingerprint

    def stage(self, record: Record) -> None:
        self._staged.append(
            (
                "INSERT OR REPLACE INTO records (kind, id, seq, body) VALUES (?, ?, ?, ?)",
                (record.KIND, record.id, record.seq, json.dumps(record.dump())),
            )
        )

    def stage_idempotency(self, scope: str, status: int, body: Any, fingerprint: str) -> None:
        self._staged.append(
            (
                "INSERT OR REPLACE INTO idempotency (scope, status, body, fingerprint)"
                " VALUES (?, ?, ?, ?)",
                (scope, status, json.dumps(body), fingerprint),
            )
        )

    def commit(self) -> None:
        """Write everything staged in one transaction (atomic: all or none).

        On failure the rows stay staged (the in-memory state already holds the
        change, so the next commit writes it) and StoreFailure tells the client
        that nothing was acknowledged.
        """
        with self._lock:
            if not self._staged:
                return
            staged, self._staged = self._staged, []
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    for sql, params in staged:
                        self._db.execute(sql, params)
                    self._db.execute("COMMIT")
                except BaseException:
                    if self._db.in_transaction:
                        self._db.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                self._staged = staged + self._staged
                raise StoreFailure(
                    f"could not persist the change ({exc}); it may apply with a later request"
                ) from exc
            except BaseException:
                self._staged = staged + self._staged
                raise

    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            try:
                self._db.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value)
                )
            except sqlite3.Error as exc:
                # One statement in autocommit mode: SQLite rolled it back already.
                raise StoreFailure(f"could not save {key} ({exc}); nothing changed") from exc

    def clear(self) -> None:
        with self._lock:
            self._staged = []
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("DELETE FROM records")
            self._db.execute("DELETE FROM idempotency")
            self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()
            if self._lock_fd is not None:
                _unlock_data_dir(self._lock_fd)
                self._lock_fd = None
