"""Re-recording is churn-free: two recordings against fresh fakes are byte-identical.

Random ids, timestamps, ports, signatures, run tags and id-ordered lists all differ
between the two runs; the normaliser must hide every one of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .scenarios import SCENARIOS
from .targets import fake_target, record_scenario

# The scenarios with the most ids, cursors, presigned URLs and server-ordered lists.
CHURN_PRONE = [
    "experiments_lineage",
    "experiments_pagination",
    "assets_presigned_upload",
    "search_results",
]


@pytest.mark.parametrize("name", CHURN_PRONE)
def test_two_recordings_are_identical(name: str, fake_server: Any, tmp_path: Path) -> None:
    first, second = tmp_path / "first.yaml", tmp_path / "second.yaml"
    record_scenario(SCENARIOS[name], fake_target(fake_server), first)
    record_scenario(SCENARIOS[name], fake_target(fake_server), second)
    assert first.read_text() == second.read_text()
