"""The vcrpy this project requires intercepts httpx2 (issue 19: the vcrpy floor).

vcrpy before 8.2.0 patches only httpx: an httpx2 request goes straight past a
cassette to the live server, so a downstream runner's recorded test silently
stops testing what it recorded. pyproject.toml requires vcrpy >= 8.2.0, the first
release that patches httpx2's transports; this pins the behaviour that floor is for,
against the fake over a real socket.
"""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import httpx2
import pytest
import vcr
from vcr.errors import CannotOverwriteExistingCassetteException

from methodic import Chronicle
from methodic_fake import FakeChronicle


def test_the_installed_vcrpy_is_at_least_the_floor() -> None:
    major, minor = (int(part) for part in version("vcrpy").split(".")[:2])
    assert (major, minor) >= (8, 2)


def test_a_cassette_stands_between_httpx2_and_the_server(
    methodic_fake: FakeChronicle, tmp_path: Path
) -> None:
    cassette = str(tmp_path / "runs.yaml")
    recorder = vcr.VCR(filter_headers=["authorization"])
    with recorder.use_cassette(cassette, record_mode="all") as recorded, Chronicle() as chronicle:
        assert chronicle.runs.list().items == []
    assert len(recorded) == 1
    assert methodic_fake.worker_key not in Path(cassette).read_text()
    # Replayed from the cassette: the fake would answer 503 now, were it asked.
    methodic_fake.faults.add("runs.list", "status", status=503)
    with recorder.use_cassette(cassette, record_mode="none") as replayed, Chronicle() as chronicle:
        assert chronicle.runs.list().items == []
    assert replayed.play_count == 1
    # A request the cassette does not hold is refused, not sent live.
    with (
        recorder.use_cassette(cassette, record_mode="none"),
        pytest.raises(CannotOverwriteExistingCassetteException),
    ):
        httpx2.get(methodic_fake.base_url + "/experiments")
    assert [f["operation"] for f in methodic_fake.faults.pending()] == ["runs.list"]
