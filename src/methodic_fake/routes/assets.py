"""`/assets` routes (the Chronicle side; the bytes go to /_storage)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from methodic_fake import wire_models as wire
from methodic_fake.deps import BackendDep, IdempotencyKey, PrincipalDep, base_url
from methodic_fake.pagination import DEFAULT_ORDER, MAX_LIMIT, Order
from methodic_fake.schemas import AssetCreate

router = APIRouter(tags=["assets"])


@router.post(
    "/assets",
    name="assets.create",
    status_code=201,
    response_model=None,
    responses=wire.documented(wire.PresignedOrInline, 400, 403, 404, 413, status=201),
)
async def create_asset(
    body: AssetCreate,
    request: Request,
    backend: BackendDep,
    principal: PrincipalDep,
    key: IdempotencyKey = None,
) -> JSONResponse:
    common: dict[str, Any] = {
        "kind": body.kind,
        "name": body.name,
        "run_id": body.run_id,
        "experiment_id": body.experiment_id,
        "metadata": body.metadata,
    }
    if body.presign:
        components = [c.model_dump() for c in body.components or []]
        url = base_url(request)

        def create() -> Any:
            return backend.assets.create_presigned(principal, url, components=components, **common)

    else:
        content = body.content or ""

        def create() -> Any:
            return backend.assets.create_inline(
                principal, content=content, content_type=body.content_type, **common
            )

    result = backend.idempotent(principal, "assets.create", key, create, params=body.model_dump())
    return JSONResponse(result, status_code=201)


@router.get(
    "/assets",
    name="assets.list",
    response_model=None,
    responses=wire.documented(wire.AssetPage, 400),
)
async def list_assets(
    backend: BackendDep,
    principal: PrincipalDep,
    run_id: str | None = None,
    experiment_id: str | None = None,
    kind: str | None = None,
    limit: Annotated[int | None, Query(ge=1, le=MAX_LIMIT)] = None,
    cursor: str | None = None,
    order: Order = DEFAULT_ORDER,
) -> dict[str, Any]:
    return backend.assets.list(
        run_id=run_id,
        experiment_id=experiment_id,
        kind=kind,
        limit=limit,
        cursor=cursor,
        order=order,
    )


@router.get(
    "/assets/{asset_id}",
    name="assets.get",
    response_model=None,
    responses=wire.documented(wire.Asset, 404),
)
async def get_asset(asset_id: str, backend: BackendDep, principal: PrincipalDep) -> dict[str, Any]:
    return backend.assets.get(asset_id)


@router.put(
    "/assets/{asset_id}/finalize",
    name="assets.finalize",
    response_model=None,
    responses=wire.documented(wire.Asset, 403, 404, 409),
)
async def finalize_asset(
    asset_id: str, backend: BackendDep, principal: PrincipalDep
) -> dict[str, Any]:
    return backend.assets.finalize(principal, asset_id)


@router.post(
    "/assets/{asset_id}/upload-urls",
    name="assets.upload_urls",
    response_model=None,
    responses=wire.documented(wire.UploadUrls, 403, 404, 409),
)
async def upload_urls(
    asset_id: str, request: Request, backend: BackendDep, principal: PrincipalDep
) -> dict[str, Any]:
    return backend.assets.upload_urls(principal, base_url(request), asset_id)


@router.get(
    "/assets/{asset_id}/download-urls",
    name="assets.download_urls",
    response_model=None,
    responses=wire.documented(wire.DownloadUrls, 404, 409),
)
async def download_urls(
    asset_id: str, request: Request, backend: BackendDep, principal: PrincipalDep
) -> dict[str, Any]:
    return backend.assets.download_urls(base_url(request), asset_id)
