"""``chronicle.search``: full-text search over ready ``research_report`` and ``arxiv`` assets."""

from __future__ import annotations

from collections.abc import Sequence

from methodic.namespaces._base import Namespace
from methodic.types import SearchResponse

__all__ = ["Search"]


class Search(Namespace):
    """Search. A server without search configured answers 503 (``ServerError``).

    Chronicle indexes ready assets of two kinds and nothing else: ``research_report``
    (title and text) and ``arxiv`` (title and ``metadata.abstract``); a hit's ``type``
    is its asset's kind.

    For example:

        hits = chronicle.search.query("learning rate warmup", types=["arxiv"])
    """

    def query(
        self, q: str, *, types: Sequence[str] | str | None = None, limit: int | None = None
    ) -> SearchResponse:
        """Search; ``types`` narrows to hits of these kinds: ``research_report``, ``arxiv``."""
        joined = types if isinstance(types, str) or types is None else ",".join(types)
        data = self._transport.request(
            "GET", "/search", params={"q": q, "types": joined, "limit": limit}
        )
        return SearchResponse.from_dict(data)
