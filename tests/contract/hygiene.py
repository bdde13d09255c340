"""What must never be committed in a cassette, and what the cassettes must cover."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .recorder import REPO_ROOT, body_json, load_cassette

MAX_BODY_BYTES = 16 * 1024
_BEARER = re.compile(r"bearer\s+(?!<[a-z-]+>)[A-Za-z0-9._~+/-]{8,}", re.I)
_API_KEY = re.compile(r"sk_[a-z]+_[A-Za-z0-9]{6,}")
_SIGNATURE = re.compile(r"(signature|sig)=(?!scrubbed\b)[^&\s\"']+", re.I)
_LOOPBACK = re.compile(r"//(127\.\d+\.\d+\.\d+|localhost|\[::1\])[:/]", re.I)
_ENDPOINT = re.compile(r"`(GET|POST|PUT|PATCH|DELETE) (/[^`?\s]*)")


def secret_problems(path: Path) -> list[str]:
    """Tokens, keys, signatures, local hosts or bulky bodies found in one cassette."""
    text = path.read_text(encoding="utf-8")
    problems = []
    for pattern, what in (
        (_BEARER, "a bearer token"),
        (_API_KEY, "an sk_ API key"),
        (_SIGNATURE, "an unscrubbed presigned-URL signature"),
        (_LOOPBACK, "an unnormalised loopback host"),
    ):
        for match in pattern.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            problems.append(f"{path.name}:{line}: {what} ({match.group(0)[:24]}...)")
    for index, interaction in enumerate(load_cassette(path)["interactions"]):
        for side in ("request", "response"):
            body = interaction[side].get("body")
            if isinstance(body, dict):
                body = body.get("string")
            size = len(body.encode() if isinstance(body, str) else body or b"")
            if size > MAX_BODY_BYTES:
                problems.append(f"{path.name} interaction #{index}: {side} body of {size} bytes")
    return problems


def documented_endpoints() -> list[tuple[str, str]]:
    """``(method, path template)`` for every Chronicle endpoint in the API reference.

    The fake's own admin API (``/_fake``) is not Chronicle's contract, and storage
    URLs are presigned rather than documented paths; both are left out.
    """
    doc = REPO_ROOT / "docs" / "api.md"
    found = {
        (m.group(1), m.group(2).rstrip("/") or "/")
        for m in _ENDPOINT.finditer(doc.read_text(encoding="utf-8"))
        if not m.group(2).startswith(("/_fake", "/_storage"))
    }
    return sorted(found)


def template_regex(template: str) -> re.Pattern[str]:
    """``/runs/{id}/start|succeed`` -> a regex for ``/runs/<anything>/(start|succeed)``."""
    parts = [
        r"[^/]+"
        if re.fullmatch(r"\{[^}]+\}", p)
        else "(?:" + "|".join(re.escape(alt) for alt in p.split("|")) + ")"
        for p in template.split("/")
    ]
    return re.compile("/".join(parts))


def all_interactions(directory: Path) -> list[tuple[str, dict[str, Any]]]:
    return [
        (path.name, interaction)
        for path in sorted(directory.glob("*.yaml"))
        for interaction in load_cassette(path)["interactions"]
    ]


def status_of(interaction: dict[str, Any]) -> int:
    return int(interaction["response"]["status"]["code"])


def error_detail(interaction: dict[str, Any]) -> Any:
    body = body_json(interaction["response"])
    return body.get("detail") if isinstance(body, dict) else None
