"""Threads methodic starts leave the process's signals to its main thread.

Python runs signal handlers on the main thread only, but the kernel hands a signal sent
to the process (a scheduler's SIGTERM, Ctrl-C's SIGINT) to any thread that does not
block it. Taken by a methodic thread, it only marks the handler as due: a main thread
sleeping, or waiting for its uploads in ``succeed()``, is not woken, and learns of the
SIGTERM when the wait ends — after a scheduler's grace period, on a loaded machine.
So every thread methodic starts (heartbeater, upload and download workers) calls
``leave_signals_to_main_thread`` first, and the kernel must pick a thread that acts.
"""

from __future__ import annotations

import signal

__all__ = ["leave_signals_to_main_thread"]

# Raised by a thread's own execution (a fault, abort(), a write to a closed pipe or
# past the file size limit): blocked, they would hide or defer that thread's error.
_SYNCHRONOUS = (
    "SIGABRT",
    "SIGBUS",
    "SIGFPE",
    "SIGILL",
    "SIGPIPE",
    "SIGSEGV",
    "SIGSYS",
    "SIGTRAP",
    "SIGXFSZ",
)


def leave_signals_to_main_thread() -> None:
    """Block, in the calling thread, every signal that is not its own doing.

    A no-op where threads have no signal masks (Windows).
    """
    if not hasattr(signal, "pthread_sigmask"):
        return
    own = {getattr(signal, name) for name in _SYNCHRONOUS if hasattr(signal, name)}
    signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals() - own)
