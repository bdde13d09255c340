"""Request bodies as pydantic models: FastAPI turns violations into 422s.

Fields mirror docs/api.md. Unknown fields are ignored (a newer client talking to
an older server must not break), as FastAPI does by default.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, model_validator

from methodic_fake.clock import MAX_ADVANCE
from methodic_fake.faults import (
    MAX_AFTER_BYTES,
    MAX_LATENCY,
    MAX_RETRY_AFTER,
    MAX_TIMES,
)
from methodic_fake.jsonlimits import check_json, check_text
from methodic_fake.mediatypes import check_media_type

SHA256_PATTERN = r"^[0-9a-f]{64}$"
# The largest single object S3 and GCS store; also keeps sizes exact in every JSON client.
MAX_COMPONENT_SIZE = 5 * 1024**4

# Text that can be written back as UTF-8, and JSON objects that can be stored and
# re-encoded (finite numbers, bounded depth): see jsonlimits.py.
Text = Annotated[str, AfterValidator(check_text)]
JsonObject = Annotated[dict[str, Any], AfterValidator(check_json)]
# Served back as a storage response's Content-Type header: see mediatypes.py.
MediaType = Annotated[str, AfterValidator(check_media_type)]


class ExperimentCreate(BaseModel):
    title: Text = Field(min_length=1, max_length=500)
    hypothesis: Text | None = None
    description: Text | None = None
    parent_ids: list[Text] | None = None
    tags: list[Text] | None = None


class ExperimentUpdate(BaseModel):
    title: Text | None = Field(default=None, min_length=1, max_length=500)
    hypothesis: Text | None = None
    description: Text | None = None
    tags: list[Text] | None = None


class ConcludeBody(BaseModel):
    conclusion: Text


class RetractBody(BaseModel):
    reason: Text


class VariationCreate(BaseModel):
    name: Text | None = None
    config_yaml: Text | None = None
    config_json: JsonObject | None = None
    accelerate_config_json: JsonObject | None = None
    launch_config: JsonObject | None = None


class RunCreate(BaseModel):
    resume_from_run_id: Text | None = None


class RunStart(BaseModel):
    environment: JsonObject | None = None


class Heartbeat(BaseModel):
    progress: JsonObject | None = None


class RunFail(BaseModel):
    reason: Literal["abandoned", "crash"]
    message: Text | None = None


class ComponentIn(BaseModel):
    name: Text
    size: int = Field(ge=0, le=MAX_COMPONENT_SIZE)
    sha256: Text = Field(pattern=SHA256_PATTERN)
    content_type: MediaType | None = None


class AssetCreate(BaseModel):
    """Presigned (`presign: true` + `components`) or inline (`content`)."""

    kind: Text = Field(min_length=1, max_length=64)
    name: Text = Field(min_length=1, max_length=500)
    run_id: Text | None = None
    experiment_id: Text | None = None
    metadata: JsonObject | None = None
    presign: bool = False
    components: list[ComponentIn] | None = None
    content: Text | None = None
    content_type: MediaType | None = None

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
    operation: Text
    kind: Literal["status", "reset", "truncate", "latency", "raise"]
    status: int = Field(default=503, ge=400, le=599)
    detail: Text | None = Field(default=None, max_length=1000)
    times: int = Field(default=1, ge=1, le=MAX_TIMES)
    after_bytes: int = Field(default=0, ge=0, le=MAX_AFTER_BYTES)
    seconds: float = Field(default=0.0, ge=0, le=MAX_LATENCY, allow_inf_nan=False)
    retry_after: int | None = Field(default=None, ge=0, le=MAX_RETRY_AFTER)
    phase: Literal["before", "after"] = "before"


class ClockAdvance(BaseModel):
    seconds: float = Field(ge=0, le=MAX_ADVANCE, allow_inf_nan=False)


class SearchToggle(BaseModel):
    configured: bool
