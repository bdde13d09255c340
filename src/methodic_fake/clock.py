"""The fake's clock: real time plus an offset that tests move forward.

Every time-dependent decision in the fake (the heartbeat watchdog, presigned URL
expiry, timestamps on records) reads this clock, so `advance()` moves all of them
together and a test can step past the 15-minute watchdog instantly.

Time is kept as integer microseconds since the Unix epoch (the resolution of the
wire's timestamps). Float seconds cannot hold it exactly: near the 100-year cap
a float step is about a microsecond, and `(t + o) + 900` need not equal
`t + (o + 900)`, so "at exactly 900 s still running" would depend on the offset.
Seconds (floats) remain the unit of the public API (`advance`, `now`, `offset`).
"""

from __future__ import annotations

import math
import threading
import time
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Protocol

US_PER_SECOND = 1_000_000
# The largest single step (10 years) and the largest total offset (100 years):
# far beyond any test's needs, and far from where timestamps stop rendering
# (year 9999).
MAX_ADVANCE = 10 * 365.25 * 86400
MAX_OFFSET = 100 * 365.25 * 86400
MAX_ADVANCE_US = int(MAX_ADVANCE) * US_PER_SECOND
MAX_OFFSET_US = int(MAX_OFFSET) * US_PER_SECOND
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_us(seconds: float) -> int:
    """Seconds -> the nearest whole microsecond, exactly (ValueError if not finite)."""
    if not math.isfinite(seconds):
        raise ValueError("the fake's clock moves by a finite number of seconds")
    return round(Fraction(seconds) * US_PER_SECOND)


def check_offset(offset: float) -> float:
    """`offset` if it is a finite, non-negative offset within MAX_OFFSET; else ValueError."""
    check_offset_us(to_us(offset) if math.isfinite(offset) else -1)
    return offset


def check_offset_us(offset_us: int) -> int:
    """`offset_us` if it is within 0..MAX_OFFSET_US; else ValueError."""
    if not 0 <= offset_us <= MAX_OFFSET_US:
        raise ValueError(f"clock offset must be between 0 and {MAX_OFFSET:.0f} seconds")
    return offset_us


class ClockLike(Protocol):
    """A time source: the current time in Unix seconds (`time.time()`'s contract)."""

    def now(self) -> float: ...


class Clock:
    """Wall-clock time shifted by an offset that only ever grows.

    >>> clock = Clock()
    >>> clock.advance(seconds=900)  # the watchdog now sees 15 minutes more
    """

    def __init__(self, offset: float = 0.0, *, source: ClockLike | None = None) -> None:
        self._offset_us = check_offset_us(to_us(check_offset(offset)))
        self._lock = threading.Lock()
        self._source = source
        self._frozen_at: int | None = None  # source time (µs) when frozen

    @classmethod
    def at_offset_us(cls, offset_us: int, *, source: ClockLike | None = None) -> Clock:
        """A clock `offset_us` microseconds ahead of its source (how it is persisted)."""
        clock = cls(source=source)
        clock._offset_us = check_offset_us(offset_us)
        return clock

    @property
    def offset(self) -> float:
        """Seconds added to the source time."""
        return self._offset_us / US_PER_SECOND

    @property
    def offset_us(self) -> int:
        """Microseconds added to the source time (exact)."""
        return self._offset_us

    @property
    def frozen(self) -> bool:
        """True between `freeze()` and `unfreeze()` / `reset()`."""
        return self._frozen_at is not None

    def _source_now_us(self) -> int:
        if self._source is not None:
            return to_us(self._source.now())
        return time.time_ns() // 1000

    def now_us(self) -> int:
        """Current fake time in integer microseconds since the Unix epoch."""
        frozen_at = self._frozen_at
        base = frozen_at if frozen_at is not None else self._source_now_us()
        return base + self._offset_us

    def now(self) -> float:
        """Current fake time in Unix seconds (for display; decisions use `now_us`)."""
        return self.now_us() / US_PER_SECOND

    def freeze(self) -> None:
        """Stop real time: `now()` changes only through `advance()` (exact boundaries)."""
        with self._lock:
            if self._frozen_at is None:
                self._frozen_at = self._source_now_us()

    def unfreeze(self) -> None:
        """Let real time run again (the clock jumps by however long it stood still)."""
        with self._lock:
            self._frozen_at = None

    def offset_after(self, seconds: float) -> int:
        """The offset (µs) `advance(seconds)` would set; ValueError if it may not move so."""
        if not math.isfinite(seconds):
            raise ValueError("the fake's clock moves by a finite number of seconds")
        if seconds < 0:
            raise ValueError("the fake's clock only moves forward")
        if seconds > MAX_ADVANCE:
            raise ValueError(f"advance by at most {MAX_ADVANCE:.0f} seconds (10 years) at a time")
        return check_offset_us(self._offset_us + to_us(seconds))

    def set_offset_us(self, offset_us: int) -> None:
        """Move to `offset_us` (from `offset_after`); never backward (ValueError)."""
        with self._lock:
            if offset_us < self._offset_us:
                raise ValueError("the fake's clock only moves forward")
            self._offset_us = check_offset_us(offset_us)

    def advance(self, seconds: float) -> None:
        """Move the clock forward by at most MAX_ADVANCE; never backward (ValueError)."""
        with self._lock:
            self._offset_us = self.offset_after(seconds)

    def reset(self) -> None:
        """Back to real, running time: no offset, not frozen (used between tests)."""
        with self._lock:
            self._offset_us = 0
            self._frozen_at = None


def isoformat(ts_us: int | None) -> str | None:
    """Microseconds since the epoch -> RFC 3339 UTC with microseconds and a `Z`, as on the wire."""
    if ts_us is None:
        return None
    dt = _EPOCH + timedelta(microseconds=ts_us)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
