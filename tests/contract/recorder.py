"""vcrpy wiring: record a scenario into a cassette, or replay it strictly in order.

Replay is stricter than vcrpy's defaults on purpose:

* requests match on method, scheme, host, port, path, query, the JSON body
  (vcrpy ignores bodies unless told) and the principal that sent them;
* the *next* recorded interaction is the only one that may answer, so a
  reordered call fails instead of being served a later response;
* every interaction must be played, and no interaction twice.

A mismatch raises ``ContractMismatch`` naming the cassette, the interaction
index, the recorded method and path, and what differed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import vcr
import yaml
from vcr import matchers as vcr_matchers
from vcr.matchers import get_matchers_results

from .normalise import (
    PLACEHOLDER_ORIGIN,
    CassetteNormaliser,
    RequestFilter,
    decode_json,
    filter_response,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
CASSETTE_DIR = REPO_ROOT / "cassettes"


class ContractMismatch(AssertionError):
    """The SDK's traffic or a server's answers differ from a cassette."""


# -- serializer ------------------------------------------------------------------
class _LiteralDumper(yaml.SafeDumper):
    """Multi-line strings (pretty JSON bodies) as ``|`` blocks: one field per diff line."""


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_LiteralDumper.add_representer(str, _represent_str)


class ReadableYaml:
    """vcrpy serializer: safe YAML, insertion order, literal blocks for bodies."""

    @staticmethod
    def serialize(cassette_dict: dict[str, Any]) -> str:
        return yaml.dump(
            cassette_dict, Dumper=_LiteralDumper, sort_keys=False, allow_unicode=True, width=100
        )

    @staticmethod
    def deserialize(cassette_string: str) -> Any:
        return yaml.safe_load(cassette_string)


def load_cassette(path: Path) -> dict[str, Any]:
    """The cassette file as plain data (``interactions``, ``metadata``)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or "interactions" not in data:
        raise ContractMismatch(f"{path.name}: not a vcrpy cassette")
    return data


def save_cassette(path: Path, data: dict[str, Any]) -> None:
    path.write_text(ReadableYaml.serialize(data), encoding="utf-8")


# -- matchers --------------------------------------------------------------------
def json_diff(recorded: Any, sent: Any, path: str = "$") -> list[str]:
    """Value differences between two JSON documents, each naming its JSON path."""
    if isinstance(recorded, dict) and isinstance(sent, dict):
        out: list[str] = []
        for key in recorded.keys() | sent.keys():
            sub = f"{path}.{key}"
            if key not in sent:
                out.append(f"{sub}: recorded {recorded[key]!r}, not sent")
            elif key not in recorded:
                out.append(f"{sub}: sent {sent[key]!r}, not recorded")
            else:
                out.extend(json_diff(recorded[key], sent[key], sub))
        return sorted(out)
    if isinstance(recorded, list) and isinstance(sent, list) and len(recorded) == len(sent):
        return [
            d
            for i, (r, s) in enumerate(zip(recorded, sent, strict=True))
            for d in json_diff(r, s, f"{path}[{i}]")
        ]
    if recorded != sent or type(recorded) is not type(sent):
        return [f"{path}: recorded {recorded!r}, sent {sent!r}"]
    return []


def json_body(r1: Any, r2: Any) -> None:
    """vcrpy matcher: bodies equal as JSON (key order and whitespace ignored)."""
    differences = json_diff(decode_json(r2.body), decode_json(r1.body))
    if differences:
        raise AssertionError("body " + "; ".join(differences[:5]))


def auth_role(r1: Any, r2: Any) -> None:
    """vcrpy matcher: the same principal (or none, for storage) sent both requests."""
    sent, recorded = r1.headers.get("authorization"), r2.headers.get("authorization")
    if sent != recorded:
        raise AssertionError(f"authorization: recorded {recorded!r}, sent {sent!r}")


MATCH_ON = ("method", "scheme", "host", "port", "path", "query", "json_body", "auth_role")
# The same matchers as functions, for the strict player's own comparison.
MATCHERS = [
    vcr_matchers.method,
    vcr_matchers.scheme,
    vcr_matchers.host,
    vcr_matchers.port,
    vcr_matchers.path,
    vcr_matchers.query,
    json_body,
    auth_role,
]


