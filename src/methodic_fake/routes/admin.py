"""`/_fake/...`: control the fake over HTTP (hidden from the OpenAPI schema).

For the dev server and for tests in other processes. Only loopback clients (and
the in-process test client) may call these, because `/_fake/keys` hands out keys.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from methodic_fake.clock import isoformat
from methodic_fake.deps import BackendDep
from methodic_fake.errors import BadRequest, Forbidden
from methodic_fake.faults import OPERATIONS
from methodic_fake.schemas import ClockAdvance, FaultIn, SearchToggle


def _loopback_only(request: Request) -> None:
    host = request.client.host if request.client else ""
    if host in ("testclient", "localhost"):
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    raise Forbidden("the /_fake admin API only answers loopback clients")


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
    return {"now": isoformat(backend.clock.now()), "offset_seconds": backend.clock.offset}


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
