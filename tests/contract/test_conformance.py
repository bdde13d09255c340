"""Fake conformance: a fresh run of each scenario must have its cassette's shape.

Against the default target (a fresh ``methodic_fake``) this pins the fake to the
cassettes; with ``METHODIC_CASSETTES=conformance CHRONICLE_BASE_URL=...`` it checks
a live server against them without rewriting anything.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .compare import report
from .scenarios import SCENARIOS
from .targets import Mode, Target, cassette_path, conformance_differences


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_fresh_run_matches_cassette(
    name: str, contract_mode: Mode, target: Target, tmp_path: Path
) -> None:
    if contract_mode is Mode.RECORD:
        pytest.skip("cassettes are being rewritten; run `make test` to compare afterwards")
    scenario = SCENARIOS[name]
    if reason := target.skip_reason(scenario):
        pytest.skip(reason)
    differences, error = conformance_differences(
        scenario, cassette_path(scenario), target, tmp_path
    )
    if differences:
        pytest.fail(f"{target.kind} differs from the cassette:\n{report(differences)}")
    if error is not None:
        raise error
