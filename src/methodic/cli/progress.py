"""A byte progress bar on stderr for downloads and resumed uploads.

tqdm draws it when installed (it stays an optional dependency); otherwise a small
built-in bar does. Nothing is drawn unless the stream is a terminal, so logs, pipes
and ``--json`` consumers see no control characters.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable
from typing import TextIO

from methodic.cli.output import human_bytes

__all__ = ["TextBar", "progress_bar"]

ProgressCallback = Callable[[int, int], None]


def progress_bar(desc: str, stream: TextIO) -> ProgressCallback | None:
    """A ``callback(done, total)`` drawing on ``stream``, or None when it is not a terminal."""
    if not stream.isatty():
        return None
    if importlib.util.find_spec("tqdm") is not None:
        from methodic.uploads import tqdm_progress

        return tqdm_progress(desc, file=stream, leave=True)
    return TextBar(desc, stream)


class TextBar:
    """``desc [#####.....]  42%  1.2 MiB / 3.0 MiB``, redrawn in place; a newline at the end."""

    WIDTH = 24

    def __init__(self, desc: str, stream: TextIO) -> None:
        self.desc = desc
        self.stream = stream
        self._lock = threading.Lock()  # uploads report from worker threads
        self._last = -1

    def __call__(self, done: int, total: int) -> None:
        with self._lock:
            percent = 100 if total <= 0 else min(100, done * 100 // total)
            if percent == self._last:
                return
            self._last = percent
            filled = self.WIDTH * percent // 100
            bar = "#" * filled + "." * (self.WIDTH - filled)
            self.stream.write(
                f"\r{self.desc} [{bar}] {percent:3d}%  {human_bytes(done)} / {human_bytes(total)}"
            )
            if percent >= 100:
                self.stream.write("\n")
            self.stream.flush()
