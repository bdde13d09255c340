"""Guarantee: a hostile or buggy server cannot make a download write more than it declared,
write outside its destination, or overwrite one component with another.

The server here is a tiny stdlib ``http.server`` on 127.0.0.1 that answers the three
requests ``Run.download_checkpoint`` makes (the checkpoint lookup, the download URLs,
the storage GETs) with whatever each test scripts. The SDK under test is the real one,
over a real socket; nothing of ours is mocked.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from methodic import Chronicle, IntegrityError, Run

MIB = 1 << 20
SMALL = b"hello world"  # 11 bytes: what the asset declares
FLOOD = 64 * MIB  # what a hostile storage sends for it
RUN_ID = "run-1"
ASSET_ID = "asset-1"


@dataclass
class Component:
    name: str
    body: bytes = SMALL
    served_size: int | None = None  # bytes storage actually sends (None: the body)
    content_length: bool = True  # declare the served size in Content-Length
    declared_size: int | None = None  # the size the asset claims (None: len(body))

    def wire(self) -> dict[str, Any]:
        size = len(self.body) if self.declared_size is None else self.declared_size
        return {
            "name": self.name,
            "size": size,
            "sha256": hashlib.sha256(self.body).hexdigest(),
            "content_type": "application/octet-stream",
            "uploaded": True,
        }


@dataclass
class Script:
    """What the hostile server answers, and what it saw."""

    components: list[Component] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    storage_bytes_sent: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def asset(self) -> dict[str, Any]:
        return {
            "id": ASSET_ID,
            "kind": "checkpoint",
            "name": "step-1",
            "state": "ready",
            "created_at": "2026-01-01T00:00:00Z",
            "finalized_at": "2026-01-01T00:00:01Z",
            "run_id": RUN_ID,
            "metadata": {"step": 1},
            "components": [c.wire() for c in self.components],
        }

    @property
    def storage_hits(self) -> list[str]:
        return [p for p in self.paths if p.startswith("/blob/")]


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        script = self.server.script
        with script.lock:
            script.paths.append(self.path)
        base = f"http://127.0.0.1:{self.server.server_address[1]}"
        if self.path == f"/runs/{RUN_ID}/checkpoint":
            self._json(script.asset())
        elif self.path == f"/assets/{ASSET_ID}/download-urls":
            urls = {c.name: f"{base}/blob/{i}" for i, c in enumerate(script.components)}
            self._json({"asset_id": ASSET_ID, "urls": urls})
        elif self.path.startswith("/blob/"):
            self._blob(script, script.components[int(self.path.removeprefix("/blob/"))])
        else:
            self._json({"detail": "not found"}, status=404)

    def _json(self, data: Any, status: int = 200) -> None:
        body = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _blob(self, script: Script, component: Component) -> None:
        size = len(component.body) if component.served_size is None else component.served_size
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if component.content_length:
            self.send_header("Content-Length", str(size))
        else:
            self.send_header("Connection", "close")  # body ends when the socket does
            self.close_connection = True
        self.end_headers()
        piece = (component.body * (64 * 1024 // max(len(component.body), 1) + 1))[: 64 * 1024]
        left = size
        try:
            while left > 0:
                chunk = piece[: min(left, len(piece))]
                self.wfile.write(chunk)
                left -= len(chunk)
                with script.lock:
                    script.storage_bytes_sent += len(chunk)
        except OSError:  # the client hung up: what a capped download must do
            self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, script: Script) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.script = script


@pytest.fixture
def script() -> Script:
    return Script()


@pytest.fixture
def chronicle(script: Script) -> Iterator[Chronicle]:
    server = _Server(script)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        with Chronicle(f"http://127.0.0.1:{server.server_address[1]}", "hostile-test") as c:
            yield c
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _left_in(dest: Path) -> list[str]:
    return sorted(p.name for p in dest.iterdir()) if dest.exists() else []


@pytest.mark.parametrize("content_length", [True, False], ids=["declared", "close-delimited"])
def test_an_oversized_body_stops_at_the_declared_size(
    chronicle: Chronicle, script: Script, tmp_path: Path, content_length: bool
) -> None:
    script.components = [
        Component("model.bin", served_size=FLOOD, content_length=content_length),
    ]
    dest = tmp_path / "resume"
    written: list[int] = []

    with pytest.raises(IntegrityError, match=r"model\.bin"):
        Run(chronicle, RUN_ID).download_checkpoint(dest, progress=lambda d, t: written.append(d))

    assert max(written, default=0) <= len(SMALL), "wrote past the declared size"
    assert _left_in(dest) == []
    # The client hung up early: the rest of the flood was never read. (Loopback socket
    # buffers hold a few MiB, so "sent" is more than the client read, but far from all.)
    assert script.storage_bytes_sent < FLOOD // 2


def test_a_short_body_is_refused(chronicle: Chronicle, script: Script, tmp_path: Path) -> None:
    script.components = [Component("model.bin", served_size=5)]
    dest = tmp_path / "resume"

    with pytest.raises(IntegrityError, match=r"model\.bin"):
        Run(chronicle, RUN_ID).download_checkpoint(dest)

    assert _left_in(dest) == []


UNSAFE_NAMES = [
    "C:evil",  # a drive-relative path on Windows
    "a" * 129,  # over the contract's 128
    "a" * 300,  # over any filesystem's name limit
    "..",
    ".",
    "",
    "a/b",
    "a\\b",
    "nul\0byte",
    "space name",
    "caf\u00e9.bin",
    "new\nline",
]


@pytest.mark.parametrize("name", UNSAFE_NAMES, ids=lambda n: repr(n[:20]))
def test_unsafe_component_names_are_refused_before_any_byte(
    chronicle: Chronicle, script: Script, tmp_path: Path, name: str
) -> None:
    script.components = [Component("ok.bin"), Component(name)]
    dest = tmp_path / "resume"

    with pytest.raises(IntegrityError, match="component name"):
        Run(chronicle, RUN_ID).download_checkpoint(dest)

    assert script.storage_hits == []
    assert not dest.exists()


def test_the_contract_allows_every_character_of_its_rule(
    chronicle: Chronicle, script: Script, tmp_path: Path
) -> None:
    """The refusals above are the rule's, not a stricter one: its edge cases still work."""
    names = ["A-Z_a-z.0-9", "x" * 128, ".hidden", "..."]
    script.components = [Component(n, body=n.encode()) for n in names]

    checkpoint = Run(chronicle, RUN_ID).download_checkpoint(tmp_path / "resume")

    assert checkpoint is not None
    assert {n: p.read_bytes() for n, p in checkpoint.paths.items()} == {
        n: n.encode() for n in names
    }


