"""The dev server (`methodic-fake serve`) keeps acknowledged state across SIGKILL."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2
import pytest

from methodic import Chronicle

STARTUP_TIMEOUT = 20.0


@contextmanager
def dev_server(
    data_dir: Path, *extra: str, env: dict[str, str] | None = None
) -> Iterator[tuple[subprocess.Popen[str], str, dict[str, str]]]:
    """Run `python -m methodic_fake serve --port 0` and parse the banner it prints."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "methodic_fake",
            "serve",
            "--port",
            "0",
            "--data-dir",
            str(data_dir),
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
    )
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not any(line.startswith("Press Ctrl+C") for line in lines):
            line = proc.stdout.readline()
            if not line:
                raise AssertionError("dev server exited early:\n" + "".join(lines))
            lines.append(line)
            if time.monotonic() > deadline:
                raise AssertionError("dev server did not print its banner:\n" + "".join(lines))
        text = "".join(lines)
        base_url = re.search(r"serving at (\S+)", text).group(1)  # type: ignore[union-attr]
        keys = {
            role: re.search(rf"{label}:\s+(\S+)", text).group(1)  # type: ignore[union-attr]
            for role, label in (
                ("researcher", "researcher token"),
                ("agent", "agent key"),
                ("worker", "worker key"),
            )
        }
        _wait_until_listening(base_url)
        yield proc, base_url, keys
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


