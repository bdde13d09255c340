"""Make recorded interactions safe to commit and identical on every re-record.

Two stages, because vcrpy offers two hooks with different lifetimes:

* ``RequestFilter`` runs on every request vcrpy sees, both when recording and
  when matching during replay, so it must be stateless: it keeps a short
  allowlist of headers, turns the bearer token into the *role* that sent it, and
  replaces storage upload bodies by a size-and-sha256 marker (replay hashes the
  bytes the SDK sends, so the marker still proves the right bytes went out).
* ``CassetteNormaliser`` runs once per interaction, in order, as a recorded
  cassette is saved.  It is stateful: every id learnt from a response is mapped
  to a placeholder in first-seen order, and the same mapping is applied to later
  request paths and bodies, so replay still links the ids together.  Timestamps,
  hosts, presigned-URL signatures and expiries become fixed values.

The result: a cassette recorded twice against two fresh servers is byte-identical,
and it holds no token, signature or bulky upload.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

PLACEHOLDER_ORIGIN = "http://chronicle.test"
FIXED_TIMESTAMP = "2000-01-01T00:00:00Z"
FIXED_EXPIRES = "4102444800"
SCRUBBED = "scrubbed"
RUN_TAG_PLACEHOLDER = "run-tag"

KEPT_REQUEST_HEADERS = ("content-type", "idempotency-key")
KEPT_RESPONSE_HEADERS = ("content-type", "location", "retry-after")

UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
TIMESTAMP_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})")
MARKER_RE = re.compile(r"<\d+ bytes sha256=[0-9a-f]{64}>")
# Query parameters that sign or date a presigned URL (our fake's, S3's, GCS's, Azure's).
_SIGNING_PARAM = re.compile(
    r"signature|credential|security-token|^sig$|^x-goog-date$|^x-amz-date$", re.I
)
_EXPIRY_PARAM = re.compile(r"expires|^se$", re.I)
_TOKEN_EDGE = r"[A-Za-z0-9_-]"


def storage_marker(body: bytes) -> str:
    """The stand-in recorded for an upload body: its size and sha256, nothing else."""
    return f"<{len(body)} bytes sha256={hashlib.sha256(body).hexdigest()}>"


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of ``url``, lower-cased."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def decode_json(body: Any) -> Any:
    """Parse a recorded body as JSON; ``None`` when empty, the raw bytes when not JSON."""
    if body is None:
        return None
    if isinstance(body, str):
        body = body.encode("utf-8")
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return body


def dump_json(value: Any) -> bytes:
    """Pretty JSON so a cassette diff shows one changed field per line."""
    return json.dumps(value, indent=2, ensure_ascii=False).encode("utf-8")


class RequestFilter:
    """Stateless request scrubbing shared by recording and replay matching.

    ``origin`` is where Chronicle lives for this run (the real base URL while
    recording, the placeholder during replay); any other host, or a path under
    ``/_storage/``, is presigned storage.  ``roles`` maps each token in use to the
    principal name written into the cassette instead of the token.
    """

    def __init__(self, origin: str, roles: Mapping[str, str]) -> None:
        self._origin = origin_of(origin)
        self._roles = dict(roles)

    def is_storage(self, uri: str) -> bool:
        parts = urlsplit(uri)
        if origin_of(uri) != self._origin or parts.path.startswith("/_storage/"):
            return True
        return any(_SIGNING_PARAM.search(name) for name, _ in parse_qsl(parts.query))

    def role_of(self, authorization: str) -> str:
        token = authorization.removeprefix("Bearer ").strip()
        if re.fullmatch(r"<[a-z-]+>", token):  # already filtered
            return token
        return f"<{self._roles.get(token, 'unrecognised')}>"

    def __call__(self, request: Any) -> Any:
        headers = request.headers
        kept = {name: headers[name] for name in KEPT_REQUEST_HEADERS if name in headers}
        if "authorization" in headers:
            kept["authorization"] = f"Bearer {self.role_of(headers['authorization'])}"
        request.headers = kept
        body = request.body
        is_upload = self.is_storage(request.uri) and isinstance(body, bytes) and bool(body)
        if is_upload and not MARKER_RE.fullmatch(body.decode("latin-1")):
            request.body = storage_marker(body)
        return request


def filter_response(response: dict[str, Any]) -> dict[str, Any]:
    """Keep only response headers a reviewer cares about (no dates, request ids, servers)."""
    headers = response.get("headers", {})
    response["headers"] = {
        name: values
        for name, values in ((k.lower(), v) for k, v in headers.items())
        if name in KEPT_RESPONSE_HEADERS
    }
    return response


def _is_id_key(key: str) -> bool:
    return key == "id" or key.endswith(("_id", "_ids"))


def _id_key(item: Any) -> tuple[str, ...]:
    return tuple(str(v) for k, v in item.items() if _is_id_key(str(k)))


def _only_ids(items: list[Any]) -> bool:
    """True for a list of 2+ objects whose every field is an id."""
    return len(items) > 1 and all(
        isinstance(i, dict) and i and all(_is_id_key(str(k)) for k in i) for i in items
    )


class CassetteNormaliser:
    """Stateful save-time rewrite of one cassette's interactions, applied in order.

    Ids are learnt from responses (values of ``id``/``*_id``/``*_ids`` keys and any
    uuid) and replaced by placeholders numbered in first-seen order; uuids a
    scenario sent *before* any response mentioned them (fixed "unknown id"
    constants) are left alone so replay sends exactly what was recorded.
    """

    def __init__(self, origin: str, run_tag: str | None = None) -> None:
        self._origin = origin.rstrip("/")
        self._run_tag = run_tag
        self._ids: dict[str, str] = {}
        self._cursors: dict[str, str] = {}
        self._fixed: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    # -- the vcrpy before_save_interaction hook -------------------------------
    def __call__(self, request: Any, response: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        self._note_fixed(request)
        request.uri = self.map_url(request.uri)
        if "idempotency-key" in request.headers:
            request.headers["idempotency-key"] = self._map_text(request.headers["idempotency-key"])
        body = decode_json(request.body)
        if body is not None and not isinstance(body, bytes):
            request.body = dump_json(self._map_json(body))

        parsed = decode_json(response.get("body", {}).get("string"))
        if parsed is not None and not isinstance(parsed, bytes):
            self._learn(parsed, None)
            response["body"] = {"string": dump_json(self._map_json(parsed))}
        headers = response.get("headers", {})
        if "location" in headers:
            headers["location"] = [self.map_url(v) for v in headers["location"]]
        return request, response

    # -- learning --------------------------------------------------------------
    def _note_fixed(self, request: Any) -> None:
        text = request.uri
        if isinstance(request.body, bytes):
            text += request.body.decode("utf-8", "replace")
        for match in UUID_RE.findall(text):
            if match not in self._ids:
                self._fixed.add(match)

    def _learn(self, value: Any, key: str | None) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                self._learn(v, str(k))
        elif isinstance(value, list):
            for item in value:
                self._learn(item, key)
        elif isinstance(value, str) and value:
            if key == "next_cursor":
                self._add(self._cursors, value, f"cursor-{len(self._cursors) + 1}")
            elif key is not None and _is_id_key(key):
                self._add_id(value)
            for found in UUID_RE.findall(value):
                self._add_id(found)

    def _add_id(self, value: str) -> None:
        if value in self._fixed or value in self._ids:
            return
        n = len(self._ids) + 1
        placeholder = (
            f"00000000-0000-4000-8000-{n:012d}" if UUID_RE.fullmatch(value) else f"id-{n:06d}"
        )
        self._add(self._ids, value, placeholder)

    def _add(self, table: dict[str, str], value: str, placeholder: str) -> None:
        if value not in table:
            table[value] = placeholder
            self._pattern = None

    # -- mapping ---------------------------------------------------------------
    def _token_pattern(self) -> re.Pattern[str] | None:
        if self._pattern is None and (self._ids or self._cursors):
            tokens = sorted({*self._ids, *self._cursors}, key=len, reverse=True)
            alternation = "|".join(re.escape(t) for t in tokens)
            self._pattern = re.compile(f"(?<!{_TOKEN_EDGE})(?:{alternation})(?!{_TOKEN_EDGE})")
        return self._pattern

    def _lookup(self, token: str) -> str:
        return self._ids.get(token) or self._cursors.get(token) or token

    def _map_text(self, text: str) -> str:
        if text in self._ids or text in self._cursors:
            return self._lookup(text)
        if self._run_tag:
            text = text.replace(self._run_tag, RUN_TAG_PLACEHOLDER)
        text = TIMESTAMP_RE.sub(FIXED_TIMESTAMP, text)
        pattern = self._token_pattern()
        if pattern is not None:
            text = pattern.sub(lambda m: self._lookup(m.group(0)), text)
        return text

    def _map_json(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {self._map_text(str(k)): self._map_json(v) for k, v in value.items()}
        if isinstance(value, list):
            mapped = [self._map_json(v) for v in value]
            if _only_ids(value):
                # Objects made of ids alone (lineage edges) form a set, and a server
                # orders a set by its random ids: order it by placeholder instead.
                # Richer objects keep the server's order, which is part of the contract.
                mapped.sort(key=_id_key)
            return mapped
        if isinstance(value, str):
            return (
                self.map_url(value)
                if value.startswith(("http://", "https://"))
                else (self._map_text(value))
            )
        return value

    def map_url(self, url: str) -> str:
        """Placeholder origin, mapped ids/cursors, scrubbed signatures and expiries."""
        if url.lower().startswith(self._origin.lower()):
            url = PLACEHOLDER_ORIGIN + url[len(self._origin) :]
        parts = urlsplit(url)
        path = self._map_text(parts.path)
        query = []
        for name, value in parse_qsl(parts.query, keep_blank_values=True):
            if _SIGNING_PARAM.search(name):
                value = SCRUBBED
            elif _EXPIRY_PARAM.search(name):
                value = FIXED_EXPIRES
            else:
                value = self._map_text(value)
            query.append((name, value))
        return urlunsplit(
            (parts.scheme, parts.netloc, path, urlencode(query, quote_via=quote), parts.fragment)
        )
