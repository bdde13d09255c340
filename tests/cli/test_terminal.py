"""On a terminal: `runs watch` rewrites one line in place, downloads draw a progress bar.

Each test gives the command a pseudo-terminal for the stream that matters, so the
decision "is this a terminal?" is exercised for real.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

from methodic import Chronicle, Run
from methodic.tracker import UploadTracker
from methodic_fake.harness import FakeChronicle

from .conftest import World, cli_env


def _terminal() -> tuple[int, int]:
    """A pseudo-terminal sized 100x24 (a fresh one is 0x0, which tqdm draws as nothing)."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    return leader, follower


def _read_until_exit(fd: int, proc: subprocess.Popen[str], timeout: float = 30) -> str:
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                data = os.read(fd, 65536)
            except OSError:  # EIO: the other side is closed
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    return b"".join(chunks).decode()


def test_watch_on_a_terminal_rewrites_one_line(
    fake: FakeChronicle, worker: Chronicle, world: World, tmp_path: Path
) -> None:
    leader, follower = _terminal()
    proc = subprocess.Popen(
        [sys.executable, "-m", "methodic", "runs", "watch", world.run_id, "--interval", "0.1"],
        env=cli_env(fake, tmp_path, None),
        stdout=follower,
        stderr=subprocess.PIPE,
        text=True,
    )
    os.close(follower)
    try:
        first = os.read(leader, 4096).decode()  # blocks until the first status is drawn
        assert first.startswith("\r\x1b[K") and "running  heartbeat" in first
        worker.runs.succeed(world.run_id)
        out = first + _read_until_exit(leader, proc)
    finally:
        os.close(leader)
    assert proc.wait(timeout=30) == 0
    assert "\n" not in out.split("succeeded")[0]  # one line, redrawn, until the end
    assert out.rstrip().endswith(f"run {world.run_id} succeeded")


def test_download_draws_a_progress_bar_on_a_terminal(
    fake: FakeChronicle, worker: Chronicle, world: World, tmp_path: Path
) -> None:
    src = tmp_path / "model.bin"
    src.write_bytes(os.urandom(200_000))
    with UploadTracker(tmp_path / "up.sqlite3") as tracker:
        asset = Run(worker, world.run_id, tracker=tracker).upload_asset(
            "checkpoint", "step-9", {"model.bin": src}
        )
    leader, follower = _terminal()
    proc = subprocess.Popen(
        [sys.executable, "-m", "methodic", "assets", "download", asset.id, str(tmp_path / "d")],
        env=cli_env(fake, tmp_path, None),
        stdout=subprocess.PIPE,
        stderr=follower,
        text=True,
    )
    os.close(follower)
    try:
        bar = _read_until_exit(leader, proc)
    finally:
        os.close(leader)
    assert proc.wait(timeout=30) == 0
    assert "checkpoint/step-9" in bar and "100%" in bar
    assert (tmp_path / "d" / "model.bin").read_bytes() == src.read_bytes()
