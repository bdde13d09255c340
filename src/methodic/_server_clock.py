"""The server's clock, as its ``Date`` headers tell it.

Ages and deadlines of server timestamps ("heartbeat 12s ago", "the watchdog fails the
run in 14m48s") must be measured on the clock that wrote them: the laptop's clock may
be minutes off a real server's, and a fake's clock moves when a test advances it.
Every Chronicle response carries a ``Date`` header (RFC 9110, whole seconds); this
keeps the last one and extrapolates with the local monotonic clock.
"""

from __future__ import annotations

import time
from datetime import UTC
from email.utils import parsedate_to_datetime

__all__ = ["ServerClock"]


class ServerClock:
    """What the server's clock reads now, from the last ``Date`` header observed.

    >>> clock = ServerClock()
    >>> clock.now() is None
    True
    >>> clock.observe("Thu, 03 Dec 2026 10:38:59 GMT")
    >>> 1796294339 <= clock.now() < 1796294341
    True
    """

    def __init__(self) -> None:
        # (server time in Unix seconds, local monotonic time it was observed at);
        # replaced whole, so a reader in another thread never sees half an update.
        self._seen: tuple[float, float] | None = None

    def observe(self, date: str | None) -> None:
        """Note a response's ``Date`` header (ignored when missing or unreadable)."""
        if not date:
            return
        try:
            when = parsedate_to_datetime(date)
        except (TypeError, ValueError, IndexError):
            return
        if when.tzinfo is None:  # asctime dates and "-0000" carry no zone: HTTP's is GMT
            when = when.replace(tzinfo=UTC)
        # The header is truncated to the second: the middle of that second is the
        # best estimate, off by half a second at most.
        self._seen = (when.timestamp() + 0.5, time.monotonic())

    def now(self) -> float | None:
        """The server's current time in Unix seconds, or None before any ``Date``."""
        seen = self._seen
        if seen is None:
            return None
        server, observed_at = seen
        return server + (time.monotonic() - observed_at)
