"""Presigned storage URLs: HMAC-signed, expiring, bound to one operation.

Format (docs/architecture.md):
`<base>/_storage/<asset_id>/<component>?op=put|get&expires=<unix>&signature=<hex>`,
signature = HMAC-SHA256(secret, "<METHOD>\\n<path>\\n<expires>"). The secret is
random per fake, so URLs from one fake never work on another. Any change to the
path or a query parameter, an expired URL, or using a PUT URL for a GET is a 403.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from urllib.parse import urlencode

from methodic_fake.clock import US_PER_SECOND, Clock
from methodic_fake.errors import Forbidden

URL_TTL = 3600  # docs/api.md: URLs are valid for 1 hour of the fake's clock
_OPS = {"put": "PUT", "get": "GET"}
# The exact spellings `sign` produces. The HMAC covers the parsed expiry, so a
# looser parse (int() takes "+1", "01", " 1", "1_0", fullwidth digits) would let
# a rewritten URL through: every parameter must be byte-for-byte canonical.
_EXPIRES = re.compile(r"[1-9][0-9]{0,11}")
_SIGNATURE = re.compile(r"[0-9a-f]{64}")


def storage_path(asset_id: str, component: str) -> str:
    return f"/_storage/{asset_id}/{component}"


class UrlSigner:
    """Mints and checks presigned URLs against the fake's clock."""

    def __init__(self, clock: Clock, secret: bytes | None = None):
        self._clock = clock
        self.secret = secret if secret is not None else secrets.token_bytes(32)

    def _signature(self, method: str, path: str, expires: int) -> str:
        message = f"{method}\n{path}\n{expires}".encode()
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()

    def sign(self, base_url: str, op: str, asset_id: str, component: str) -> str:
        """A URL for `op` ("put" or "get") on one component, valid for URL_TTL seconds."""
        path = storage_path(asset_id, component)
        expires = self._clock.now_us() // US_PER_SECOND + URL_TTL
        query = urlencode(
            {"op": op, "expires": expires, "signature": self._signature(_OPS[op], path, expires)}
        )
        return f"{base_url.rstrip('/')}{path}?{query}"

    def verify(self, method: str, asset_id: str, component: str, query: Mapping[str, str]) -> None:
        """403 unless the query is exactly what `sign` produced for this method and path."""
        if set(query) != {"op", "expires", "signature"}:
            raise Forbidden("invalid presigned URL: unexpected or missing query parameters")
        op = query["op"]
        if _OPS.get(op) != method:
            raise Forbidden(f"presigned URL is for op={op!r}, not {method}")
        raw_expires, signature = query["expires"], query["signature"]
        if _EXPIRES.fullmatch(raw_expires) is None:
            raise Forbidden("invalid presigned URL: bad expires")
        if _SIGNATURE.fullmatch(signature) is None:
            raise Forbidden("invalid presigned URL signature")
        expires = int(raw_expires)
        expected = self._signature(method, storage_path(asset_id, component), expires)
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            raise Forbidden("invalid presigned URL signature")
        if self._clock.now_us() > expires * US_PER_SECOND:
            raise Forbidden("presigned URL expired")
