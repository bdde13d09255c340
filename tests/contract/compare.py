"""Compare two cassettes of the same scenario interaction by interaction.

Used by the conformance suite: the committed cassette (ideally recorded against a
real Chronicle) is the reference, and a fresh recording of the same scenario
against ``methodic_fake`` must have the same *shape*: the same requests, status
codes, JSON key sets and value types (recursively), and the same values for the
few enum-like keys that carry state.  Other values (messages, scores) may differ.
Both sides went through the same normaliser, so ids, timestamps, hosts and
presigned-URL query strings already agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .recorder import body_json, json_diff, load_cassette

# Keys whose *values* are part of the contract, not just their types.
ENUM_KEYS = frozenset({"state", "failure_reason", "kind", "type", "relation"})


@dataclass(frozen=True)
class Difference:
    """One way the compared recording departs from the cassette."""

    cassette: str
    index: int
    request: str
    where: str
    detail: str

    def __str__(self) -> str:
        return (
            f"{self.cassette} interaction #{self.index} {self.request}: {self.where}: {self.detail}"
        )


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "bytes"


def shape_diff(
    expected: Any, actual: Any, path: str = "$", key: str | None = None, label: str = "fake"
) -> list[tuple[str, str]]:
    """``(json_path, description)`` for every structural difference, cassette first."""
    want, got = type_name(expected), type_name(actual)
    if want != got:
        return [(path, f"{want} in cassette, {got} from {label}")]
    if isinstance(expected, dict):
        out: list[tuple[str, str]] = []
        for k in expected:
            if k not in actual:
                out.append((f"{path}.{k}", f"key in cassette, missing from {label}"))
        for k in actual:
            if k not in expected:
                out.append((f"{path}.{k}", f"key from {label} not in cassette"))
        for k in expected:
            if k in actual:
                out.extend(shape_diff(expected[k], actual[k], f"{path}.{k}", k, label))
        return out
    if isinstance(expected, list):
        out = []
        if len(expected) != len(actual):
            out.append((path, f"{len(expected)} items in cassette, {len(actual)} from {label}"))
        for i, (e, a) in enumerate(zip(expected, actual, strict=False)):
            out.extend(shape_diff(e, a, f"{path}[{i}]", key, label))
        return out
    if key in ENUM_KEYS and expected != actual:
        return [(path, f"{expected!r} in cassette, {actual!r} from {label}")]
    return []


def _describe(request: Mapping[str, Any]) -> str:
    parts = urlsplit(str(request["uri"]))
    query = f"?{parts.query}" if parts.query else ""
    return f"{request['method']} {parts.path}{query}"


def _content_type(response: Mapping[str, Any]) -> str:
    headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    values = headers.get("content-type") or [""]
    return str(values[0]).split(";")[0].strip()


def compare_interactions(
    name: str,
    expected: list[dict[str, Any]],
    actual: list[dict[str, Any]],
    label: str = "fake",
) -> list[Difference]:
    """Every difference between two interaction lists, in interaction order."""
    out: list[Difference] = []
    for index, (want, got) in enumerate(zip(expected, actual, strict=False)):
        request = _describe(want["request"])

        def add(where: str, detail: str, index: int = index, request: str = request) -> None:
            out.append(Difference(name, index, request, where, detail))

        sent = _describe(got["request"])
        if sent != request:
            add("request", f"{label} run sent {sent}")
        for diff in json_diff(body_json(want["request"]), body_json(got["request"])):
            add("request body", diff.replace("sent", f"{label} run sent"))
        want_status = want["response"]["status"]["code"]
        got_status = got["response"]["status"]["code"]
        if want_status != got_status:
            add("status", f"{want_status} in cassette, {got_status} from {label}")
        want_type, got_type = _content_type(want["response"]), _content_type(got["response"])
        if want_type != got_type:
            add("content-type", f"{want_type!r} in cassette, {got_type!r} from {label}")
        want_body, got_body = body_json(want["response"]), body_json(got["response"])
        lost_detail = not (isinstance(got_body, dict) and "detail" in got_body)
        if (
            want_status >= 400
            and isinstance(want_body, dict)
            and "detail" in want_body
            and lost_detail
        ):
            add("$.detail", f"error body from {label} has no detail")
            continue
        if isinstance(want_body, bytes) or isinstance(got_body, bytes):
            if type_name(want_body) != type_name(got_body):
                add(
                    "body",
                    f"{type_name(want_body)} in cassette, {type_name(got_body)} from {label}",
                )
            continue
        for where, detail in shape_diff(want_body, got_body, label=label):
            add(where, detail)
    for index in range(len(actual), len(expected)):
        out.append(
            Difference(
                name,
                index,
                _describe(expected[index]["request"]),
                "missing",
                f"{label} run ended before this interaction",
            )
        )
    for index in range(len(expected), len(actual)):
        out.append(
            Difference(
                name,
                index,
                _describe(actual[index]["request"]),
                "extra",
                f"{label} run sent a request the cassette does not have",
            )
        )
    return out


def compare_cassettes(expected: Path, actual: Path, label: str = "fake") -> list[Difference]:
    """Differences between the committed cassette ``expected`` and a fresh ``actual``."""
    want = load_cassette(expected)["interactions"]
    got = load_cassette(actual)["interactions"]
    return compare_interactions(expected.name, want, got, label)


def report(differences: list[Difference]) -> str:
    return "\n".join(str(d) for d in differences)
