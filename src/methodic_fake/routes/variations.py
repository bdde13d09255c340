"""Variation routes (created under an experiment, read by id)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from methodic_fake import wire_models as wire
from methodic_fake.deps import BackendDep, PrincipalDep
from methodic_fake.pagination import DEFAULT_ORDER, MAX_LIMIT, Order
from methodic_fake.schemas import VariationCreate

router = APIRouter(tags=["variations"])


@router.post(
    "/experiments/{experiment_id}/variations",
    name="variations.create",
    status_code=201,
    response_model=None,
    responses=wire.documented(wire.Variation, 400, 403, 404, 409, status=201),
)
async def create_variation(
    experiment_id: str, body: VariationCreate, backend: BackendDep, principal: PrincipalDep
) -> JSONResponse:
    result = backend.variations.create(principal, experiment_id, **body.model_dump())
    return JSONResponse(result, status_code=201)


@router.get(
    "/experiments/{experiment_id}/variations",
    name="variations.list",
    response_model=None,
    responses=wire.documented(wire.VariationPage, 400, 404),
)
async def list_variations(
    experiment_id: str,
    backend: BackendDep,
    principal: PrincipalDep,
    limit: Annotated[int | None, Query(ge=1, le=MAX_LIMIT)] = None,
    cursor: str | None = None,
    order: Order = DEFAULT_ORDER,
) -> dict[str, Any]:
    return backend.variations.list(experiment_id, limit=limit, cursor=cursor, order=order)


@router.get(
    "/variations/{variation_id}",
    name="variations.get",
    response_model=None,
    responses=wire.documented(wire.Variation, 404),
)
async def get_variation(
    variation_id: str, backend: BackendDep, principal: PrincipalDep
) -> dict[str, Any]:
    return backend.variations.get(variation_id)
