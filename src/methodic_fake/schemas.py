"""Request bodies as pydantic models: FastAPI turns violations into 422s.

Fields mirror docs/api.md. Unknown fields are ignored (a newer client talking to
an older server must not break), as FastAPI does by default.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

SHA256_PATTERN = r"^[0-9a-f]{64}$"


class ExperimentCreate(BaseModel):
    title: str = Field(min_length=1, max_length=500)
    hypothesis: str | None = None
    description: str | None = None
    parent_ids: list[str] | None = None
    tags: list[str] | None = None


class ExperimentUpdate(BaseModel):
    title: str | None = Field(default=None, min_length=1, max_length=500)
    hypothesis: str | None = None
    description: str | None = None
    tags: list[str] | None = None


class ConcludeBody(BaseModel):
    conclusion: str


class RetractBody(BaseModel):
    reason: str


class VariationCreate(BaseModel):
    name: str | None = None
    config_yaml: str | None = None
    config_json: dict[str, Any] | None = None
    accelerate_config_json: dict[str, Any] | None = None
    launch_config: dict[str, Any] | None = None


class RunCreate(BaseModel):
    resume_from_run_id: str | None = None


class RunStart(BaseModel):
    environment: dict[str, Any] | None = None


class Heartbeat(BaseModel):
    progress: dict[str, Any] | None = None


class RunFail(BaseModel):
    reason: Literal["abandoned", "crash"]
    message: str | None = None


class ComponentIn(BaseModel):
    name: str
    size: int = Field(ge=0)
    sha256: str = Field(pattern=SHA256_PATTERN)
    content_type: str | None = None


class AssetCreate(BaseModel):
    """Presigned (`presign: true` + `components`) or inline (`content`)."""

    kind: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=500)
    run_id: str | None = None
    experiment_id: str | None = None
    metadata: dict[str, Any] | None = None
    presign: bool = False
    components: list[ComponentIn] | None = None
    content: str | None = None
    content_type: str | None = None

    @model_validator(mode="after")
    def _one_mode(self) -> AssetCreate:
        if self.presign:
            if self.components is None:
                raise ValueError("presign: true needs components")
            if self.content is not None:
                raise ValueError("content cannot be combined with presign: true")
        elif self.content is None:
            raise ValueError("send either presign: true with components, or inline content")
        elif self.components is not None:
            raise ValueError("components need presign: true")
        return self


class FaultIn(BaseModel):
    operation: str
    kind: Literal["status", "reset", "truncate", "latency"]
    status: int = 503
    detail: str | None = None
    times: int = Field(default=1, ge=1)
    after_bytes: int = Field(default=0, ge=0)
    seconds: float = Field(default=0.0, ge=0)
    retry_after: int | None = None
    phase: Literal["before", "after"] = "before"


class ClockAdvance(BaseModel):
    seconds: float = Field(ge=0)


class SearchToggle(BaseModel):
    configured: bool
