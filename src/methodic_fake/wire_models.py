"""Response models for the OpenAPI schema (documentation only).

Routes return plain dicts built by the domain; these models describe those dicts
so `/openapi.json` is a faithful, checkable contract (schemathesis validates the
fake against it). They are attached with `responses=`, not `response_model=`, so
no request pays for re-validating what the domain already produced.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel


class ErrorBody(BaseModel):
    detail: str


class Experiment(BaseModel):
    id: str
    title: str
    state: Literal["draft", "committed", "concluded", "retracted"]
    hypothesis: str | None
    description: str | None
    parent_ids: list[str]
    tags: list[str]
    created_at: str
    updated_at: str
    committed_at: str | None
    concluded_at: str | None
    retracted_at: str | None
    conclusion: str | None
    retraction_reason: str | None


class Variation(BaseModel):
    id: str
    experiment_id: str
    name: str | None
    config_yaml: str | None
    config_json: dict[str, Any]
    accelerate_config_json: dict[str, Any] | None
    launch_config: dict[str, Any] | None
    created_at: str


class ExperimentDetail(Experiment):
    variations: list[Variation]
    run_counts: dict[str, int]


class Run(BaseModel):
    id: str
    variation_id: str
    experiment_id: str
    state: Literal["pending", "running", "succeeded", "failed"]
    failure_reason: Literal["abandoned", "crash", "heartbeat_timeout"] | None
    failure_message: str | None
    environment: dict[str, Any] | None
    progress: dict[str, Any] | None
    resume_from_run_id: str | None
    created_at: str
    started_at: str | None
    last_heartbeat_at: str | None
    finished_at: str | None


class VariationConfig(BaseModel):
    run_id: str
    variation_id: str
    experiment_id: str
    config_json: dict[str, Any]
    accelerate_config_json: dict[str, Any] | None
    launch_config: dict[str, Any] | None


class AssetComponent(BaseModel):
    name: str
    size: int
    sha256: str
    content_type: str | None
    uploaded: bool


class Asset(BaseModel):
    id: str
    kind: str
    name: str
    state: Literal["pending", "ready"]
    run_id: str | None
    experiment_id: str | None
    metadata: dict[str, Any]
    components: list[AssetComponent]
    created_at: str
    finalized_at: str | None


class PresignedAsset(BaseModel):
    asset: Asset
    upload_urls: dict[str, str]


class UploadUrls(BaseModel):
    upload_urls: dict[str, str]


class DownloadUrls(BaseModel):
    urls: dict[str, str]


class LineageNode(BaseModel):
    id: str
    title: str
    state: str
    relation: Literal["root", "ancestor", "descendant"]
    depth: int


class LineageEdge(BaseModel):
    parent_id: str
    child_id: str


class LineageResponse(BaseModel):
    root_id: str
    nodes: list[LineageNode]
    edges: list[LineageEdge]


class SearchResult(BaseModel):
    type: Literal["research_report", "arxiv"]
    id: str
    title: str
    snippet: str | None
    score: float
    asset_id: str
    experiment_id: str | None


class SearchResponse(BaseModel):
    query: str
    total: int
    results: list[SearchResult]


# `POST /assets` answers a PresignedAsset (presign: true) or an Asset (inline).
PresignedOrInline = PresignedAsset | Asset


class ExperimentPage(BaseModel):
    items: list[Experiment]
    next_cursor: str | None


class VariationPage(BaseModel):
    items: list[Variation]
    next_cursor: str | None


class RunPage(BaseModel):
    items: list[Run]
    next_cursor: str | None


class AssetPage(BaseModel):
    items: list[Asset]
    next_cursor: str | None


_DESCRIPTIONS = {
    400: "Unparseable JSON, or well-formed but unacceptable (invalid YAML, bad component "
    "names, foreign cursor)",
    401: "Missing, malformed or unknown bearer token",
    403: "This principal may not do this (worker keys)",
    404: "Unknown id",
    409: "Illegal in the resource's current state (the detail names it)",
    413: "Inline content over 1 MiB",
    503: "Search is not configured",
}


def documented(model: Any, *errors: int, status: int = 200) -> dict[int | str, Any]:
    """`responses=` for a route: its success body plus `{"detail": str}` errors."""
    out: dict[int | str, Any] = {status: {"model": model, "description": "Success"}}
    # Any route may meet a body or query it cannot parse (400) or a bad token (401).
    for code in sorted({400, 401, *errors}):
        out[code] = {"model": ErrorBody, "description": _DESCRIPTIONS[code]}
    return out
