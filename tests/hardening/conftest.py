"""Shared plumbing for the hardening suite: a recorder for the figures each test measures.

Tests that exercise volume (fuzzed cases, kills survived, threads, processes) record
what they actually did with the ``figures`` fixture. The numbers are printed at the
end of the run (so ``make test`` and ``make fuzz`` show them) and, when
``METHODIC_FIGURES_OUT`` names a file, written there as JSON for docs/reliability.md.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest


class Figures:
    """Thread-safe counters keyed by a short human-readable name."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.values: dict[str, Any] = {}

    def add(self, name: str, amount: int = 1) -> None:
        with self._lock:
            self.values[name] = self.values.get(name, 0) + amount

    def set(self, name: str, value: Any) -> None:
        with self._lock:
            self.values[name] = value


_FIGURES = Figures()


@pytest.fixture(scope="session")
def figures() -> Iterator[Figures]:
    yield _FIGURES


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _FIGURES.values:
        return
    terminalreporter.section("hardening figures")
    for name in sorted(_FIGURES.values):
        terminalreporter.write_line(f"{name}: {_FIGURES.values[name]}")
    out = os.environ.get("METHODIC_FIGURES_OUT")
    if out:
        with open(out, "w", encoding="utf-8") as fh:
            json.dump(_FIGURES.values, fh, indent=2, sort_keys=True)
