"""Run the fake's app under uvicorn on a pre-bound loopback socket, in a thread.

Binding the socket ourselves (port 0 by default) means the port is known before
uvicorn starts and two servers can never race for the same fixed port; waiting
for uvicorn's `started` flag with a timeout means a broken start raises a clear
error instead of hanging a test session.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import signal
import socket
import threading
import time
from collections.abc import Generator
from types import FrameType
from typing import Any

import uvicorn

from methodic_fake.middleware import is_injected

DEFAULT_STARTUP_TIMEOUT = 10.0


class _DropInjectedAborts(logging.Filter):
    """Injected connection resets are deliberate: keep them out of the error log."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not is_injected(exc)


_abort_filter = _DropInjectedAborts()


def quiet_injected_aborts() -> None:
    """Install the log filter on uvicorn's error logger (idempotent)."""
    logger = logging.getLogger("uvicorn.error")
    if _abort_filter not in logger.filters:
        logger.addFilter(_abort_filter)


def bind_socket(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening TCP socket; port 0 lets the OS pick a free one."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted sockets inherit TCP_NODELAY from the listener. Without it uvicorn's
    # separate header and body writes meet Nagle + delayed ACK: ~40 ms per request.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if family == socket.AF_INET6:
        # Dual-stack whatever the OS default: `::` then takes IPv4 clients too, and an
        # IPv4-mapped address (::ffff:127.0.0.1) can be bound at all.
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def base_url_of(sock: socket.socket) -> str:
    """A URL a local client can use: loopback for a wildcard bind, IPv4 for a mapped one."""
    host, port = sock.getsockname()[:2]
    address = ipaddress.ip_address(host.split("%", 1)[0])
    if address.is_unspecified:
        host = "::1" if address.version == 6 else "127.0.0.1"
    elif isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        host = str(address.ipv4_mapped)
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{port}"


class ManagedServer(uvicorn.Server):
    """uvicorn's server, stopping on SIGINT/SIGTERM and then returning normally.

    Stock uvicorn re-raises the captured signal after shutdown, which kills the
    process before the caller can close its database; the dev server wants a
    graceful stop and exit status 0 instead. A second signal forces the exit.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def request_exit(sig: int, frame: FrameType | None) -> None:
            if self.should_exit:
                self.force_exit = True
            self.should_exit = True

        handled = (signal.SIGINT, signal.SIGTERM)
        originals = {sig: signal.signal(sig, request_exit) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in originals.items():
                signal.signal(sig, handler)


def make_server(app: Any, sock: socket.socket, **config: Any) -> uvicorn.Server:
    quiet_injected_aborts()
    options: dict[str, Any] = {
        "log_config": None,  # never reconfigure the host process's logging
        "log_level": "warning",
        "access_log": False,
        "lifespan": "off",
        "timeout_graceful_shutdown": 5,
        "date_header": False,  # the app sends Date from the fake's clock (app.FakeApp)
    }
    options.update(config)
    host, port = sock.getsockname()[:2]
    return ManagedServer(uvicorn.Config(app, host=host, port=port, **options))


class ServerThread:
    """uvicorn serving `app` from a daemon thread."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0) -> None:
        self._sock = bind_socket(host, port)
        self.base_url = base_url_of(self._sock)
        self._server = make_server(app, self._sock)
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._run, name=f"methodic-fake {self.base_url}", daemon=True
        )

    def _run(self) -> None:
        try:
            self._server.run(sockets=[self._sock])
        except BaseException as exc:  # surfaced by start()
            self._error = exc

    def start(self, timeout: float = DEFAULT_STARTUP_TIMEOUT) -> None:
        """Start serving; raise RuntimeError if uvicorn is not up within `timeout` seconds."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                self._sock.close()
                raise RuntimeError(
                    f"methodic-fake server at {self.base_url} exited during startup"
                ) from self._error
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"methodic-fake server at {self.base_url} did not start within {timeout} s"
                )
            time.sleep(0.001)

    def stop(self, timeout: float = 10.0) -> None:
        """Ask uvicorn to exit and wait for the thread."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._sock.close()
