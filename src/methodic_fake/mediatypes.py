"""Media types (RFC 9110, section 8.3.1): what an asset's `content_type` may hold.

The registered `content_type` comes back as the `Content-Type` header of every
storage download, so a value with CR/LF, NUL or other bytes no header may carry
would break every response for the asset. `check_media_type` refuses it at
registration; `header_value` keeps a record stored before that rule servable.
"""

from __future__ import annotations

import re

MAX_LENGTH = 255
DEFAULT = "application/octet-stream"

_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
# qdtext and quoted-pair without obs-text: header values here stay ASCII.
_QUOTED = r'"(?:[\t !#-\[\]-~]|\\[\t -~])*"'
_MEDIA_TYPE = re.compile(
    rf"{_TOKEN}/{_TOKEN}(?:[ \t]*;[ \t]*(?:{_TOKEN}=(?:{_TOKEN}|{_QUOTED}))?)*"
)


def is_media_type(value: str) -> bool:
    """True for `type/subtype` with optional `; name=value` parameters, in ASCII."""
    return len(value) <= MAX_LENGTH and _MEDIA_TYPE.fullmatch(value) is not None


def check_media_type(value: str) -> str:
    """`value` unless it is not a media type (a ValueError saying what is expected)."""
    if not is_media_type(value):
        raise ValueError(
            f"must be a media type such as 'text/plain; charset=utf-8' (RFC 9110: "
            f"type/subtype with optional parameters, ASCII, at most {MAX_LENGTH} characters)"
        )
    return value


def header_value(content_type: str | None) -> str:
    """The `Content-Type` to serve a component with: its own, when it is a media type."""
    return content_type if content_type and is_media_type(content_type) else DEFAULT
