"""Which Chronicle the contract suite talks to, chosen by one switch.

``METHODIC_CASSETTES`` (pytest-recording's ``--record-mode`` names are accepted too):

* ``replay`` (default; ``none``): scenarios run from ``cassettes/`` with sockets
  blocked, and the conformance suite compares a fresh ``methodic_fake`` with them.
* ``record`` (``rewrite``/``all``): scenarios rewrite ``cassettes/`` against
  ``CHRONICLE_BASE_URL`` (principals from ``CHRONICLE_API_KEY`` and the optional
  ``CHRONICLE_WORKER_KEY``) or, with no URL set, against a freshly started fake.
* ``conformance`` (``live``): the conformance suite compares that same target
  with the committed cassettes without rewriting them.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import methodic
from methodic import Chronicle

from .compare import Difference, compare_cassettes
from .normalise import PLACEHOLDER_ORIGIN, RUN_TAG_PLACEHOLDER
from .recorder import CASSETTE_DIR, recording, replay
from .scenarios import Scenario, ScenarioContext

MODE_ENV = "METHODIC_CASSETTES"
# JWT-shaped (as an Auth0 access token is) but never issued, so it must get 401.
INVALID_TOKEN = (
    "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJtZXRob2RpYy1jb250cmFjdC11bmtub3duIn0.invalid"
)
REPLAY_TOKENS = {"researcher": "replay-researcher-token", "worker": "replay-worker-token"}


class Mode(Enum):
    REPLAY = "replay"
    RECORD = "record"
    CONFORMANCE = "conformance"


_ALIASES = {
    "": Mode.REPLAY,
    "replay": Mode.REPLAY,
    "none": Mode.REPLAY,
    "record": Mode.RECORD,
    "rewrite": Mode.RECORD,
    "all": Mode.RECORD,
    "conformance": Mode.CONFORMANCE,
    "live": Mode.CONFORMANCE,
}


def current_mode() -> Mode:
    raw = os.environ.get(MODE_ENV, "").strip().lower()
    try:
        return _ALIASES[raw]
    except KeyError:
        choices = ", ".join(sorted(k for k in _ALIASES if k))
        raise ValueError(f"{MODE_ENV}={raw!r}: expected one of {choices}") from None


class ReplayControls:
    """Fake switches during replay: no-ops, because the cassette holds their effect."""

    def advance(self, seconds: float) -> None:
        del seconds

    def set_search_configured(self, configured: bool) -> None:
        del configured


class FakeControls:
    """The fake's clock and search switch, for scenarios that declare ``controls=True``."""

    def __init__(self, fake: Any) -> None:
        self._fake = fake

    def advance(self, seconds: float) -> None:
        self._fake.advance(seconds=seconds)

    def set_search_configured(self, configured: bool) -> None:
        self._fake.search_configured = configured


@dataclass
class Target:
    """A Chronicle to run scenarios against, and the tokens of its principals."""

    kind: str  # "replay", "fake" or "live"
    base_url: str
    tokens: dict[str, str]  # role -> token
    controls: Any = None  # ReplayControls | FakeControls | None
    recorded_against: str = ""
    reset: Callable[[], None] = field(default=lambda: None)

    def roles(self) -> dict[str, str]:
        """token -> role, the form the cassette records instead of the token."""
        roles = {token: role for role, token in self.tokens.items()}
        roles[INVALID_TOKEN] = "invalid"
        return roles

    def skip_reason(self, scenario: Scenario) -> str | None:
        if scenario.needs_worker and "worker" not in self.tokens:
            return f"{scenario.name} needs a worker principal: set CHRONICLE_WORKER_KEY"
        if scenario.needs_controls and self.controls is None:
            return f"{scenario.name} needs the fake's clock or switches; a live server has none"
        return None


def replay_target() -> Target:
    return Target("replay", PLACEHOLDER_ORIGIN, dict(REPLAY_TOKENS), ReplayControls())


def fake_target(fake: Any) -> Target:
    tokens = {"researcher": fake.researcher_token, "worker": fake.worker_key}
    return Target(
        "fake",
        fake.base_url,
        tokens,
        FakeControls(fake),
        recorded_against=f"methodic_fake (methodic {methodic.__version__})",
        reset=fake.reset,
    )


def live_target() -> Target | None:
    """The server named by ``CHRONICLE_BASE_URL``, or ``None`` when unset."""
    base_url = os.environ.get("CHRONICLE_BASE_URL", "").strip()
    if not base_url:
        return None
    tokens = {"researcher": os.environ.get("CHRONICLE_API_KEY", "")}
    if not tokens["researcher"]:
        raise ValueError("CHRONICLE_BASE_URL is set but CHRONICLE_API_KEY is not")
    if worker := os.environ.get("CHRONICLE_WORKER_KEY", "").strip():
        tokens["worker"] = worker
    host = urlsplit(base_url).hostname or base_url
    return Target("live", base_url, tokens, None, recorded_against=f"Chronicle at {host}")


@contextmanager
def session(target: Target, run_tag: str) -> Iterator[tuple[Chronicle, ScenarioContext]]:
    """Clients for every principal of ``target``; closed afterwards."""
    with ExitStack() as stack:
        researcher = stack.enter_context(Chronicle(target.base_url, target.tokens["researcher"]))
        worker = None
        if "worker" in target.tokens:
            worker = stack.enter_context(Chronicle(target.base_url, target.tokens["worker"]))
        intruder = stack.enter_context(Chronicle(target.base_url, INVALID_TOKEN))
        yield researcher, ScenarioContext(worker, intruder, target.controls, run_tag)


def cassette_path(scenario: Scenario, directory: Path = CASSETTE_DIR) -> Path:
    return directory / f"{scenario.name}.yaml"


def record_scenario(scenario: Scenario, target: Target, path: Path) -> None:
    """Run ``scenario`` against ``target`` and write what happened to ``path``."""
    target.reset()
    # Letters that never occur in hex, so the tag can't collide with an id or a hash.
    run_tag = "".join(secrets.choice("ghjkmnpqrtvwxz") for _ in range(10))
    metadata = {
        "scenario": scenario.name,
        "covers": scenario.description,
        "recorded_against": target.recorded_against,
    }
    with (
        session(target, run_tag) as (chronicle, ctx),
        recording(
            path, origin=target.base_url, roles=target.roles(), run_tag=run_tag, metadata=metadata
        ),
    ):
        scenario.run(chronicle, ctx)


def replay_scenario(scenario: Scenario, path: Path) -> None:
    """Run ``scenario`` with every response served from ``path``, strictly in order."""
    target = replay_target()
    with session(target, RUN_TAG_PLACEHOLDER) as (chronicle, ctx):
        replay(path, target.roles(), lambda: scenario.run(chronicle, ctx))


def conformance_differences(
    scenario: Scenario, cassette: Path, target: Target, workdir: Path
) -> tuple[list[Difference], BaseException | None]:
    """Record ``scenario`` against ``target`` into ``workdir`` and compare with ``cassette``.

    A scenario that fails against the target still leaves its partial recording,
    so the differences explain the failure; the exception is returned alongside.
    """
    fresh = workdir / cassette.name
    error: BaseException | None = None
    try:
        record_scenario(scenario, target, fresh)
    except Exception as exc:
        error = exc
    label = "fake" if target.kind == "fake" else "server"
    return compare_cassettes(cassette, fresh, label=label), error
