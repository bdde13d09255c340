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
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from methodic_fake.models import Record

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    kind TEXT NOT NULL, id TEXT NOT NULL, seq INTEGER NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (kind, id));
CREATE TABLE IF NOT EXISTS idempotency (
    scope TEXT PRIMARY KEY, status INTEGER NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class Store(Protocol):
    """Write-through persistence used by the registry (all calls under its lock)."""

    def load_records(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every stored record as (kind, dumped record), in creation order."""
        ...

    def load_idempotency(self) -> Iterator[tuple[str, int, Any]]:
        """Every remembered idempotent response as (scope, status, body)."""
        ...

    def stage(self, record: Record) -> None:
        """Queue a new or changed record for the next commit."""
        ...

    def stage_idempotency(self, scope: str, status: int, body: Any) -> None:
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

    def load_idempotency(self) -> Iterator[tuple[str, int, Any]]:
        return iter(())

    def stage(self, record: Record) -> None:
        pass

    def stage_idempotency(self, scope: str, status: int, body: Any) -> None:
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
        # One connection shared by the server's threads; the registry's lock serialises use.
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._staged: list[tuple[str, tuple[Any, ...]]] = []
        self._lock = threading.Lock()

    def load_records(self) -> Iterator[tuple[str, dict[str, Any]]]:
        rows = self._db.execute("SELECT kind, body FROM records ORDER BY seq").fetchall()
        for kind, body in rows:
            yield kind, json.loads(body)

    def load_idempotency(self) -> Iterator[tuple[str, int, Any]]:
        for scope, status, body in self._db.execute("SELECT scope, status, body FROM idempotency"):
            yield scope, status, json.loads(body)

    def stage(self, record: Record) -> None:
        self._staged.append(
            (
                "INSERT OR REPLACE INTO records (kind, id, seq, body) VALUES (?, ?, ?, ?)",
                (record.KIND, record.id, record.seq, json.dumps(record.dump())),
            )
        )

    def stage_idempotency(self, scope: str, status: int, body: Any) -> None:
        self._staged.append(
            (
                "INSERT OR REPLACE INTO idempotency (scope, status, body) VALUES (?, ?, ?)",
                (scope, status, json.dumps(body)),
            )
        )

    def commit(self) -> None:
        """Write everything staged in one transaction (atomic: all or none)."""
        with self._lock:
            if not self._staged:
                return
            staged, self._staged = self._staged, []
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for sql, params in staged:
                    self._db.execute(sql, params)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

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
