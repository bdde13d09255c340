"""The domain layer on its own: no web framework, injectable clock, no shared state."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from methodic_fake.auth import Principal
from methodic_fake.backend import Backend
from methodic_fake.clock import Clock
from methodic_fake.errors import Conflict, Forbidden
from methodic_fake.machines import MACHINES, apply


class ManualClock:
    def __init__(self, now: float) -> None:
        self.value = now

    def now(self) -> float:
        return self.value


@pytest.fixture
def make_backend() -> Iterator[Callable[..., Backend]]:
    """Backend.ephemeral, closed (temp dir removed) after the test."""
    made: list[Backend] = []

    def make(**options: Any) -> Backend:
        made.append(Backend.ephemeral(**options))
        return made[-1]

    yield make
    for backend in made:
        backend.close()


RESEARCHER = Principal("researcher", "researcher:test")
WORKER = Principal("worker", "worker:test")


def test_domain_modules_import_no_web_framework() -> None:
    code = (
        "import sys, methodic_fake.backend;"
        "print(','.join(m for m in ('fastapi', 'starlette', 'pydantic', 'uvicorn') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_backend_runs_on_an_injected_clock(make_backend: Callable[..., Backend]) -> None:
    source = ManualClock(1_000_000.0)
    backend = make_backend(clock=Clock(source=source))
    exp = backend.experiments.create(RESEARCHER, title="t")
    assert exp["created_at"] == "1970-01-12T13:46:40.000000Z"
    backend.experiments.commit(RESEARCHER, exp["id"])
    variation = backend.variations.create(RESEARCHER, exp["id"], config_json={"a": 1})
    run = backend.runs.create(RESEARCHER, variation["id"])
    backend.runs.start(run["id"])
    source.value += 900.0
    assert backend.runs.get(run["id"])["state"] == "running"
    source.value += 0.5
    reaped = backend.runs.get(run["id"])
    assert reaped["state"] == "failed"
    assert reaped["finished_at"] == "1970-01-12T14:01:40.000000Z"


def test_two_backends_share_nothing(make_backend: Callable[..., Backend]) -> None:
    first, second = make_backend(), make_backend()
    first.experiments.create(RESEARCHER, title="only here")
    assert second.experiments.list()["items"] == []
    assert first.signer.secret != second.signer.secret
    assert first.blobs.root != second.blobs.root


def test_permissions_live_in_the_domain(make_backend: Callable[..., Backend]) -> None:
    backend = make_backend()
    with pytest.raises(Forbidden):
        backend.experiments.create(WORKER, title="t")


def test_transition_tables_name_the_current_state() -> None:
    assert apply("asset", "finalize", "a", "pending") == "ready"
    with pytest.raises(Conflict, match="it is ready"):
        apply("asset", "get upload URLs for", "a", "ready")
    # Every action in every machine has at least one legal source state.
    assert all(t.sources for machine in MACHINES.values() for t in machine.values())


def test_sweep_fails_overdue_runs_without_a_reader(make_backend: Callable[..., Backend]) -> None:
    source = ManualClock(0.0)
    backend = make_backend(clock=Clock(source=source))
    exp = backend.experiments.create(RESEARCHER, title="t")
    backend.experiments.commit(RESEARCHER, exp["id"])
    variation = backend.variations.create(RESEARCHER, exp["id"], config_yaml="a: 1")
    run = backend.runs.create(RESEARCHER, variation["id"])
    backend.runs.start(run["id"])
    source.value = 10_000.0
    assert backend.sweep() == 1
    assert backend.registry.runs[run["id"]].state == "failed"


def test_fail_accepts_only_the_failure_reasons_a_client_may_send(
    make_backend: Callable[..., Backend],
) -> None:
    from methodic_fake.errors import Unprocessable

    backend = make_backend()
    exp = backend.experiments.create(RESEARCHER, title="t")
    backend.experiments.commit(RESEARCHER, exp["id"])
    variation = backend.variations.create(RESEARCHER, exp["id"], config_json={"a": 1})
    run = backend.runs.create(RESEARCHER, variation["id"])
    # heartbeat_timeout belongs to the watchdog; the domain, not only the HTTP
    # schema, refuses it (and anything else) from callers.
    for reason in ("heartbeat_timeout", "oops"):
        with pytest.raises(Unprocessable, match="abandoned, crash"):
            backend.runs.fail(run["id"], reason=reason)
    assert backend.runs.get(run["id"])["state"] == "pending"
    assert backend.runs.fail(run["id"], reason="crash")["failure_reason"] == "crash"
