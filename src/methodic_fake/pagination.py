"""Cursor pagination over records ordered by creation: newest first unless asked.

A cursor marks the last record of a page by its sequence number (not an offset),
so pages stay stable when records are created while a client walks a list: walking
newest first, a record created meanwhile sorts before the cursor and never shifts a
page; walking oldest first, it appears at the end. It is
opaque and verifiable: an HMAC, keyed by the fake's secret, binds the position to
the list that issued it (resource and filters) and to the fake's current data
generation, which `reset()` renews. Anything else is `400 invalid cursor`: a
forged or edited cursor, one from another list or another fake, or one from
before a reset.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Iterable
from typing import Any, Literal, TypeVar

from methodic_fake.errors import BadRequest
from methodic_fake.models import Record

R = TypeVar("R", bound=Record)

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
Order = Literal["desc", "asc"]
DEFAULT_ORDER: Order = "desc"  # newest first, as people expect from a list (docs/api.md)
_MAC_HEX = 32  # 128 bits of HMAC-SHA256: plenty for a test double
_PAYLOAD = re.compile(r"(0|[1-9][0-9]{0,17})\.([0-9a-f]{" + str(_MAC_HEX) + "})")


class CursorCodec:
    """Mints and checks cursors for one fake.

    >>> codec = CursorCodec(b"secret", "gen-1")
    >>> codec.decode(("experiments",), codec.encode(("experiments",), 7))
    7
    """

    def __init__(self, secret: bytes, generation: str) -> None:
        # A key of its own, so a cursor MAC can never double as a URL signature.
        self._key = hmac.new(secret, b"methodic-fake cursors", hashlib.sha256).digest()
        self.generation = generation

    def _mac(self, list_id: tuple[Any, ...], seq: int) -> str:
        message = json.dumps([self.generation, list(list_id), seq]).encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:_MAC_HEX]

    def encode(self, list_id: tuple[Any, ...], seq: int) -> str:
        payload = f"{seq}.{self._mac(list_id, seq)}"
        return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")

    def decode(self, list_id: tuple[Any, ...], cursor: str) -> int:
        """The sequence number behind a cursor this list issued; 400 for anything else."""
        try:
            padded = cursor + "=" * (-len(cursor) % 4)
            raw = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
        except (ValueError, binascii.Error, UnicodeError):
            raise BadRequest("invalid cursor") from None
        match = _PAYLOAD.fullmatch(raw)
        if match is None:
            raise BadRequest("invalid cursor")
        seq = int(match.group(1))
        if not hmac.compare_digest(match.group(2), self._mac(list_id, seq)):
            raise BadRequest("invalid cursor")
        return seq

    def page(
        self,
        list_id: tuple[Any, ...],
        records: Iterable[R],
        limit: int | None,
        cursor: str | None,
        order: Order = DEFAULT_ORDER,
    ) -> dict[str, Any]:
        """One page as the wire object `{"items": [...], "next_cursor": ...}`.

        `list_id` names the list (resource and filters); the order is part of it, so a
        cursor of a newest-first walk is refused by an oldest-first one. The routes
        bound `limit` and `order`.
        """
        size = DEFAULT_LIMIT if limit is None else limit
        newest_first = order == "desc"
        list_id = (*list_id, order)
        after = self.decode(list_id, cursor) if cursor else None
        ordered = sorted(records, key=lambda r: r.seq, reverse=newest_first)
        page: list[R] = []
        more = False
        for record in ordered:
            if after is not None and (record.seq >= after if newest_first else record.seq <= after):
                continue
            if len(page) == size:
                more = True
                break
            page.append(record)
        next_cursor = self.encode(list_id, page[-1].seq) if more and page else None
        return {"items": [r.wire() for r in page], "next_cursor": next_cursor}
