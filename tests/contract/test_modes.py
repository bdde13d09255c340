"""The one switch: METHODIC_CASSETTES, with pytest-recording's mode names as synonyms."""

from __future__ import annotations

import pytest

from .scenarios import SCENARIOS
from .targets import MODE_ENV, Mode, current_mode, live_target, replay_target


@pytest.mark.parametrize(
    ("raw", "mode"),
    [
        ("", Mode.REPLAY),
        ("none", Mode.REPLAY),
        ("Record", Mode.RECORD),
        ("rewrite", Mode.RECORD),
        ("conformance", Mode.CONFORMANCE),
    ],
)
def test_mode_names(raw: str, mode: Mode, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MODE_ENV, raw)
    assert current_mode() is mode


def test_unknown_mode_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MODE_ENV, "once")
    with pytest.raises(ValueError, match="expected one of"):
        current_mode()


def test_live_target_reads_principals_and_skips_fake_only_scenarios(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CHRONICLE_BASE_URL", "https://chronicle.example.com/api")
    monkeypatch.setenv("CHRONICLE_API_KEY", "researcher-token")
    monkeypatch.delenv("CHRONICLE_WORKER_KEY", raising=False)
    target = live_target()
    assert target is not None and target.recorded_against == "Chronicle at chronicle.example.com"
    assert target.skip_reason(SCENARIOS["experiments_lifecycle"]) is None
    assert "CHRONICLE_WORKER_KEY" in (target.skip_reason(SCENARIOS["runs_lifecycle"]) or "")
    monkeypatch.setenv("CHRONICLE_WORKER_KEY", "worker-key")
    with_worker = live_target()
    assert with_worker is not None
    assert with_worker.skip_reason(SCENARIOS["runs_lifecycle"]) is None
    assert "clock or switches" in str(with_worker.skip_reason(SCENARIOS["runs_watchdog"]))


def test_replay_target_runs_every_scenario() -> None:
    target = replay_target()
    assert [name for name, s in SCENARIOS.items() if target.skip_reason(s)] == []
