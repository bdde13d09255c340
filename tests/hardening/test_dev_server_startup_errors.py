"""Guarantee: a dev server that cannot use its data dir says so in one line, and exits 2.

``methodic-fake serve`` is run for real against a data dir whose database is
corrupt (garbage bytes, and a valid SQLite file with a mangled record), whose path
is a file, and that is read-only (fresh and already used). Each time the process
exits with status 2 and prints exactly one line on stderr — no traceback — naming
the path at fault and what to do about it. Read-only is real: as root (who ignores
permission bits) the data dir sits on a tmpfs remounted read-only in a private
mount namespace (``unshare --mount``); otherwise its permission bits are cleared.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from devserver import run_to_exit, serve_argv

from methodic_fake import FakeChronicle


def _assert_one_line(result: subprocess.CompletedProcess[str], *words: str) -> str:
    assert result.returncode == 2, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert "Traceback" not in result.stderr
    assert line.startswith("methodic-fake: ")
    for word in words:
        assert word in line, (word, line)
    assert "--data-dir" in line, line  # the remedy
    return line


def _used_data_dir(data_dir: Path) -> None:
    with FakeChronicle.in_process(data_dir=data_dir) as fake:
        fake.client().experiments.create("was here")


def test_garbage_database(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    _used_data_dir(data_dir)
    for leftover in data_dir.glob("chronicle.sqlite3-*"):
        leftover.unlink()
    (data_dir / "chronicle.sqlite3").write_bytes(b"this is not a database\n" * 512)
    result = run_to_exit(serve_argv(data_dir))
    _assert_one_line(result, str(data_dir / "chronicle.sqlite3"), "move it aside")


def test_mangled_record(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    _used_data_dir(data_dir)
    with sqlite3.connect(data_dir / "chronicle.sqlite3") as db:
        db.execute("UPDATE records SET body = '{not json'")
    result = run_to_exit(serve_argv(data_dir))
    _assert_one_line(result, str(data_dir / "chronicle.sqlite3"), "move it aside")


def test_data_dir_is_a_file(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.write_text("a file, not a directory")
    result = run_to_exit(serve_argv(data_dir))
    _assert_one_line(result, str(data_dir))


def _unshare_available() -> bool:
    if shutil.which("unshare") is None or os.geteuid() != 0:
        return False
    probe = subprocess.run(["unshare", "--mount", "true"], capture_output=True)
    return probe.returncode == 0


@pytest.mark.parametrize("used", [False, True], ids=["fresh", "used-before"])
def test_read_only_data_dir(tmp_path: Path, used: bool) -> None:
    mount = tmp_path / "mnt"
    mount.mkdir()
    data_dir = mount / "data"
    if os.geteuid() != 0:
        if used:
            _used_data_dir(data_dir)
        else:
            data_dir.mkdir()
        data_dir.chmod(0o500)
        try:
            result = run_to_exit(serve_argv(data_dir))
        finally:
            data_dir.chmod(0o700)
    else:
        if not _unshare_available():
            pytest.skip("running as root without `unshare --mount`: no way to make a dir read-only")
        seed = tmp_path / "seed"
        if used:
            _used_data_dir(seed / "data")
        else:
            (seed / "data").mkdir(parents=True)
        script = (
            f"mount -t tmpfs -o size=16m tmpfs {mount} && cp -a {seed}/data {mount}/ && "
            f"mount -o remount,ro {mount} && exec {' '.join(serve_argv(data_dir))}"
        )
        result = run_to_exit(["unshare", "--mount", "--propagation", "private", "sh", "-c", script])
    _assert_one_line(result, str(data_dir))
