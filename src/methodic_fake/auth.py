"""Principals and the fake's key ring.

Chronicle accepts Auth0 access tokens (researchers) and API keys shaped
`sk_<type>_<id><secret>` (agents, workers). The fake mints one of each per
instance (or takes them from configuration) and checks secrets with
`hmac.compare_digest` so timing never reveals how much of a secret matched.
"""

from __future__ import annotations

import base64
import hmac
import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from methodic_fake.errors import Forbidden, Unauthorized

ROLES = ("researcher", "agent", "worker")
KEY_ID_LEN = 12
_KEY_TYPES = ("agent", "worker")


@dataclass(frozen=True)
class Principal:
    """Who is calling: a role and a stable id (used to scope idempotency keys)."""

    role: str
    id: str

    @property
    def is_worker(self) -> bool:
        return self.role == "worker"

    def require_researcher(self, action: str) -> None:
        """403 unless this principal may perform researcher mutations."""
        if self.is_worker:
            raise Forbidden(f"a worker key may not {action}")

    def __repr__(self) -> str:  # ids only: never a secret
        return f"Principal(role={self.role!r}, id={self.id!r})"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def mint_researcher_token(subject: str = "auth0|fake-researcher") -> str:
    """A JWT-shaped opaque token, like an Auth0 access token (signature is random)."""
    header = _b64(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    payload = _b64(
        json.dumps({"sub": subject, "aud": "chronicle", "iss": "methodic-fake"}).encode()
    )
    return f"{header}.{payload}.{_b64(secrets.token_bytes(32))}"


def mint_api_key(key_type: str) -> str:
    """A fresh `sk_<type>_<id><secret>` key."""
    if key_type not in _KEY_TYPES:
        raise ValueError(f"unknown key type {key_type!r}")
    return f"sk_{key_type}_{secrets.token_hex(KEY_ID_LEN // 2)}{secrets.token_urlsafe(24)}"


def parse_api_key(token: str) -> tuple[str, str, str] | None:
    """Split `sk_<type>_<id><secret>` into (type, id, secret); None if not that shape."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != "sk" or parts[1] not in _KEY_TYPES:
        return None
    rest = parts[2]
    if len(rest) <= KEY_ID_LEN:
        return None
    return parts[1], rest[:KEY_ID_LEN], rest[KEY_ID_LEN:]


class KeyRing:
    """The tokens this fake accepts, by role.

    >>> ring = KeyRing.generate()
    >>> ring.authenticate(f"Bearer {ring.keys['worker']}").role
    'worker'
    """

    def __init__(
        self,
        researcher_tokens: Iterable[str],
        agent_keys: Iterable[str],
        worker_keys: Iterable[str],
    ) -> None:
        self._researchers = list(researcher_tokens)
        # API keys are looked up by their public id, then the secret is compared.
        self._api_keys: dict[str, tuple[str, str]] = {}
        self._first: dict[str, str] = {}
        for role, keys in (("agent", agent_keys), ("worker", worker_keys)):
            for key in keys:
                parsed = parse_api_key(key)
                if parsed is None or parsed[0] != role:
                    raise ValueError(f"not a valid sk_{role}_ key")
                self._api_keys[parsed[1]] = (role, parsed[2])
                self._first.setdefault(role, key)
        for token in self._researchers:
            if not token or any(c.isspace() for c in token):
                raise ValueError("researcher tokens must be non-empty and contain no spaces")
        if self._researchers:
            self._first["researcher"] = self._researchers[0]

    @classmethod
    def generate(cls) -> KeyRing:
        """One freshly minted token per role."""
        return cls([mint_researcher_token()], [mint_api_key("agent")], [mint_api_key("worker")])

    @property
    def keys(self) -> dict[str, str]:
        """The first token of each role: what harnesses hand to clients."""
        return dict(self._first)

    def all_keys(self) -> dict[str, list[str]]:
        """Every accepted token by role (for persistence)."""
        out: dict[str, list[str]] = {"researcher": list(self._researchers)}
        for role in _KEY_TYPES:
            out[role] = []
        for key_id, (role, secret) in self._api_keys.items():
            out[role].append(f"sk_{role}_{key_id}{secret}")
        return out

    def authenticate(self, authorization: str | None) -> Principal:
        """The principal behind an `Authorization` header, or 401."""
        if not authorization:
            raise Unauthorized("missing bearer token")
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or " " in token:
            raise Unauthorized("malformed Authorization header: expected 'Bearer <token>'")
        parsed = parse_api_key(token)
        if parsed is not None:
            key_type, key_id, secret = parsed
            known = self._api_keys.get(key_id)
            # Compare against a dummy when the id is unknown so both paths cost the same.
            role, expected = known if known is not None else (key_type, "\x00" * len(secret))
            ok = hmac.compare_digest(secret.encode(), expected.encode())
            if known is not None and ok and role == key_type:
                return Principal(role, f"{role}:{key_id}")
            raise Unauthorized("invalid API key")
        if token.count(".") == 2:
            matched = False
            for candidate in self._researchers:
                matched |= hmac.compare_digest(token.encode(), candidate.encode())
            if matched:
                return Principal("researcher", "researcher:" + token.split(".")[1][:32])
            raise Unauthorized("invalid access token")
        raise Unauthorized("malformed bearer token: expected an access token or an sk_ key")
