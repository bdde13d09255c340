"""What every namespace shares: the transport, and fetching paginated lists."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypeVar

from methodic.transport import Transport
from methodic.types import Model, Page, _paged

__all__ = ["Namespace", "Order"]

_M = TypeVar("_M", bound=Model)

Order = Literal["desc", "asc"]
"""A list's order: ``"desc"`` newest first (Chronicle's default), ``"asc"`` oldest first."""


class Namespace:
    """A group of endpoints. Takes only the transport, so it holds no other state."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    def _list(
        self,
        path: str,
        params: Mapping[str, Any],
        item_type: type[_M],
        cursor: str | None,
    ) -> Page[_M]:
        """GET the page of ``path`` at ``cursor``; the page fetches its successors lazily."""

        def fetch(at: str | None) -> Page[_M]:
            data = self._transport.request("GET", path, params={**params, "cursor": at})
            return Page.from_dict(data, item_type)

        return _paged(fetch, cursor)