def _wait_until_listening(base_url: str) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        try:
            httpx2.get(base_url + "/_fake/clock", timeout=1)
            return
        except httpx2.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_state_survives_sigkill_and_restart(tmp_path: Path) -> None:
    data = b"checkpoint bytes" * 100
    with dev_server(tmp_path) as (proc, base_url, keys):
        with Chronicle(base_url=base_url, api_key=keys["researcher"]) as researcher:
            exp = researcher.experiments.create("persisted", tags=["keep"])
            researcher.experiments.commit(exp.id)
            variation = researcher.variations.create(exp.id, config_yaml="lr: 0.1")
            run = researcher.runs.create(variation.id, idempotency_key="run-key")
        with Chronicle(base_url=base_url, api_key=keys["worker"]) as worker:
            worker.runs.start(run.id)
            created = worker.assets.create(
                kind="checkpoint",
                name="step-1",
                run_id=run.id,
                components=[
                    {"name": "model", "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
                ],
            )
            worker.transport.storage_request("PUT", created.upload_urls["model"], content=data)
            worker.assets.finalize(created.asset.id)
            report = worker.assets.create_inline(
                kind="research_report",
                name="notes",
                run_id=run.id,
                content="gradient clipping helps",
            )
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    with dev_server(tmp_path) as (_, base_url, keys_after):
        assert keys_after == keys  # the same tokens keep working
        with Chronicle(base_url=base_url, api_key=keys["researcher"]) as researcher:
            assert researcher.experiments.get(exp.id).state == "committed"
            assert researcher.variations.get(variation.id).config_json == {"lr": 0.1}
            assert researcher.runs.get(run.id).state == "running"
            # Idempotency records persisted too: the retried create is the same run.
            assert researcher.runs.create(variation.id, idempotency_key="run-key").id == run.id
            asset = researcher.assets.get(created.asset.id)
            assert asset.state == "ready"
            url = researcher.assets.download_urls(asset.id)["model"]
            assert researcher.transport.storage_request("GET", url).content == data
            # The search index is rebuilt from persisted assets.
            hits = researcher.search.query("clipping")
            assert [h.asset_id for h in hits.results] == [report.id]


def test_no_search_flag_and_clean_sigterm(tmp_path: Path) -> None:
    with dev_server(tmp_path, "--no-search") as (proc, base_url, keys):
        response = httpx2.get(
            base_url + "/search",
            params={"q": "x"},
            headers={"Authorization": f"Bearer {keys['agent']}"},
        )
        assert response.status_code == 503
        assert response.json() == {"detail": "search is not configured"}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
        assert proc.stdout is not None
        assert "methodic-fake: stopped" in proc.stdout.read()


def test_persistent_harness_round_trip_and_reset(tmp_path: Path) -> None:
    """The same persistence, in-process: reopen sees data; reset forgets data and clock."""
    from methodic_fake import FakeChronicle

    with FakeChronicle.in_process(data_dir=tmp_path) as fake:
        exp = fake.client().experiments.create("kept")
        fake.client().assets.create_inline(
            kind="output", name="o", content="x", experiment_id=exp.id
        )
        fake.advance(hours=2)
        keys = fake.keys
    with FakeChronicle.in_process(data_dir=tmp_path) as fake:
        assert fake.keys == keys
        assert fake.client().experiments.get(exp.id).title == "kept"
        assert fake.clock.offset == 7200
        fake.reset()
        assert not any((tmp_path / "blobs").rglob("content"))
    with FakeChronicle.in_process(data_dir=tmp_path) as fake:
        assert fake.client().experiments.list().items == []
        assert fake.clock.offset == 0


def test_keys_can_be_fixed_from_the_environment(tmp_path: Path) -> None:
    from methodic_fake.auth import mint_api_key

    worker = mint_api_key("worker")
    with dev_server(tmp_path, env={"METHODIC_FAKE_WORKER_KEY": worker}) as (_, base_url, keys):
        assert keys["worker"] == worker
        with Chronicle(base_url=base_url, api_key=worker) as chronicle:
            assert chronicle.experiments.list().items == []
    # A restart with the same variable keeps the roles it does not fix, too.
    with dev_server(tmp_path, env={"METHODIC_FAKE_WORKER_KEY": worker}) as (_, _, again):
        assert again == keys


def test_a_data_dir_serves_one_fake_at_a_time(tmp_path: Path) -> None:
    """Two servers on one data dir would overwrite each other's rows: the second must not start."""
    from methodic_fake import FakeChronicle
    from methodic_fake.persistence import DataDirLocked

    with FakeChronicle.in_process(data_dir=tmp_path) as first:
        first.client().experiments.create("first")
        with pytest.raises(DataDirLocked, match=re.escape(str(tmp_path))):
            FakeChronicle.in_process(data_dir=tmp_path)
    # Released when the first one stops.
    with FakeChronicle.in_process(data_dir=tmp_path) as again:
        assert [e.title for e in again.client().experiments.list()] == ["first"]


def test_the_dev_server_refuses_a_locked_data_dir(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from methodic_fake.backend import Backend
    from methodic_fake.cli import main

    holder = Backend.persistent(tmp_path)
    try:
        assert main(["serve", "--port", "0", "--data-dir", str(tmp_path)]) == 1
    finally:
        holder.close()
    err = capsys.readouterr().err
    assert "in use" in err and str(tmp_path) in err


def test_a_failed_commit_is_a_5xx_and_nothing_staged_is_lost(tmp_path: Path) -> None:
    """If SQLite refuses a commit the client hears 5xx, and the change is written later."""
    import sqlite3

    from methodic_fake import FakeChronicle

    with FakeChronicle.in_process(data_dir=tmp_path) as fake:
        db = fake.backend.store._db  # type: ignore[attr-defined]

        def deny_writes(action: int, *args: object) -> int:
            return sqlite3.SQLITE_DENY if action == sqlite3.SQLITE_INSERT else sqlite3.SQLITE_OK

        db.set_authorizer(deny_writes)
        http = fake.http()
        response = http.post("/experiments", json={"title": "unacknowledged"})
        assert response.status_code >= 500
        assert "persist" in response.json()["detail"]
        db.set_authorizer(None)
        assert http.post("/experiments", json={"title": "acknowledged"}).status_code == 201
    with FakeChronicle.in_process(data_dir=tmp_path) as reopened:
        titles = sorted(e.title for e in reopened.client().experiments.list())
    # The refused rows were kept staged and written with the next commit.
    assert titles == ["acknowledged", "unacknowledged"]


def test_keys_fixed_for_some_roles_keep_the_others_across_restarts(tmp_path: Path) -> None:
    """Fixing only the worker key must not re-mint the researcher and agent tokens each start."""
    from methodic_fake.auth import mint_api_key
    from methodic_fake.backend import Backend

    worker = mint_api_key("worker")
    first = Backend.persistent(tmp_path, keys={"worker": worker})
    keys_one = first.keys.keys
    first.close()
    second = Backend.persistent(tmp_path, keys={"worker": worker})
    keys_two = second.keys.keys
    second.close()
    assert keys_one == keys_two and keys_two["worker"] == worker
    # A newly fixed key replaces just its role; a start with nothing fixed keeps it all.
    agent = mint_api_key("agent")
    third = Backend.persistent(tmp_path, keys={"agent": agent})
    assert third.keys.keys == {**keys_two, "agent": agent}
    third.close()
    fourth = Backend.persistent(tmp_path)
    assert fourth.keys.keys == {**keys_two, "agent": agent}
    fourth.close()


def test_harness_with_partly_fixed_keys_keeps_the_others(tmp_path: Path) -> None:
    from methodic_fake import FakeChronicle
    from methodic_fake.auth import mint_api_key

    worker = mint_api_key("worker")
    with FakeChronicle.in_process(data_dir=tmp_path, keys={"worker": worker}) as fake:
        before = fake.keys
    with FakeChronicle.in_process(data_dir=tmp_path, keys={"worker": worker}) as fake:
        assert fake.keys == before


def test_an_unusable_saved_clock_offset_starts_at_real_time(tmp_path: Path) -> None:
    from methodic_fake.backend import Backend

    first = Backend.persistent(tmp_path)
    first.store.set_meta("clock_offset", "inf")  # what an unbounded advance once saved
    first.close()
    second = Backend.persistent(tmp_path)
    try:
        assert second.clock.offset == 0
        assert second.store.get_meta("clock_offset_us") == "0"
    finally:
        second.close()
