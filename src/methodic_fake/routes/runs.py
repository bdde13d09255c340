"""Run routes: creation under a variation, then everything under `/runs/{id}`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from methodic_fake import wire_models as wire
from methodic_fake.deps import BackendDep, IdempotencyKey, PrincipalDep
from methodic_fake.pagination import DEFAULT_ORDER, MAX_LIMIT, Order
from methodic_fake.schemas import Heartbeat, RunCreate, RunFail, RunStart

router = APIRouter(tags=["runs"])
RunState = Literal["pending", "running", "succeeded", "failed"]


@router.post(
    "/variations/{variation_id}/runs",
    name="runs.create",
    status_code=201,
    response_model=None,
    responses=wire.documented(wire.Run, 403, 404, 409, status=201),
)
async def create_run(
    variation_id: str,
    backend: BackendDep,
    principal: PrincipalDep,
    body: RunCreate | None = None,
    key: IdempotencyKey = None,
) -> JSONResponse:
    resume = body.resume_from_run_id if body else None
    result = backend.idempotent(
        principal,
        "runs.create",
        key,
        lambda: backend.runs.create(principal, variation_id, resume_from_run_id=resume),
        params={"variation_id": variation_id, "resume_from_run_id": resume},
    )
    return JSONResponse(result, status_code=201)


@router.get(
    "/runs", name="runs.list", response_model=None, responses=wire.documented(wire.RunPage, 400)
)
async def list_runs(
    backend: BackendDep,
    principal: PrincipalDep,
    variation_id: str | None = None,
    experiment_id: str | None = None,
    state: RunState | None = None,
    limit: Annotated[int | None, Query(ge=1, le=MAX_LIMIT)] = None,
    cursor: str | None = None,
    order: Order = DEFAULT_ORDER,
) -> dict[str, Any]:
    return backend.runs.list(
        variation_id=variation_id,
        experiment_id=experiment_id,
        state=state,
        limit=limit,
        cursor=cursor,
        order=order,
    )


@router.get(
    "/runs/{run_id}", name="runs.get", response_model=None, responses=wire.documented(wire.Run, 404)
)
async def get_run(run_id: str, backend: BackendDep, principal: PrincipalDep) -> dict[str, Any]:
    return backend.runs.get(run_id)


@router.get(
    "/runs/{run_id}/config",
    name="runs.config",
    response_model=None,
    responses=wire.documented(wire.VariationConfig, 404),
)
async def run_config(run_id: str, backend: BackendDep, principal: PrincipalDep) -> dict[str, Any]:
    return backend.runs.config(run_id)


@router.post(
    "/runs/{run_id}/start",
    name="runs.start",
    response_model=None,
    responses=wire.documented(wire.Run, 404, 409),
)
async def start_run(
    run_id: str, backend: BackendDep, principal: PrincipalDep, body: RunStart | None = None
) -> dict[str, Any]:
    return backend.runs.start(run_id, environment=body.environment if body else None)


@router.post(
    "/runs/{run_id}/heartbeat",
    name="runs.heartbeat",
    response_model=None,
    responses=wire.documented(wire.Run, 404, 409),
)
async def heartbeat(
    run_id: str, backend: BackendDep, principal: PrincipalDep, body: Heartbeat | None = None
) -> dict[str, Any]:
    return backend.runs.heartbeat(run_id, progress=body.progress if body else None)


@router.post(
    "/runs/{run_id}/succeed",
    name="runs.succeed",
    response_model=None,
    responses=wire.documented(wire.Run, 404, 409),
)
async def succeed_run(run_id: str, backend: BackendDep, principal: PrincipalDep) -> dict[str, Any]:
    return backend.runs.succeed(run_id)


@router.post(
    "/runs/{run_id}/fail",
    name="runs.fail",
    response_model=None,
    responses=wire.documented(wire.Run, 404, 409),
)
async def fail_run(
    run_id: str, body: RunFail, backend: BackendDep, principal: PrincipalDep
) -> dict[str, Any]:
    return backend.runs.fail(run_id, reason=body.reason, message=body.message)


@router.get(
    "/runs/{run_id}/checkpoint",
    name="runs.checkpoint",
    response_model=None,
    responses=wire.documented(wire.Asset, 404),
)
async def run_checkpoint(
    run_id: str, backend: BackendDep, principal: PrincipalDep
) -> dict[str, Any]:
    return backend.runs.checkpoint(run_id)