def make_vcr(request_filter: RequestFilter, save_hook: Any = None) -> vcr.VCR:
    recorder = vcr.VCR(
        serializer="readable",
        match_on=MATCH_ON,
        before_record_request=request_filter,
        before_record_response=filter_response,
        before_save_interaction=save_hook,
        decode_compressed_response=True,
        record_on_exception=True,
    )
    recorder.register_serializer("readable", ReadableYaml)
    recorder.register_matcher("json_body", json_body)
    recorder.register_matcher("auth_role", auth_role)
    return recorder


# -- record ----------------------------------------------------------------------
@contextmanager
def recording(
    path: Path,
    *,
    origin: str,
    roles: Mapping[str, str],
    run_tag: str,
    metadata: Mapping[str, str],
) -> Iterator[None]:
    """Record everything sent inside the block into ``path``, replacing it."""
    path.unlink(missing_ok=True)
    recorder = make_vcr(RequestFilter(origin, roles), CassetteNormaliser(origin, run_tag))
    with recorder.use_cassette(str(path), record_mode="all") as cassette:
        for key, value in metadata.items():
            cassette.get_metadata(key, value)
        yield


# -- replay ----------------------------------------------------------------------
def describe(request: Any) -> str:
    query = f"?{request.parsed_uri.query}" if request.parsed_uri.query else ""
    return f"{request.method} {request.path}{query}"


@dataclass
class StrictPlayer:
    """Serves a cassette's interactions strictly in recorded order."""

    name: str
    cassette: Any
    request_filter: RequestFilter
    matchers: list[Callable[[Any, Any], None]]
    position: int = 0
    failures: list[str] = field(default_factory=list)

    def install(self) -> None:
        # vcrpy asks the cassette whether it can answer before playing; answering
        # that question ourselves is the one seam that lets us enforce order.
        self.cassette.can_play_response_for = self.can_play

    def can_play(self, request: Any) -> bool:
        sent = self.request_filter(request)
        index = self.position
        if index >= len(self.cassette):
            self.failures.append(
                f"{self.name}: request #{index} {describe(sent)} was sent but the cassette "
                f"ends after {len(self.cassette)} interactions"
            )
            return False
        recorded = self.cassette.requests[index]
        _, failed = get_matchers_results(sent, recorded, self.matchers)
        if failed:
            details = "; ".join(f"{name}: {message}" for name, message in failed)
            self.failures.append(
                f"{self.name}: interaction #{index} (recorded {describe(recorded)}), "
                f"sent {describe(sent)}: {details}"
            )
            return False
        self.position += 1
        return True

    def verify(self) -> None:
        if self.failures:
            raise ContractMismatch("\n".join(self.failures))
        if self.position != len(self.cassette) or not self.cassette.all_played:
            recorded = self.cassette.requests[self.position]
            raise ContractMismatch(
                f"{self.name}: interaction #{self.position} (recorded {describe(recorded)}) and "
                f"{len(self.cassette) - self.position - 1} after it were never requested"
            )


def replay(path: Path, roles: Mapping[str, str], run: Callable[[], None]) -> None:
    """Run ``run`` with every HTTP request answered from ``path``, strictly in order."""
    if not path.is_file():
        raise ContractMismatch(f"{path.name}: no such cassette; record it with `make cassettes`")
    request_filter = RequestFilter(PLACEHOLDER_ORIGIN, roles)
    recorder = make_vcr(request_filter)
    with recorder.use_cassette(
        str(path), record_mode="none", allow_playback_repeats=False
    ) as cassette:
        player = StrictPlayer(path.name, cassette, request_filter, MATCHERS)
        player.install()
        try:
            run()
        except Exception as exc:
            if player.failures:
                raise ContractMismatch("\n".join(player.failures)) from exc
            raise
    player.verify()


def body_json(interaction_part: Mapping[str, Any]) -> Any:
    """Decoded JSON of a recorded request or response body (bytes when not JSON)."""
    body = interaction_part.get("body")
    if isinstance(body, dict):
        body = body.get("string")
    return decode_json(body)
