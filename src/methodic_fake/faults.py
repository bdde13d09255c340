"""Per-operation fault queues, consumed in FIFO order.

Modelled on googleapis/storage-testbench: a test queues faults for a named
operation and the next matching requests consume them one by one, e.g.

    fake.faults.add("storage.put", "truncate", after_bytes=1024)
    fake.faults.add("runs.heartbeat", "status", status=503, times=2)

Kinds: `status` (reply with that status and a `{"detail": ...}` body), `reset`
(drop the connection without a response; `phase="after"` handles the request
first, so the change happens but the client never hears of it), `truncate` (storage PUT only: read
`after_bytes` of the body, store nothing, drop the connection) and `latency`
(sleep `seconds`, then handle the request normally). `raise` makes the app raise an
unexpected exception before handling the request: the client gets the last-resort
JSON 500 (see middleware.LastResortMiddleware), the way a bug in the fake would look.
"""

from __future__ import annotations

import math
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

OPERATIONS: tuple[str, ...] = (
    "experiments.create",
    "experiments.list",
    "experiments.get",
    "experiments.update",
    "experiments.commit",
    "experiments.conclude",
    "experiments.retract",
    "experiments.lineage",
    "variations.create",
    "variations.list",
    "variations.get",
    "runs.create",
    "runs.list",
    "runs.get",
    "runs.config",
    "runs.start",
    "runs.heartbeat",
    "runs.succeed",
    "runs.fail",
    "runs.checkpoint",
    "assets.create",
    "assets.list",
    "assets.get",
    "assets.finalize",
    "assets.upload_urls",
    "assets.download_urls",
    "search.query",
    "storage.put",
    "storage.get",
)
KINDS: tuple[str, ...] = ("status", "reset", "truncate", "latency", "raise")
# Bounds on every number a fault takes (docs/fake.md): past them a value is a typo
# or an attack, and an unbounded `times` or queue exhausts memory.
MAX_LATENCY = 3600.0  # a longer sleep would hang the request for good
MAX_TIMES = 1000  # copies queued by one call
MAX_QUEUED = 10_000  # faults queued at once, over all operations
MAX_AFTER_BYTES = 5 * 1024**4  # the largest component the API registers (5 TiB)
MAX_RETRY_AFTER = 86_400  # one day


@dataclass(frozen=True)
class Fault:
    """One queued fault. Which fields matter depends on `kind`."""

    operation: str
    kind: str
    status: int = 503
    detail: str = "injected fault"
    after_bytes: int = 0
    seconds: float = 0.0
    retry_after: int | None = None
    phase: str = "before"

    def wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"operation": self.operation, "kind": self.kind}
        if self.kind == "status":
            out.update(status=self.status, detail=self.detail, retry_after=self.retry_after)
        elif self.kind == "truncate":
            out["after_bytes"] = self.after_bytes
        elif self.kind == "latency":
            out["seconds"] = self.seconds
        elif self.kind == "reset":
            out["phase"] = self.phase
        return out


class FaultQueue:
    """Thread-safe FIFO of faults per operation."""

    def __init__(self) -> None:
        self._queues: dict[str, deque[Fault]] = {}
        self._lock = threading.Lock()
        # Set when the fake stops: requests held by a latency fault end at once.
        self.stopping = threading.Event()

    def add(
        self,
        operation: str,
        kind: str,
        *,
        status: int = 503,
        detail: str | None = None,
        times: int = 1,
        after_bytes: int = 0,
        seconds: float = 0.0,
        retry_after: int | None = None,
        phase: str = "before",
    ) -> None:
        """Queue `times` copies of a fault for `operation` (see module docs for kinds).

        `phase` applies to `reset`: "before" drops the connection before the request
        is handled (nothing happened), "after" handles it fully and then drops the
        connection instead of sending the response (it happened, the client never
        heard) - the case idempotency keys exist for.
        """
        if operation not in OPERATIONS:
            raise ValueError(f"unknown operation {operation!r}; known: {', '.join(OPERATIONS)}")
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(KINDS)}")
        if kind == "truncate" and operation != "storage.put":
            raise ValueError("truncate faults apply to storage.put only")
        if not 400 <= status <= 599:
            raise ValueError("status faults need a 4xx or 5xx status")
        if phase not in ("before", "after"):
            raise ValueError("phase must be 'before' or 'after'")
        if not 1 <= times <= MAX_TIMES:
            raise ValueError(f"times must be between 1 and {MAX_TIMES}")
        if not 0 <= after_bytes <= MAX_AFTER_BYTES:
            raise ValueError(f"after_bytes must be between 0 and {MAX_AFTER_BYTES}")
        if not (math.isfinite(seconds) and 0 <= seconds <= MAX_LATENCY):
            raise ValueError(f"seconds must be finite and between 0 and {MAX_LATENCY:.0f}")
        if retry_after is not None and not 0 <= retry_after <= MAX_RETRY_AFTER:
            raise ValueError(f"retry_after must be between 0 and {MAX_RETRY_AFTER}")
        fault = Fault(
            operation,
            kind,
            status=status,
            detail=detail or f"injected {status} for {operation}",
            after_bytes=after_bytes,
            seconds=seconds,
            retry_after=retry_after,
            phase=phase,
        )
        with self._lock:
            queued = sum(len(q) for q in self._queues.values())
            if queued + times > MAX_QUEUED:
                raise ValueError(
                    f"the fault queue holds at most {MAX_QUEUED} faults ({queued} queued); "
                    "clear some first"
                )
            self._queues.setdefault(operation, deque()).extend([fault] * times)

    @property
    def active(self) -> bool:
        """True when any fault is queued (lock-free: a stale answer only delays one request)."""
        return bool(self._queues)

    def pop(self, operation: str) -> Fault | None:
        """The next fault for `operation`, removed from its queue, or None."""
        if not self._queues:  # fast path: no faults queued at all
            return None
        with self._lock:
            queue = self._queues.get(operation)
            if not queue:
                return None
            fault = queue.popleft()
            if not queue:
                del self._queues[operation]
            return fault

    def pending(self) -> list[dict[str, Any]]:
        """Every queued fault in consumption order, as JSON-ready dicts."""
        with self._lock:
            return [f.wire() for q in self._queues.values() for f in q]

    def clear(self, operation: str | None = None) -> None:
        """Drop queued faults (all, or one operation's)."""
        with self._lock:
            if operation is None:
                self._queues.clear()
            else:
                self._queues.pop(operation, None)

    def __len__(self) -> int:
        with self._lock:
            return sum(len(q) for q in self._queues.values())