def test_duplicate_component_names_are_refused_before_any_byte(
    chronicle: Chronicle, script: Script, tmp_path: Path
) -> None:
    script.components = [Component("model.bin", b"first"), Component("model.bin", b"second")]
    dest = tmp_path / "resume"

    with pytest.raises(IntegrityError, match=r"duplicate component name 'model\.bin'"):
        Run(chronicle, RUN_ID).download_checkpoint(dest)

    assert script.storage_hits == []
    assert not dest.exists()


@pytest.mark.parametrize("size", [-1, True, 1.5], ids=["negative", "bool", "float"])
def test_a_nonsense_declared_size_is_refused_before_any_byte(
    chronicle: Chronicle, script: Script, tmp_path: Path, size: Any
) -> None:
    script.components = [Component("model.bin", declared_size=size)]
    dest = tmp_path / "resume"

    with pytest.raises(IntegrityError, match="size"):
        Run(chronicle, RUN_ID).download_checkpoint(dest)

    assert script.storage_hits == []
    assert not dest.exists()


def test_one_bad_component_leaves_none_of_the_others_behind(
    chronicle: Chronicle, script: Script, tmp_path: Path
) -> None:
    """Components download in parallel: the good ones must not stay when one fails."""
    good = [Component(f"part-{i}.bin", body=bytes([i]) * 1000) for i in range(5)]
    script.components = [*good, Component("bad.bin", served_size=FLOOD, content_length=False)]
    dest = tmp_path / "resume"
    dest.mkdir()
    (dest / "keep.txt").write_text("mine")

    with pytest.raises(IntegrityError, match=r"bad\.bin"):
        Run(chronicle, RUN_ID).download_checkpoint(dest)

    assert _left_in(dest) == ["keep.txt"]
