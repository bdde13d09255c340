"""`/experiments` routes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from methodic_fake import wire_models as wire
from methodic_fake.deps import BackendDep, IdempotencyKey, PrincipalDep
from methodic_fake.pagination import DEFAULT_ORDER, MAX_LIMIT, Order
from methodic_fake.schemas import ConcludeBody, ExperimentCreate, ExperimentUpdate, RetractBody

router = APIRouter(tags=["experiments"])
Limit = Annotated[int | None, Query(ge=1, le=MAX_LIMIT)]
State = Literal["draft", "committed", "concluded", "retracted"]


@router.post(
    "/experiments",
    name="experiments.create",
    status_code=201,
    response_model=None,
    responses=wire.documented(wire.Experiment, 400, 403, 404, status=201),
)
async def create_experiment(
    body: ExperimentCreate, backend: BackendDep, principal: PrincipalDep, key: IdempotencyKey = None
) -> JSONResponse:
    result = backend.idempotent(
        principal,
        "experiments.create",
        key,
        lambda: backend.experiments.create(principal, **body.model_dump()),
        params=body.model_dump(),
    )
    return JSONResponse(result, status_code=201)


@router.get(
    "/experiments",
    name="experiments.list",
    response_model=None,
    responses=wire.documented(wire.ExperimentPage, 400),
)
async def list_experiments(
    backend: BackendDep,
    principal: PrincipalDep,
    state: State | None = None,
    tag: str | None = None,
    parent_id: str | None = None,
    limit: Limit = None,
    cursor: str | None = None,
    order: Order = DEFAULT_ORDER,
) -> dict[str, Any]:
    return backend.experiments.list(
        state=state, tag=tag, parent_id=parent_id, limit=limit, cursor=cursor, order=order
    )


@router.get(
    "/experiments/{experiment_id}",
    name="experiments.get",
    response_model=None,
    responses=wire.documented(wire.ExperimentDetail, 404),
)
async def get_experiment(
    experiment_id: str, backend: BackendDep, principal: PrincipalDep
) -> dict[str, Any]:
    return backend.experiments.get(experiment_id)


@router.patch(
    "/experiments/{experiment_id}",
    name="experiments.update",
    response_model=None,
    responses=wire.documented(wire.Experiment, 403, 404, 409),
)
async def update_experiment(
    experiment_id: str, body: ExperimentUpdate, backend: BackendDep, principal: PrincipalDep
) -> dict[str, Any]:
    return backend.experiments.update(principal, experiment_id, **body.model_dump())


@router.post(
    "/experiments/{experiment_id}/commit",
    name="experiments.commit",
    response_model=None,
    responses=wire.documented(wire.Experiment, 403, 404, 409),
)
async def commit_experiment(
    experiment_id: str, backend: BackendDep, principal: PrincipalDep
) -> dict[str, Any]:
    return backend.experiments.commit(principal, experiment_id)


@router.post(
    "/experiments/{experiment_id}/conclude",
    name="experiments.conclude",
    response_model=None,
    responses=wire.documented(wire.Experiment, 403, 404, 409),
)
async def conclude_experiment(
    experiment_id: str, body: ConcludeBody, backend: BackendDep, principal: PrincipalDep
) -> dict[str, Any]:
    return backend.experiments.conclude(principal, experiment_id, body.conclusion)


@router.post(
    "/experiments/{experiment_id}/retract",
    name="experiments.retract",
    response_model=None,
    responses=wire.documented(wire.Experiment, 403, 404, 409),
)
async def retract_experiment(
    experiment_id: str, body: RetractBody, backend: BackendDep, principal: PrincipalDep
) -> dict[str, Any]:
    return backend.experiments.retract(principal, experiment_id, body.reason)


@router.get(
    "/experiments/{experiment_id}/lineage",
    name="experiments.lineage",
    response_model=None,
    responses=wire.documented(wire.LineageResponse, 400, 404),
)
async def experiment_lineage(
    experiment_id: str,
    backend: BackendDep,
    principal: PrincipalDep,
    direction: Literal["ancestors", "descendants", "both"] = "both",
    depth: Annotated[int | None, Query(ge=1)] = None,
) -> dict[str, Any]:
    return backend.experiments.lineage(experiment_id, direction=direction, depth=depth)
