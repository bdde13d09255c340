"""`/_fake/...`: control the fake over HTTP (hidden from the OpenAPI schema).

For the dev server and for tests in other processes. `/_fake/keys` hands out keys
and `/_fake/reset` wipes everything, so three checks guard every call: the client
is on loopback; the `Host` header names loopback (a DNS-rebinding page reaches
127.0.0.1 under its own host name); and any `Origin` header is a loopback origin
(a cross-site form or `fetch` carries the attacker's origin, and a text/plain POST
needs no preflight).
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from methodic_fake.clock import isoformat
from methodic_fake.deps import BackendDep
from methodic_fake.errors import BadRequest, Forbidden
from methodic_fake.faults import OPERATIONS
from methodic_fake.schemas import ClockAdvance, FaultIn, SearchToggle

# "testclient"/"testserver": starlette's TestClient (the in-process harness).
_LOOPBACK_NAMES = ("localhost", "testclient", "testserver")


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    # An IPv4 client of a dual-stack socket arrives as ::ffff:127.0.0.1, which
    # `ipaddress` does not call loopback (it is not ::1).
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def _hostname(authority: str) -> str | None:
    """The host of `host[:port]` (brackets stripped from IPv6), or None if malformed."""
    try:
        parts = urlsplit("//" + authority)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        return None
    return parts.hostname


def _loopback_only(request: Request) -> None:
    if not _is_loopback(request.client.host if request.client else None):
        raise Forbidden("the /_fake admin API only answers loopback clients")
    if not _is_loopback(_hostname(request.headers.get("host", ""))):
        raise Forbidden("the /_fake admin API only answers requests whose Host is loopback")
    origin = request.headers.get("origin")
    if origin is not None:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not _is_loopback(_hostname(parts.netloc)):
            raise Forbidden("the /_fake admin API refuses cross-origin requests (Origin header)")


router = APIRouter(prefix="/_fake", include_in_schema=False, dependencies=[Depends(_loopback_only)])


@router.get("/faults")
async def list_faults(backend: BackendDep) -> dict[str, Any]:
    return {"faults": backend.faults.pending(), "operations": list(OPERATIONS)}


@router.post("/faults", status_code=201)
async def add_fault(body: FaultIn, backend: BackendDep) -> JSONResponse:
    try:
        backend.faults.add(**body.model_dump())
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    return JSONResponse({"faults": backend.faults.pending()}, status_code=201)


@router.delete("/faults", status_code=204)
async def clear_faults(backend: BackendDep, operation: str | None = None) -> Response:
    backend.faults.clear(operation)
    return Response(status_code=204)


@router.post("/reset", status_code=204)
async def reset(backend: BackendDep) -> Response:
    backend.reset()
    return Response(status_code=204)


def _clock(backend: Any) -> dict[str, Any]:
    clock = backend.clock
    return {
        "now": isoformat(clock.now_us()),
        "offset_seconds": clock.offset,
        "frozen": clock.frozen,
    }


@router.get("/clock")
async def get_clock(backend: BackendDep) -> dict[str, Any]:
    return _clock(backend)


@router.post("/clock/advance")
async def advance_clock(body: ClockAdvance, backend: BackendDep) -> dict[str, Any]:
    try:
        backend.advance(body.seconds)
    except ValueError as exc:  # the total offset would leave the clock's range
        raise BadRequest(str(exc)) from None
    return _clock(backend)


@router.post("/clock/freeze")
async def freeze_clock(backend: BackendDep) -> dict[str, Any]:
    backend.clock.freeze()
    return _clock(backend)


@router.post("/clock/unfreeze")
async def unfreeze_clock(backend: BackendDep) -> dict[str, Any]:
    backend.clock.unfreeze()
    return _clock(backend)


@router.get("/keys")
async def keys(backend: BackendDep) -> dict[str, str]:
    return backend.keys.keys


@router.get("/search")
async def get_search(backend: BackendDep) -> dict[str, bool]:
    return {"configured": backend.search_configured}


@router.put("/search")
async def set_search(body: SearchToggle, backend: BackendDep) -> dict[str, bool]:
    backend.search_configured = body.configured
    return {"configured": backend.search_configured}
