"""Records the fake keeps, and their wire form.

Records hold timestamps as integer microseconds since the Unix epoch (the fake's
clock, see clock.py) so the watchdog's arithmetic is exact; `wire()` renders RFC
3339 strings. Fields
whose names start with `_` or that are listed in `_INTERNAL` never reach the wire.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from methodic_fake.clock import isoformat, to_us

R = TypeVar("R", bound="Record")


def new_id() -> str:
    """A fresh resource id (UUID4 string, as Chronicle uses)."""
    return str(uuid.uuid4())


@dataclass
class Record:
    """Common base: an id, a creation time, and an insertion sequence for paging."""

    KIND: ClassVar[str] = ""
    _TIMES: ClassVar[tuple[str, ...]] = ("created_at",)
    _INTERNAL: ClassVar[tuple[str, ...]] = ("seq",)

    id: str
    created_at: int
    seq: int

    def wire(self) -> dict[str, Any]:
        """The JSON object the API returns for this record."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if f.name in self._INTERNAL:
                continue
            value = getattr(self, f.name)
            if f.name in self._TIMES:
                value = isoformat(value)
            elif isinstance(value, list):
                value = [v.wire() if isinstance(v, Component) else v for v in value]
            out[f.name] = value
        return out

    def dump(self) -> dict[str, Any]:
        """Everything, JSON-serialisable, for persistence."""
        return dataclasses.asdict(self)

    @classmethod
    def load(cls: type[R], data: dict[str, Any]) -> R:
        """Inverse of `dump()` (also reads the float seconds of older data dirs)."""
        return cls(**_times_in_us(cls, data))


@dataclass
class Experiment(Record):
    """An experiment (see machines.EXPERIMENT for its states)."""

    KIND: ClassVar[str] = "experiment"
    _TIMES: ClassVar[tuple[str, ...]] = (
        "created_at",
        "updated_at",
        "committed_at",
        "concluded_at",
        "retracted_at",
    )

    title: str = ""
    state: str = "draft"
    updated_at: int = 0
    hypothesis: str | None = None
    description: str | None = None
    parent_ids: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    committed_at: int | None = None
    concluded_at: int | None = None
    retracted_at: int | None = None
    conclusion: str | None = None
    retraction_reason: str | None = None


@dataclass
class Variation(Record):
    """A config of an experiment; `config_json` is what runs receive."""

    KIND: ClassVar[str] = "variation"

    experiment_id: str = ""
    name: str | None = None
    config_yaml: str | None = None
    config_json: dict[str, Any] = field(default_factory=dict)
    accelerate_config_json: dict[str, Any] | None = None
    launch_config: dict[str, Any] | None = None


@dataclass
class Run(Record):
    """One execution of a variation (see machines.RUN and watchdog.py)."""

    KIND: ClassVar[str] = "run"
    _TIMES: ClassVar[tuple[str, ...]] = (
        "created_at",
        "started_at",
        "last_heartbeat_at",
        "finished_at",
    )

    variation_id: str = ""
    experiment_id: str = ""
    state: str = "pending"
    failure_reason: str | None = None
    failure_message: str | None = None
    environment: dict[str, Any] | None = None
    progress: dict[str, Any] | None = None
    resume_from_run_id: str | None = None
    started_at: int | None = None
    last_heartbeat_at: int | None = None
    finished_at: int | None = None


@dataclass
class Component:
    """One named blob of an asset. `stored_*` describe what storage actually holds."""

    name: str
    size: int
    sha256: str
    content_type: str | None = None
    uploaded: bool = False
    stored_size: int | None = None
    stored_sha256: str | None = None

    def wire(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "size": self.size,
            "sha256": self.sha256,
            "content_type": self.content_type,
            "uploaded": self.uploaded,
        }

    def matches(self) -> bool:
        """True when the stored bytes are exactly the registered ones."""
        return self.uploaded and self.stored_size == self.size and self.stored_sha256 == self.sha256


@dataclass
class Asset(Record):
    """Files attached to a run or experiment; immutable once ready."""

    KIND: ClassVar[str] = "asset"
    _TIMES: ClassVar[tuple[str, ...]] = ("created_at", "finalized_at")

    kind: str = ""
    name: str = ""
    state: str = "pending"
    run_id: str | None = None
    experiment_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    components: list[Component] = field(default_factory=list)
    finalized_at: int | None = None

    def component(self, name: str) -> Component | None:
        for comp in self.components:
            if comp.name == name:
                return comp
        return None

    @classmethod
    def load(cls, data: dict[str, Any]) -> Asset:
        data = _times_in_us(cls, data)
        data["components"] = [Component(**c) for c in data.get("components", [])]
        return cls(**data)


def _times_in_us(cls: type[Record], data: dict[str, Any]) -> dict[str, Any]:
    """`data` with timestamps as integer microseconds.

    Data dirs written before time was exact hold float seconds; today's hold ints.
    """
    data = dict(data)
    for name in cls._TIMES:
        value = data.get(name)
        if isinstance(value, float):
            data[name] = to_us(value)
    return data


RECORD_TYPES: dict[str, type[Record]] = {t.KIND: t for t in (Experiment, Variation, Run, Asset)}
