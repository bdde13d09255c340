"""The registry: every record of one fake, its lock, and its write-through store.

All domain operations run inside `registry.transaction()`, which takes the lock,
lets the heartbeat watchdog settle overdue runs first (so every read and write
sees the same, clock-derived truth), and commits staged changes to the store
before the caller can acknowledge anything.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from methodic_fake.clock import Clock
from methodic_fake.errors import NotFound
from methodic_fake.models import RECORD_TYPES, Asset, Experiment, Record, Run, Variation
from methodic_fake.pagination import CursorCodec
from methodic_fake.persistence import MemoryStore, Store
from methodic_fake.watchdog import reap

R = TypeVar("R", bound=Record)


class Registry:
    """In-memory tables plus idempotency records, persisted through `store`."""

    def __init__(
        self, clock: Clock, store: Store | None = None, *, secret: bytes | None = None
    ) -> None:
        self.clock = clock
        self.store: Store = store if store is not None else MemoryStore()
        self.lock = threading.RLock()
        # The data generation is saved, so a restarted dev server honours its cursors.
        generation = self.store.get_meta("cursor_generation") or self._new_generation()
        self.cursors = CursorCodec(secret or secrets.token_bytes(32), generation)
        self._depth = 0
        self._init_tables()
        self._load()

    def _init_tables(self) -> None:
        self.experiments: dict[str, Experiment] = {}
        self.variations: dict[str, Variation] = {}
        self.runs: dict[str, Run] = {}
        self.assets: dict[str, Asset] = {}
        self.running: set[str] = set()  # ids of running runs: all the watchdog must scan
        # scope -> (status, body, fingerprint of the request's parameters)
        self.idempotency: dict[str, tuple[int, Any, str | None]] = {}
        self._seq = 0

    def _tables(self) -> dict[str, dict[str, Any]]:
        return {
            "experiment": self.experiments,
            "variation": self.variations,
            "run": self.runs,
            "asset": self.assets,
        }

    def _load(self) -> None:
        tables = self._tables()
        for kind, body in self.store.load_records():
            record = RECORD_TYPES[kind].load(body)
            tables[kind][record.id] = record
            self._seq = max(self._seq, record.seq)
            if isinstance(record, Run) and record.state == "running":
                self.running.add(record.id)
        for scope, status, body, fingerprint in self.store.load_idempotency():
            self.idempotency[scope] = (status, body, fingerprint)

    def _new_generation(self) -> str:
        generation = secrets.token_hex(16)
        self.store.set_meta("cursor_generation", generation)
        return generation

    def reset(self) -> None:
        """Forget everything (per-test reset); cursors issued before stop working."""
        with self.lock:
            self._init_tables()
            self.store.clear()
            self.cursors.generation = self._new_generation()

    @contextmanager
    def transaction(self) -> Iterator[int]:
        """Lock, settle the watchdog, yield `now` (µs), then persist what was staged."""
        with self.lock:
            now = self.clock.now_us()
            self._depth += 1
            try:
                self.sweep(now)
                yield now
            finally:
                self._depth -= 1
                # Only the outermost transaction commits, so nested work (an
                # idempotent create and its idempotency record) lands atomically.
                # Commit even when the operation raised: the in-memory change
                # (for example a watchdog reap) has already happened.
                if self._depth == 0:
                    self.store.commit()

    def sweep(self, now_us: int) -> int:
        """Fail every running run whose heartbeat is overdue; returns how many."""
        reaped = 0
        for run_id in list(self.running):
            run = self.runs[run_id]
            if reap(run, now_us):
                self.running.discard(run_id)
                self.save(run)
                reaped += 1
        return reaped

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def save(self, record: Record) -> None:
        """Stage a new or changed record for the store (and index it in memory)."""
        self._tables()[record.KIND][record.id] = record
        if isinstance(record, Run):
            if record.state == "running":
                self.running.add(record.id)
            else:
                self.running.discard(record.id)
        self.store.stage(record)

    def get(self, table: dict[str, R], kind: str, record_id: str) -> R:
        record = table.get(record_id)
        if record is None:
            raise NotFound(f"{kind} {record_id} not found")
        return record

    def remember(self, scope: str, status: int, body: Any, fingerprint: str) -> None:
        """Record the response of an idempotent create and what it was asked."""
        self.idempotency[scope] = (status, body, fingerprint)
        self.store.stage_idempotency(scope, status, body, fingerprint)
