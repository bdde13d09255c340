"""`methodic assets ...`: list, show and download (streamed, sha256 checked)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from methodic import Chronicle, Run
from methodic.tracker import UploadTracker

from .conftest import CLI, World, fields_of


def _upload(worker: Chronicle, run_id: str, tmp_path: Path) -> tuple[str, dict[str, bytes]]:
    files = {"model.bin": bytes(range(256)) * 300, "config.json": b'{"lr": 0.1}'}
    src = tmp_path / "src"
    src.mkdir()
    for name, data in files.items():
        (src / name).write_bytes(data)
    with UploadTracker(tmp_path / "up.sqlite3") as tracker:
        run = Run(worker, run_id, tracker=tracker)
        asset = run.upload_asset("checkpoint", "step-3", {n: src / n for n in files})
    return asset.id, files


def test_list_and_show(cli: CLI, worker: Chronicle, world: World, tmp_path: Path) -> None:
    asset_id, files = _upload(worker, world.run_id, tmp_path)
    out = cli("assets", "list", "--run", world.run_id).ok().out
    rows = {line.split()[0]: line.split()[1:4] for line in out.splitlines()[1:]}
    assert rows == {
        world.asset_id: ["output", "metrics", "ready"],
        asset_id: ["checkpoint", "step-3", "ready"],
    }
    items = cli("--json", "assets", "list", "--kind", "checkpoint").ok().json()["items"]
    assert [a["id"] for a in items] == [asset_id]
    assert cli("assets", "list", "--experiment", world.parent_id).ok().out == "no assets\n"

    out = cli("assets", "show", asset_id).ok().out
    shown = fields_of(out)
    assert (shown["kind"], shown["name"], shown["state"]) == ("checkpoint", "step-3", "ready")
    assert shown["run"] == world.run_id
    assert shown["size"] == "75.0 KiB (76811 bytes)"
    sha = hashlib.sha256(files["model.bin"]).hexdigest()
    assert any(
        line.split()[:2] == ["model.bin", "76800"] and sha in line for line in out.splitlines()
    )
    data = cli("--json", "assets", "show", asset_id).ok().json()
    assert {c["name"]: c["sha256"] for c in data["components"]}["model.bin"] == sha


def test_download_writes_checked_files(
    cli: CLI, worker: Chronicle, world: World, tmp_path: Path
) -> None:
    asset_id, files = _upload(worker, world.run_id, tmp_path)
    dest = tmp_path / "dest"
    out = cli("assets", "download", asset_id, str(dest)).ok().out
    for name, data in files.items():
        assert (dest / name).read_bytes() == data
        assert f"{(dest / name).resolve()}  " in out
    assert out.count("sha256 verified") == 2
    assert out.splitlines()[-1] == f"downloaded asset {asset_id} (2 files)"

    again = cli("--json", "assets", "download", asset_id, str(tmp_path / "again")).ok().json()
    assert again["asset"]["id"] == asset_id
    assert {f["name"]: f["sha256"] for f in again["files"]} == {
        n: hashlib.sha256(d).hexdigest() for n, d in files.items()
    }


def test_download_of_a_pending_asset_is_a_conflict(
    cli: CLI, worker: Chronicle, world: World, tmp_path: Path
) -> None:
    pending = worker.assets.create(
        kind="checkpoint",
        name="never-finished",
        components=[{"name": "a.bin", "size": 3, "sha256": "0" * 64}],
        run_id=world.run_id,
    )
    line = cli("assets", "download", pending.asset.id, str(tmp_path / "d")).failed()
    assert line.startswith("conflict: ")
    assert not list((tmp_path / "d").glob("*"))
    missing = "00000000-0000-0000-0000-000000000000"
    assert cli("assets", "show", missing).failed() == f"not found: asset {missing} not found"
