"""The run lifecycle through the Run handle, against the real fake."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from methodic import Chronicle, ConflictError, Run
from methodic.tracker import UploadTracker, default_tracker_path

from .conftest import sha256_file

if TYPE_CHECKING:
    from methodic_fake.harness import FakeChronicle


def test_config_start_heartbeat_upload_succeed(
    worker: Chronicle,
    researcher: Chronicle,
    run_id: str,
    tracker: UploadTracker,
    files: dict[str, Path],
) -> None:
    run = Run(worker, run_id, tracker=tracker)

    config = run.get_variation_config()
    assert config.run_id == run_id and config.config_json == {"lr": 0.1, "steps": 3}

    assert run.start() is run
    assert run.state == "running"
    assert run.environment is not None and "python" in run.environment

    for step in range(3):
        run.heartbeat(progress={"step": step})
    assert run.progress == {"step": 2}

    asset = run.upload_asset("output", "weights", files, metadata={"step": 3})
    assert asset.state == "ready" and asset.run_id == run_id
    assert asset.metadata == {"step": 3}
    assert {c.name: c.sha256 for c in asset.components} == {
        n: sha256_file(p) for n, p in files.items()
    }

    report = run.upload_inline("environment", "pip-freeze", "httpx2==0.28.1\n")
    assert report.state == "ready"
    snapshot = run.upload_inline("environment", "snapshot", {"cuda": None})
    assert snapshot.components[0].content_type == "application/json"

    assert run.succeed() is run
    assert run.state == "succeeded"
    assert researcher.runs.get(run_id).state == "succeeded"
    assert tracker.incomplete() == []
    assert sorted(a.name for a in researcher.assets.list(run_id=run_id)) == [
        "pip-freeze",
        "snapshot",
        "weights",
    ]


def test_fail_reports_the_reason(worker: Chronicle, run_id: str) -> None:
    run = Run(worker, run_id).start()

    run.fail(reason="abandoned", message="cancelled by the agent")

    assert run.state == "failed"
    assert run.failure_reason == "abandoned"
    assert run.failure_message == "cancelled by the agent"
    with pytest.raises(ConflictError):
        run.succeed()


def test_a_run_without_a_tracker_uses_the_default_cache_file(
    worker: Chronicle, run_id: str, files: dict[str, Path]
) -> None:
    run = Run(worker, run_id).start()

    run.upload_asset("output", "weights", files)

    assert run.tracker.path == default_tracker_path()
    assert default_tracker_path().exists()
    assert run.tracker.incomplete() == []


def test_upload_progress_accepts_a_callback(
    worker: Chronicle, run_id: str, tracker: UploadTracker, files: dict[str, Path]
) -> None:
    run = Run(worker, run_id, tracker=tracker).start()
    seen: list[tuple[int, int]] = []

    run.upload_asset("output", "weights", files, progress=lambda d, t: seen.append((d, t)))

    total = sum(p.stat().st_size for p in files.values())
    assert seen[-1] == (total, total)


def test_progress_must_be_callable_or_tqdm(
    worker: Chronicle, run_id: str, tracker: UploadTracker, files: dict[str, Path]
) -> None:
    run = Run(worker, run_id, tracker=tracker).start()
    with pytest.raises(ValueError, match="progress"):
        run.upload_asset("output", "weights", files, progress="bar")  # type: ignore[arg-type]


def test_tqdm_progress_by_name(
    worker: Chronicle,
    run_id: str,
    tracker: UploadTracker,
    files: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    run = Run(worker, run_id, tracker=tracker).start()

    run.upload_asset("output", "weights", files, progress="tqdm")

    assert "weights" in capsys.readouterr().err


def test_inline_json_content_round_trips(
    worker: Chronicle, researcher: Chronicle, run_id: str, fake: FakeChronicle
) -> None:
    run = Run(worker, run_id).start()
    asset = run.upload_inline("environment", "env", {"gpus": 8})

    urls = researcher.assets.download_urls(asset.id)
    with researcher.transport.storage_stream("GET", urls["content"]) as response:
        assert json.loads(response.read()) == {"gpus": 8}


@pytest.mark.parametrize("files", [["a.bin"], "a.bin", ("a.bin",), {"a.bin"}])
@pytest.mark.parametrize("method", ["upload_asset", "register_and_upload_async"])
def test_files_must_be_a_mapping_of_component_names_to_paths(
    worker: Chronicle, run_id: str, tracker: UploadTracker, files: object, method: str
) -> None:
    run = Run(worker, run_id, tracker=tracker).start()

    with pytest.raises(TypeError, match="files must be a mapping of component name to path"):
        getattr(run, method)("checkpoint", "ckpt", files)

    assert tracker.incomplete() == []  # refused before anything was journaled


def test_component_names_must_be_strings(
    worker: Chronicle, run_id: str, tracker: UploadTracker, tmp_path: Path
) -> None:
    (tmp_path / "a.bin").write_bytes(b"a")
    run = Run(worker, run_id, tracker=tracker).start()
    with pytest.raises(TypeError, match="component names"):
        run.upload_asset("output", "x", {Path("a.bin"): tmp_path / "a.bin"})  # type: ignore[dict-item]
