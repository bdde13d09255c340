"""Fixtures for the contract suite: the mode switch, socket policy, and the fake."""

from __future__ import annotations

import _socket
import datetime as dt
import re
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from .recorder import CASSETTE_DIR
from .targets import Mode, Target, current_mode, fake_target, live_target

README = CASSETTE_DIR / "README.md"
_RECORDED_BLOCK = re.compile(r"(<!-- recorded:begin -->\n).*?(<!-- recorded:end -->)", re.DOTALL)


@pytest.fixture(scope="session")
def contract_mode() -> Mode:
    return current_mode()


@pytest.fixture
def no_sockets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Replay must be hermetic: not even loopback or DNS is allowed."""

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise OSError("contract replay opened a socket; every response must come from a cassette")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture(scope="session")
def fake_server() -> Iterator[Any]:
    """One fake for the session; each scenario resets it, so each starts fresh."""
    from methodic_fake import FakeChronicle

    with FakeChronicle.start() as fake:
        yield fake


@pytest.fixture(scope="session")
def live_server() -> Target | None:
    return live_target()


@pytest.fixture
def target(
    request: pytest.FixtureRequest, live_server: Target | None, monkeypatch: pytest.MonkeyPatch
) -> Target:
    """What record/conformance runs against: ``CHRONICLE_BASE_URL``, else a fresh fake.

    A live server is the one deliberate exception to the suite's loopback-only
    guard, and only when someone set ``CHRONICLE_BASE_URL`` and chose
    ``record``/``conformance``; plain ``make test`` never reaches it.
    """
    if live_server is not None and current_mode() is not Mode.REPLAY:
        monkeypatch.setattr(socket.socket, "connect", _socket.socket.connect)
        monkeypatch.setattr(socket.socket, "connect_ex", _socket.socket.connect_ex)
        return live_server
    return fake_target(request.getfixturevalue("fake_server"))


@pytest.fixture(scope="session", autouse=True)
def _note_recording(contract_mode: Mode, live_server: Target | None) -> Iterator[None]:
    """After a record run, say in cassettes/README.md what was recorded against, and when."""
    yield
    if contract_mode is not Mode.RECORD or not README.is_file():
        return
    against = (
        live_server.recorded_against
        if live_server is not None
        else "a fresh methodic_fake (`make cassettes` with no CHRONICLE_BASE_URL)"
    )
    line = f"Last recorded on {dt.date.today().isoformat()} against {against}.\n"
    text = README.read_text(encoding="utf-8")
    README.write_text(_RECORDED_BLOCK.sub(lambda m: m.group(1) + line + m.group(2), text))
