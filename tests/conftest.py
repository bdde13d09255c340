"""Suite-wide plumbing: the loopback guard and the end-of-run reports.

Every suite (SDK, fake, runner, contract, hardening) runs under the guard: tests may
open sockets to loopback only, so a test that accidentally reaches the internet fails
loudly instead of passing on a developer machine and hanging in CI.

Tests that exercise volume (fuzzed cases, kills survived, threads, processes) record
what they actually did with the ``figures`` fixture. The numbers are printed at the
end of the run (so ``make test`` and ``make fuzz`` show them) and, when
``METHODIC_FIGURES_OUT`` names a file, written there as JSON for docs/reliability.md.
The reports live here because under xdist only this conftest is loaded by the
controller, which is what prints them.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _is_loopback(address: Any) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    host = address[0]
    if host in ("localhost", "testserver"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guarded_connect(self: socket.socket, address: Any) -> None:
    if not _is_loopback(address):
        raise OSError(f"tests may only connect to loopback, not {address!r}")
    _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    if not _is_loopback(address):
        raise OSError(f"tests may only connect to loopback, not {address!r}")
    return _real_connect_ex(self, address)


@pytest.fixture(autouse=True, scope="session")
def _loopback_only() -> Iterator[None]:
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _real_connect_ex  # type: ignore[method-assign]


class Figures:
    """Thread-safe counters keyed by a short human-readable name."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.values: dict[str, Any] = {}
        self.counted: set[str] = set()  # names kept by add(): summed across xdist workers

    def add(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self.values[name] = self.values.get(name, 0) + amount
            self.counted.add(name)

    def set(self, name: str, value: Any) -> None:
        with self._lock:
            self.values[name] = value

    def merge(self, values: dict[str, Any], counted: list[str]) -> None:
        for name, value in values.items():
            if name in counted:
                self.add(name, value)
            else:
                self.set(name, value)


_FIGURES = Figures()


@pytest.fixture(scope="session")
def figures() -> Iterator[Figures]:
    yield _FIGURES


def pytest_sessionfinish(session: pytest.Session) -> None:
    # An xdist worker hands its figures to the controller, which prints them.
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput["hardening_figures"] = (_FIGURES.values, sorted(_FIGURES.counted))


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    values, counted = getattr(node, "workeroutput", {}).get("hardening_figures", ({}, []))
    _FIGURES.merge(values, counted)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for reason in sorted(_browser_skips(terminalreporter)):
        terminalreporter.write_line(f"NOTE: {reason}", yellow=True, bold=True)
    if not _FIGURES.values:
        return
    terminalreporter.section("hardening figures")
    for name in sorted(_FIGURES.values):
        terminalreporter.write_line(f"{name}: {_FIGURES.values[name]}")
    out = os.environ.get("METHODIC_FIGURES_OUT")
    if out:
        with open(out, "w", encoding="utf-8") as fh:
            json.dump(_FIGURES.values, fh, indent=2, sort_keys=True)


def _browser_skips(terminalreporter: Any) -> set[str]:
    # From the skip reports, which reach the controller under xdist too: make test
    # says plainly that no browser ran.
    return {
        str(report.longrepr[2]).removeprefix("Skipped: ")
        for report in terminalreporter.stats.get("skipped", [])
        if report.nodeid.startswith("tests/browser/") and isinstance(report.longrepr, tuple)
    }
