"""`methodic-fake serve` as a reader starts it: a real process on a free port with its
own data dir, persistent across the page runs that use it."""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
from pathlib import Path
from types import TracebackType

STARTUP_TIMEOUT = 30.0


class DevServer:
    """One dev server; `base_url` and `keys` (by role) once its banner is out."""

    def __init__(self, data_dir: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "methodic_fake", "serve", "--port", "0", "--data-dir", data_dir],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.lines: list[str] = []
        ready: queue.Queue[None] = queue.Queue()
        out = self.proc.stdout
        assert out is not None

        def read() -> None:
            for line in out:
                self.lines.append(line)
                if line.startswith("Press Ctrl+C"):
                    ready.put(None)

        self._reader = threading.Thread(target=read, daemon=True)
        self._reader.start()
        try:
            ready.get(timeout=STARTUP_TIMEOUT)
        except queue.Empty:
            self.stop()
            raise RuntimeError(f"methodic-fake serve printed no banner:\n{self.output}") from None
        self.base_url = re.search(r"serving at (\S+)", self.output).group(1)  # type: ignore[union-attr]

        from methodic_fake import FakeChronicle

        with FakeChronicle.connect(self.base_url) as fake:
            self.keys = fake.keys

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(timeout=5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def __enter__(self) -> DevServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
