"""The fake's clock: real time plus an offset that tests move forward.

Every time-dependent decision in the fake (the heartbeat watchdog, presigned URL
expiry, timestamps on records) reads this clock, so `advance()` moves all of them
together and a test can step past the 15-minute watchdog instantly.
"""

from __future__ import annotations

import math
import threading
import time
from datetime import UTC, datetime
from typing import Protocol

# The largest single step (10 years) and the largest total offset (100 years):
# far beyond any test's needs, and far from where timestamps stop rendering
# (year 9999) or floats stop resolving microseconds.
MAX_ADVANCE = 10 * 365.25 * 86400
MAX_OFFSET = 100 * 365.25 * 86400


def check_offset(offset: float) -> float:
    """`offset` if it is a finite, non-negative offset within MAX_OFFSET; else ValueError."""
    if not math.isfinite(offset) or not 0 <= offset <= MAX_OFFSET:
        raise ValueError(f"clock offset must be between 0 and {MAX_OFFSET:.0f} seconds")
    return offset


class ClockLike(Protocol):
    """What the domain needs from a clock: the current time in Unix seconds."""

    def now(self) -> float: ...


class Clock:
    """Wall-clock time shifted by an offset that only ever grows.

    >>> clock = Clock()
    >>> clock.advance(seconds=900)  # the watchdog now sees 15 minutes more
    """

    def __init__(self, offset: float = 0.0, *, source: ClockLike | None = None) -> None:
        self._offset = check_offset(offset)
        self._lock = threading.Lock()
        self._source = source
        self._frozen_at: float | None = None  # source time when frozen

    @property
    def offset(self) -> float:
        """Seconds added to the source time."""
        return self._offset

    @property
    def frozen(self) -> bool:
        """True between `freeze()` and `unfreeze()` / `reset()`."""
        return self._frozen_at is not None

    def _source_now(self) -> float:
        return self._source.now() if self._source is not None else time.time()

    def now(self) -> float:
        """Current fake time in Unix seconds."""
        frozen_at = self._frozen_at
        base = frozen_at if frozen_at is not None else self._source_now()
        return base + self._offset

    def freeze(self) -> None:
        """Stop real time: `now()` changes only through `advance()` (exact boundaries)."""
        with self._lock:
            if self._frozen_at is None:
                self._frozen_at = self._source_now()

    def unfreeze(self) -> None:
        """Let real time run again (the clock jumps by however long it stood still)."""
        with self._lock:
            self._frozen_at = None

    def advance(self, seconds: float) -> None:
        """Move the clock forward by at most MAX_ADVANCE; never backward (ValueError)."""
        if not math.isfinite(seconds):
            raise ValueError("the fake's clock moves by a finite number of seconds")
        if seconds < 0:
            raise ValueError("the fake's clock only moves forward")
        if seconds > MAX_ADVANCE:
            raise ValueError(f"advance by at most {MAX_ADVANCE:.0f} seconds (10 years) at a time")
        with self._lock:
            self._offset = check_offset(self._offset + seconds)

    def reset(self) -> None:
        """Back to real, running time: no offset, not frozen (used between tests)."""
        with self._lock:
            self._offset = 0.0
            self._frozen_at = None


def isoformat(ts: float | None) -> str | None:
    """Unix seconds -> RFC 3339 UTC with microseconds and a `Z`, as on the wire."""
    if ts is None:
        return None
    dt = datetime.fromtimestamp(ts, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
