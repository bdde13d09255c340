"""`/_storage`: the fake's object store, reached only through presigned URLs.

It plays the part of the cloud bucket, so it takes no bearer token (and refuses
one, as S3 refuses a second auth mechanism): the signature in the URL is the
authorisation. Uploads stream to disk; downloads stream from disk and honour a
single `Range`.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.requests import ClientDisconnect

from methodic_fake.deps import BackendDep
from methodic_fake.errors import BadRequest, Forbidden, NotFound, RangeNotSatisfiable
from methodic_fake.mediatypes import header_value

router = APIRouter(include_in_schema=False)
CHUNK = 64 * 1024
# Bytes we read and throw away after rejecting an oversized upload, so the client
# can finish sending and read our 400 instead of seeing a broken pipe.
DRAIN_LIMIT = 64 * 1024 * 1024
# Range units are case-insensitive (RFC 9110 section 14.1); positions are ASCII digits.
_RANGE = re.compile(r"bytes=([0-9]*)-([0-9]*)", re.IGNORECASE)


def _query(request: Request) -> dict[str, str]:
    items = request.query_params.multi_items()
    query = dict(items)
    if len(query) != len(items):
        raise Forbidden("invalid presigned URL: repeated query parameters")
    return query


def _no_bearer(request: Request) -> None:
    if "authorization" in request.headers:
        raise BadRequest(
            "storage URLs are presigned: send no Authorization header (the bearer "
            "token must never reach storage)"
        )


@router.put("/_storage/{asset_id}/{component}", name="storage.put")
async def put_component(
    asset_id: str, component: str, request: Request, backend: BackendDep
) -> JSONResponse:
    _no_bearer(request)
    writer = backend.assets.begin_upload(asset_id, component, _query(request))
    declared = request.headers.get("content-length")
    try:
        if declared is not None and declared.isdigit() and int(declared) > writer.max_size:
            writer.discard()
            raise BadRequest(
                f"upload of {declared} bytes exceeds the registered size of {writer.max_size}"
            )
        async for chunk in request.stream():
            writer.write(chunk)
    except BadRequest:
        await _drain(request)
        raise
    except ClientDisconnect:
        # The client went away mid-upload (a crashed runner): keep nothing, and
        # answer nobody rather than logging an application error.
        writer.discard()
        return JSONResponse({"detail": "client disconnected"}, status_code=400)
    except BaseException:
        writer.discard()  # a broken or cancelled upload leaves nothing behind
        raise
    size, sha = backend.assets.complete_upload(asset_id, component, writer)
    # The ETag says what was stored, so a client can compare it with what it sent.
    return JSONResponse({"size": size}, headers={"ETag": f'"{sha}"'})


async def _drain(request: Request) -> None:
    drained = 0
    try:
        async for chunk in request.stream():
            drained += len(chunk)
            if drained > DRAIN_LIMIT:
                break
    except Exception:  # the client gave up; nothing to drain
        return


@router.api_route("/_storage/{asset_id}/{component}", methods=["GET", "HEAD"], name="storage.get")
async def get_component(
    asset_id: str, component: str, request: Request, backend: BackendDep
) -> Response:
    _no_bearer(request)
    download = backend.assets.open_download(asset_id, component, _query(request))
    try:
        size = download.path.stat().st_size
    except FileNotFoundError:  # bytes removed from the data dir behind our back
        raise NotFound(f"asset {asset_id} component {component!r} has no stored bytes") from None
    headers = _download_headers(component, download.sha256, download.content_type)
    start, end, status = 0, size - 1, 200
    range_header = request.headers.get("range")
    if range_header:
        start, end = _parse_range(range_header, size)
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    headers["Content-Length"] = str(max(0, end - start + 1))
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers)
    return StreamingResponse(
        _iter_file(download.path, start, end + 1), status_code=status, headers=headers
    )


def _download_headers(component: str, sha256: str, content_type: str | None) -> dict[str, str]:
    """Headers of a download: what it is, and never active content on this origin.

    Storage shares its origin with the dashboard and /_fake/keys, so a stored HTML or
    SVG page opened in a browser would run its script with the researcher's token in
    reach. Every component is therefore an attachment (named by the last segment of
    its name, RFC 6266), sandboxed with no resources of its own should a browser
    render it anyway, and never sniffed into something else. A content type that is
    not a media type (stored before registration checked it) is served as
    application/octet-stream rather than breaking the response.
    """
    name = component.rsplit("/", 1)[-1] or "download"
    fallback = "".join(ch if " " <= ch <= "~" and ch not in '"\\%' else "_" for ch in name)
    return {
        "Accept-Ranges": "bytes",
        "ETag": f'"{sha256}"',
        "Content-Type": header_value(content_type),
        "Content-Disposition": (
            f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
        ),
        "Content-Security-Policy": "sandbox; default-src 'none'",
        "X-Content-Type-Options": "nosniff",
    }


def _parse_range(header: str, size: int) -> tuple[int, int]:
    """One `bytes=` range -> inclusive (start, end); 416 when it cannot be served."""
    match = _RANGE.fullmatch(header.strip())
    if match is None or match.group(1) == match.group(2) == "":
        raise RangeNotSatisfiable(
            f"unsupported Range {header!r}: use one bytes=start-end range",
            headers={"Content-Range": f"bytes */{size}"},
        )
    first, last = match.group(1), match.group(2)
    if first == "":  # suffix: the last N bytes
        start, end = max(0, size - int(last)), size - 1
    else:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        raise RangeNotSatisfiable(
            f"Range {header!r} is outside the {size}-byte object",
            headers={"Content-Range": f"bytes */{size}"},
        )
    return start, end


async def _iter_file(path: Path, start: int, stop: int) -> AsyncIterator[bytes]:
    with open(path, "rb") as fh:
        fh.seek(start)
        remaining = stop - start
        while remaining > 0:
            chunk = fh.read(min(CHUNK, remaining))
            if not chunk:
                return
            remaining -= len(chunk)
            yield chunk
