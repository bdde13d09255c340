"""Guarantee: on a full disk the dev server refuses honestly, and its clock never runs backwards.

The disk fills for real: ``methodic-fake serve`` runs with its data dir on a 4 MiB
tmpfs mounted in a private mount namespace (``unshare --mount``, as root; skipped
with the reason otherwise), and the test fills that tmpfs to the last byte through
``/proc/<pid>/root``. Then:

- ``POST /_fake/clock/advance`` answers a 5xx whose detail says the move was not
  saved, and the clock has not moved (a move is applied only after it is saved);
- an inline asset answers 507 with a detail, creates no asset and leaves no file
  (not even an empty one) in ``blobs/.tmp``;
- once space is freed both work again, and after a SIGKILL and a restart on the
  same data dir the clock reads no earlier than any time the server ever
  reported (clock reads, record timestamps), with the last saved offset.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from devserver import CLI, DevServer, request

TMPFS_SIZE = "4m"


def _namespaces_available() -> str | None:
    """None if we can mount a tmpfs in a private mount namespace, else why not."""
    if os.geteuid() != 0:
        return "needs root to mount a tmpfs in a private mount namespace"
    for tool in ("unshare", "nsenter"):
        if shutil.which(tool) is None:
            return f"needs `{tool}` (util-linux)"
    probe = subprocess.run(
        [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
            "-c",
            "mount -t tmpfs -o size=64k tmpfs /mnt",
        ],
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        return f"`unshare --mount` + tmpfs refused here: {probe.stderr.strip()}"
    return None


class SmallDisk:
    """A tmpfs at `mount`, alive as long as a holder process keeps its namespace."""

    def __init__(self, mount: Path) -> None:
        self.mount = mount
        mount.mkdir()
        script = (
            f"mount -t tmpfs -o size={TMPFS_SIZE} tmpfs {mount} && echo ready && exec sleep 3600"
        )
        self.holder = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.holder.stdout is not None
        assert self.holder.stdout.readline().strip() == "ready"
        # The holder's view of the filesystem: our window into its namespace.
        self.view = Path(f"/proc/{self.holder.pid}/root") / mount.relative_to("/")
        self.filler = self.view / "filler"

    def serve_argv(self, data_dir: Path) -> list[str]:
        return [
            "nsenter",
            f"--mount=/proc/{self.holder.pid}/ns/mnt",
            "--",
            CLI,
            "serve",
            "--port",
            "0",
            "--data-dir",
            str(data_dir),
        ]

    def fill(self) -> int:
        """Write until the tmpfs refuses even one more byte; returns bytes written."""
        written = 0
        with open(self.filler, "ab", buffering=0) as fh:
            for chunk in (1 << 16, 1 << 12, 1 << 8, 1):
                while True:
                    try:
                        written += fh.write(b"\0" * chunk)
                    except OSError as exc:
                        assert exc.errno == errno.ENOSPC, exc
                        break
        return written

    def free(self) -> None:
        self.filler.unlink()

    def close(self) -> None:
        self.holder.kill()
        self.holder.wait()
        if self.holder.stdout is not None:
            self.holder.stdout.close()


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[SmallDisk]:
    reason = _namespaces_available()
    if reason is not None:
        pytest.skip(reason)
    disk = SmallDisk(tmp_path / "small")
    try:
        yield disk
    finally:
        disk.close()


def _stamp(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


class Seen:
    """The latest time the server ever reported, from any response."""

    def __init__(self) -> None:
        self.latest = datetime.min.replace(tzinfo=UTC)

    def note(self, body: Any) -> Any:
        if isinstance(body, dict):
            for key, value in body.items():
                if (key == "now" or key.endswith("_at")) and isinstance(value, str):
                    self.latest = max(self.latest, _stamp(value))
                else:
                    self.note(value)
        elif isinstance(body, list):
            for item in body:
                self.note(item)
        return body


def test_full_disk_changes_nothing_and_the_clock_survives(disk: SmallDisk, figures: Any) -> None:
    data_dir = disk.mount / "data"
    tmp_dir = disk.view / "data" / "blobs" / ".tmp"
    seen = Seen()
    dev = DevServer(disk.serve_argv(data_dir))
    base, token = dev.base_url, dev.token
    try:
        status, exp = request(f"{base}/experiments", "POST", {"title": "full disk"}, token)
        assert status == 201
        seen.note(exp)
        inline = {"kind": "notes", "name": "n", "experiment_id": exp["id"], "content": "x" * 9000}
        status, asset = request(f"{base}/assets", "POST", inline, token)
        assert status == 201, asset
        seen.note(asset)
        status, clock = request(f"{base}/_fake/clock/advance", "POST", {"seconds": 100})
        assert status == 200
        saved_offset = seen.note(clock)["offset_seconds"]

        filled = disk.fill()
        assert filled > 0

        refusals = 0
        for _ in range(5):
            status, body = request(f"{base}/_fake/clock/advance", "POST", {"seconds": 3600})
            status_now, clock = request(f"{base}/_fake/clock")
            assert status_now == 200, clock  # reading the clock needs no disk
            seen.note(clock)
            if status == 200:  # SQLite found room in pages it already had
                saved_offset = body["offset_seconds"]
                continue
            refusals += 1
            assert 500 <= status < 600, (status, body)
            assert "nothing changed" in body["detail"], body
            assert clock["offset_seconds"] == saved_offset, "the clock moved without being saved"
        assert refusals > 0, "the full disk never refused a clock move"

        status, body = request(f"{base}/assets", "POST", inline, token)
        assert status == 507, (status, body)
        assert "nothing was kept" in body["detail"], body
        assert list(tmp_dir.iterdir()) == [], "a failed write left a file behind"
        status, page = request(f"{base}/assets?experiment_id={exp['id']}", token=token)
        assert status == 200 and [a["id"] for a in page["items"]] == [asset["id"]]

        disk.free()
        status, clock = request(f"{base}/_fake/clock/advance", "POST", {"seconds": 60})
        assert status == 200, clock
        saved_offset = seen.note(clock)["offset_seconds"]
        status, again = request(f"{base}/assets", "POST", inline, token)
        assert status == 201, again
        seen.note(again)
    finally:
        dev.kill()

    dev = DevServer(disk.serve_argv(data_dir))
    try:
        status, clock = request(f"{dev.base_url}/_fake/clock")
        assert status == 200
        assert clock["offset_seconds"] == saved_offset
        assert _stamp(clock["now"]) >= seen.latest, "the clock ran backwards across a restart"
        status, got = request(f"{dev.base_url}/experiments/{exp['id']}", token=dev.token)
        assert status == 200 and got["title"] == "full disk"
    finally:
        assert dev.stop() == 0, dev.stderr
    figures.set("full disk (tmpfs): clock moves refused without moving", refusals)
