"""The cassette suite: each scenario replayed offline from its cassette.

Like pytest-recording, the same test records instead when the switch says so:
``METHODIC_CASSETTES=record`` (``make cassettes``) rewrites ``cassettes/`` against
``CHRONICLE_BASE_URL`` or a fresh fake.
"""

from __future__ import annotations

import socket

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


def test_replay_opens_no_socket_at_all(no_sockets: None) -> None:
    with pytest.raises(OSError, match="every response must come from a cassette"):
        socket.create_connection(("127.0.0.1", 9), timeout=0.1)
    with pytest.raises(OSError):
        socket.getaddrinfo("chronicle.test", 80)
