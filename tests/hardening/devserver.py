"""``methodic-fake serve`` as a real subprocess, for the hardening tests that need one.

Any command line (extra arguments such as ``--host``, or a prefix such as
``nsenter`` into a private mount namespace); the banner is awaited with a timeout
so a server hung at startup fails the test instead of hanging it, and stderr is
kept for asserting on errors.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

STARTUP_TIMEOUT = 30.0
CLI = str(Path(sys.executable).with_name("methodic-fake"))
# Never through a proxy: these tests talk to loopback only.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def serve_argv(data_dir: Path, *extra: str) -> list[str]:
    return [CLI, "serve", "--port", "0", "--data-dir", str(data_dir), *extra]


class DevServer:
    """One ``methodic-fake serve`` process and what its banner told us."""

    def __init__(self, argv: Sequence[str], env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            list(argv),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self._lines: queue.Queue[str] = queue.Queue()
        self._stderr: list[str] = []
        out, err = self.proc.stdout, self.proc.stderr
        assert out is not None and err is not None
        self._readers = [
            threading.Thread(target=lambda: [self._lines.put(x) for x in out], daemon=True),
            threading.Thread(target=lambda: [self._stderr.append(x) for x in err], daemon=True),
        ]
        for reader in self._readers:
            reader.start()
        banner = self._read_banner()
        self.base_url = re.search(r"serving at (http://\S+)", banner).group(1)  # type: ignore[union-attr]
        self.token = re.search(r"researcher token:\s*(\S+)", banner).group(1)  # type: ignore[union-attr]
        self.port = int(self.base_url.rsplit(":", 1)[1])

    def _read_banner(self) -> str:
        # Reader threads feed the lines to a queue so the wait has a timeout (select()
        # can't see lines already sitting in the pipe reader's buffer).
        seen: list[str] = []
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            seen.append(line)
            if "worker key" in line:
                return "".join(seen)
        self.stop()
        raise AssertionError(
            f"dev server printed no banner in time: {''.join(seen)}{''.join(self._stderr)}"
        )

    @property
    def stderr(self) -> str:
        return "".join(self._stderr)

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs."""
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        assert self.proc.returncode == -signal.SIGKILL
        self._join()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._join()
        return self.proc.returncode

    def _join(self) -> None:
        for reader in self._readers:
            reader.join(timeout=5)
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                pipe.close()


def request(
    url: str,
    method: str = "GET",
    body: Any = None,
    token: str | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> tuple[int, Any]:
    """(status, decoded JSON body or None) for one HTTP request, errors included."""
    data = json.dumps(body).encode() if body is not None else None
    all_headers = dict(headers or {})
    if data is not None:
        all_headers["content-type"] = "application/json"
    if token:
        all_headers["authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=data, method=method, headers=all_headers)
    try:
        with _OPENER.open(req, timeout=timeout) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        return exc.code, json.loads(raw) if raw else None


def run_to_exit(
    argv: Sequence[str], timeout: float = STARTUP_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """Run a command that should exit by itself (a startup failure)."""
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout)
