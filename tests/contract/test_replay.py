"""The cassette suite: each scenario replayed offline from its cassette.

Like pytest-recording, the same test records instead when the switch says so:
``METHODIC_CASSETTES=record`` (``make cassettes``) rewrites ``cassettes/`` against
``CHRONICLE_BASE_URL`` or a fresh fake.
"""

from __future__ import annotations

import pytest

from .scenarios import SCENARIOS
from .targets import Mode, cassette_path, record_scenario, replay_scenario


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_cassette(name: str, contract_mode: Mode, request: pytest.FixtureRequest) -> None:
    scenario = SCENARIOS[name]
    path = cassette_path(scenario)
    if contract_mode is Mode.RECORD:
        target = request.getfixturevalue("target")
        if reason := target.skip_reason(scenario):
            pytest.skip(reason)
        record_scenario(scenario, target, path)
        return
    request.getfixturevalue("no_sockets")
    replay_scenario(scenario, path)
