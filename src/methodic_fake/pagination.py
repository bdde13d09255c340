"""Cursor pagination over records ordered by creation.

The cursor is opaque to clients: base64url of the last returned record's
sequence number. Paging by sequence (not offset) keeps pages stable when new
records are created while a client walks the list.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from typing import Any, TypeVar

from methodic_fake.errors import BadRequest
from methodic_fake.models import Record

R = TypeVar("R", bound=Record)

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
_PREFIX = "c1:"


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"{_PREFIX}{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The sequence number behind a cursor; 400 for anything we did not issue."""
    padded = cursor + "=" * (-len(cursor) % 4)
    try:
        raw = base64.urlsafe_b64decode(padded.encode("ascii")).decode("ascii")
        if not raw.startswith(_PREFIX):
            raise ValueError(raw)
        return int(raw[len(_PREFIX) :])
    except (ValueError, binascii.Error, UnicodeError):
        raise BadRequest("invalid cursor") from None


def paginate(records: Iterable[R], limit: int | None, cursor: str | None) -> dict[str, Any]:
    """One page as the wire object `{"items": [...], "next_cursor": ...}`.

    `records` must be in ascending `seq` order (the registry's dicts are).
    """
    size = DEFAULT_LIMIT if limit is None else limit  # the routes bound it to 1..MAX_LIMIT
    after = decode_cursor(cursor) if cursor else -1
    page: list[R] = []
    more = False
    for record in records:
        if record.seq <= after:
            continue
        if len(page) == size:
            more = True
            break
        page.append(record)
    next_cursor = encode_cursor(page[-1].seq) if more and page else None
    return {"items": [r.wire() for r in page], "next_cursor": next_cursor}
