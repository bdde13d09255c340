"""A whole-call deadline for Chronicle calls: ``timeout=0.5`` means 0.5 s, first byte to last.

httpx2's timeouts bound each socket operation, so a server dripping a byte every
0.2 s holds a call with a 0.5 s timeout forever. ``Deadline`` is the time a call must
end by. The transport checks it as response bytes arrive; on a client the SDK
created, ``bound_sockets`` also makes every connect, read and write on the call's
thread wait no longer than the time left, so even a server dripping its status
line cannot hold the call past the deadline.

Storage transfers get no deadline (a 40 GiB part legitimately takes minutes): their
timeout stays httpx2's per-operation one, a stall timeout.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["Deadline", "bound_sockets", "deadline_scope"]

_local = threading.local()
# A socket wait that would end past the deadline still waits this long, so it ends
# in a timeout rather than a busy loop; the caller then raises for the deadline.
_MIN_WAIT = 0.001


class Deadline:
    """The monotonic instant a call of ``seconds`` started now must end by."""

    __slots__ = ("at", "seconds")

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def remaining(self) -> float:
        """Seconds left (negative once passed)."""
        return self.at - time.monotonic()

    @property
    def passed(self) -> bool:
        return self.remaining() <= 0


@contextmanager
def deadline_scope(deadline: Deadline | None) -> Iterator[None]:
    """Make ``deadline`` the one this thread's sockets honour until the block ends."""
    previous = getattr(_local, "deadline", None)
    _local.deadline = deadline
    try:
        yield
    finally:
        _local.deadline = previous


def _clamp(timeout: float | None) -> float | None:
    deadline: Deadline | None = getattr(_local, "deadline", None)
    if deadline is None:
        return timeout
    left = max(deadline.remaining(), _MIN_WAIT)
    return left if timeout is None else min(timeout, left)


class _Stream:
    """An httpcore2 network stream whose every wait ends by the thread's deadline."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        data: bytes = self._stream.read(max_bytes, _clamp(timeout))
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _clamp(timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> _Stream:
        return _Stream(self._stream.start_tls(ssl_context, server_hostname, _clamp(timeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _Backend:
    """An httpcore2 network backend that hands out deadline-honouring streams."""

    def __init__(self, backend: Any) -> None:
        self._backend = backend

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> _Stream:
        stream = self._backend.connect_tcp(
            host, port, _clamp(timeout), local_address, socket_options
        )
        return _Stream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> _Stream:
        return _Stream(self._backend.connect_unix_socket(path, _clamp(timeout), socket_options))

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


def bound_sockets(client: Any) -> bool:
    """Make the sockets of ``client`` (an ``httpx2.Client`` the SDK created) honour
    the calling thread's deadline; ``False`` where its transports don't allow it.

    httpx2 has no public hook for a network backend, so this reaches the connection
    pools of its transports (the default one and any proxy mounts) before they open
    a connection. tests/hardening/test_hostile_responses.py fails if a release of
    httpx2 moves them.
    """
    transports = [getattr(client, "_transport", None), *getattr(client, "_mounts", {}).values()]
    bound = False
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if backend is not None and not isinstance(backend, _Backend):
            pool._network_backend = _Backend(backend)  # type: ignore[union-attr]
            bound = True
    return bound
