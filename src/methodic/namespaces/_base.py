"""What every namespace shares: the transport, and walking paginated lists."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

from methodic.errors import ChronicleError
from methodic.transport import Transport
from methodic.types import Page

__all__ = ["Namespace"]

T = TypeVar("T")


class Namespace:
    """A group of endpoints. Takes only the transport, so it holds no other state."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    @staticmethod
    def _walk(fetch: Callable[[str | None], Page[T]]) -> Iterator[T]:
        """Yield every item across pages, calling ``fetch(cursor)`` lazily per page.

        A cursor the server already handed out ends the walk with ``ChronicleError``
        instead of looping forever over the same pages.
        """
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            page = fetch(cursor)
            yield from page.items
            if not page.next_cursor:
                return
            cursor = page.next_cursor
            if cursor in seen:
                raise ChronicleError(f"the server returned a repeated cursor {cursor!r}")
            seen.add(cursor)
