"""The `methodic_fake` pytest fixture (registered through the `pytest11` entry point).

    def test_my_runner(methodic_fake):
        chronicle = Chronicle()              # env points at the fake, as a worker
        ...

One uvicorn server per test session (per xdist worker), reset before every test.
This module imports nothing heavy: FastAPI and uvicorn load only when a test
first asks for the fixture, so installs without the `fake` extra are unaffected.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from methodic_fake.harness import FakeChronicle


@pytest.fixture(scope="session")
def _methodic_fake_server() -> Iterator[FakeChronicle]:
    """The session's one fake server (started on first use, stopped at session end)."""
    try:
        from methodic_fake.harness import FakeChronicle
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise pytest.UsageError(
            "the methodic_fake fixture needs the fake extra: pip install 'methodic[fake]'"
        ) from exc
    fake = FakeChronicle.start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def methodic_fake(
    _methodic_fake_server: FakeChronicle, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FakeChronicle]:
    """A fresh fake Chronicle for this test.

    State, faults, clock and search setting are reset; `CHRONICLE_BASE_URL` and
    `CHRONICLE_API_KEY` (the worker key) point bare `Chronicle()` at it for the
    duration of the test, and `METHODIC_TRACKER_PATH` points the default upload
    journal at a fresh temporary file, so nothing is written under `$HOME`. Use
    `methodic_fake.client("researcher")` to set up data.
    """
    from methodic_fake.harness import SessionFakeView

    # A per-test view: a test cannot stop (or `with`-exit) the session's server.
    fake = SessionFakeView(_methodic_fake_server)
    fake.reset()
    journal = tmp_path_factory.mktemp("methodic-journal") / "uploads.sqlite3"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CHRONICLE_BASE_URL", fake.base_url)
        patch.setenv("CHRONICLE_API_KEY", fake.worker_key)
        patch.setenv("METHODIC_TRACKER_PATH", str(journal))
        try:
            yield fake
        finally:
            fake.close_clients()
