"""Guarantee: no upload leaves a temp file behind, even one cut short by SIGKILL.

``methodic-fake serve`` runs as a real process. Uploads are cut off mid-body from
the client side (socket closed after half the bytes) and by a SIGKILL of the
server while bodies are streaming, several at once; each killed server leaves its
partial bodies in ``blobs/.tmp``, and the next server started on the data dir
removes them before it answers anything. Nothing half-written is ever visible as
a component, and the same uploads then succeed.
"""

from __future__ import annotations

import hashlib
import http.client
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from devserver import DevServer, request, serve_argv

SIZE = 1024 * 1024
BODY = bytes(range(256)) * (SIZE // 256)
SHA = hashlib.sha256(BODY).hexdigest()
UPLOADS = 4


def _presign(dev: DevServer, name: str) -> tuple[str, str]:
    status, exp = request(f"{dev.base_url}/experiments", "POST", {"title": name}, dev.token)
    assert status == 201, exp
    status, created = request(
        f"{dev.base_url}/assets",
        "POST",
        {
            "kind": "checkpoint",
            "name": name,
            "experiment_id": exp["id"],
            "presign": True,
            "components": [{"name": "model.bin", "size": SIZE, "sha256": SHA}],
        },
        dev.token,
    )
    assert status == 201, created
    return created["asset"]["id"], created["upload_urls"]["model.bin"]


def _start_put(url: str) -> http.client.HTTPConnection:
    """Send the headers and half the body of a PUT, and leave it hanging."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    conn.putrequest("PUT", f"{parts.path}?{parts.query}", skip_accept_encoding=True)
    conn.putheader("content-length", str(SIZE))
    conn.endheaders()
    conn.send(BODY[: SIZE // 2])
    return conn


def _temp_files(data_dir: Path) -> list[Path]:
    tmp = data_dir / "blobs" / ".tmp"
    return sorted(tmp.iterdir()) if tmp.is_dir() else []


def _wait_for(condition: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_temp_files_of_killed_uploads_are_removed_at_startup(tmp_path: Path, figures: Any) -> None:
    data_dir = tmp_path / "data"
    dev = DevServer(serve_argv(data_dir))
    uploads = [_presign(dev, f"upload {i}") for i in range(UPLOADS)]
    conns = [_start_put(url) for _, url in uploads]
    try:
        # Half of every body has reached the disk: then the server dies.
        _wait_for(lambda: len(_temp_files(data_dir)) == UPLOADS)
        _wait_for(lambda: all(p.stat().st_size >= SIZE // 4 for p in _temp_files(data_dir)))
        dev.kill()
    finally:
        for conn in conns:
            conn.close()
    orphans = _temp_files(data_dir)
    assert len(orphans) == UPLOADS, orphans

    dev = DevServer(serve_argv(data_dir))
    try:
        assert _temp_files(data_dir) == [], "orphan temp files survived a restart"
        for asset_id, url in uploads:
            status, asset = request(f"{dev.base_url}/assets/{asset_id}", token=dev.token)
            assert status == 200 and asset["state"] == "pending"
            assert asset["components"][0]["uploaded"] is False
            # The same presigned URL works once the server is back (on its new port).
            parts, server = urlsplit(url), urlsplit(dev.base_url)
            conn = http.client.HTTPConnection(server.hostname or "", server.port, timeout=30)
            conn.request("PUT", f"{parts.path}?{parts.query}", body=BODY)
            response = conn.getresponse()
            response.read()
            conn.close()
            assert response.status == 200
            status, ready = request(
                f"{dev.base_url}/assets/{asset_id}/finalize", "PUT", token=dev.token
            )
            assert status == 200 and ready["state"] == "ready", ready
        assert _temp_files(data_dir) == []
    finally:
        assert dev.stop() == 0, dev.stderr
    figures.set("temp files of SIGKILLed uploads removed at restart", len(orphans))


def test_an_upload_cut_off_by_the_client_leaves_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    dev = DevServer(serve_argv(data_dir))
    try:
        _, url = _presign(dev, "cut off")
        conn = _start_put(url)
        _wait_for(lambda: len(_temp_files(data_dir)) == 1)
        conn.close()
        _wait_for(lambda: _temp_files(data_dir) == [])
    finally:
        assert dev.stop() == 0, dev.stderr
