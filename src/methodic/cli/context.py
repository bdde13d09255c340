"""What every command handler receives: parsed options and a lazily built client."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from methodic import Chronicle

__all__ = ["CommandError", "Context"]


class CommandError(Exception):
    """A failure the CLI itself detects (no such journal entry, unreadable file).

    ``kind`` starts the one stderr line, as an error class's name does for SDK errors.
    """

    def __init__(self, message: str, *, kind: str = "error", exit_code: int = 1) -> None:
        super().__init__(message)
        self.kind = kind
        self.exit_code = exit_code


class Context:
    """Options shared by every command, and the ``Chronicle`` built on first use.

    Commands that only read the local upload journal never build a client, so they
    work without credentials.
    """

    def __init__(self, args: argparse.Namespace) -> None:
        self.as_json: bool = getattr(args, "json", False)
        self.debug: bool = getattr(args, "debug", False)
        self._base_url: str | None = getattr(args, "base_url", None)
        self._api_key: str | None = getattr(args, "api_key", None)

    @cached_property
    def chronicle(self) -> Chronicle:
        """The client: ``--base-url`` / ``--api-key``, else the environment variables."""
        from methodic import Chronicle

        return Chronicle(self._base_url, self._api_key, user_agent=_user_agent())

    def server_now(self) -> datetime:
        """Now on Chronicle's clock, for every age and countdown a command prints.

        Read from the ``Date`` header of the last response (so call it after the
        request whose timestamps it measures): the server wrote those timestamps by
        its clock, which need not agree with this machine's (a skewed laptop, a fake
        whose clock was advanced). This machine's clock only if no ``Date`` came.
        """
        seconds = self.chronicle.transport.server_time()
        return datetime.fromtimestamp(seconds, UTC) if seconds is not None else datetime.now(UTC)

    def close(self) -> None:
        """Close the client if one was built."""
        client = self.__dict__.get("chronicle")
        if client is not None:
            client.close()


def _user_agent() -> str:
    from methodic import __version__

    return f"methodic-cli/{__version__}"
