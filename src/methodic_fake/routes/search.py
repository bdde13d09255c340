"""`GET /search`: 503 while search is not configured, as the real server does."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from methodic_fake import wire_models as wire
from methodic_fake.backend import SEARCH_TYPES
from methodic_fake.deps import BackendDep, PrincipalDep
from methodic_fake.errors import BadRequest

router = APIRouter(tags=["search"])
DEFAULT_SEARCH_LIMIT = 10
MAX_SEARCH_LIMIT = 100


@router.get(
    "/search",
    name="search.query",
    response_model=None,
    responses=wire.documented(wire.SearchResponse, 400, 503),
)
async def search(
    backend: BackendDep,
    principal: PrincipalDep,
    q: Annotated[str, Query(min_length=1, max_length=1000)],
    types: Annotated[list[str] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_SEARCH_LIMIT)] = DEFAULT_SEARCH_LIMIT,
) -> dict[str, Any]:
    # `types` arrives comma-separated (`types=research_report,arxiv`) or repeated.
    wanted = [t.strip() for value in types or [] for t in value.split(",") if t.strip()]
    unknown = sorted(set(wanted) - set(SEARCH_TYPES))
    if unknown:
        raise BadRequest(
            f"unknown search types {', '.join(unknown)}: search indexes ready assets of the "
            f"kinds {', '.join(SEARCH_TYPES)}, and a hit's type is its asset's kind"
        )
    return backend.search(q, wanted or None, limit)
