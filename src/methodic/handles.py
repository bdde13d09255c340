"""Resource handles: ``Experiment`` and ``Variation`` (``Run`` lives in ``run.py``).

A handle is an id plus, optionally, the last server response for it. Reading a field
fetches on first use and caches; every mutation drops the cache and returns the
handle, so chains read fresh data without a ``refresh()``:

    exp = Experiment(chronicle, exp_id)          # no request yet
    v = exp.commit().variations.create(config_yaml="lr: 0.1")
    exp.committed_at                             # re-fetched after the commit

Handles send no HTTP themselves; they delegate to ``chronicle.<namespace>``. The cache
is per handle: two handles for one id do not share data.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypeVar, overload

from methodic import types
from methodic.types import Model, Page, _mapped

if TYPE_CHECKING:
    from methodic.client import Chronicle
    from methodic.run import Run

__all__ = ["Experiment", "ExperimentVariations", "Field", "Handle", "Variation", "VariationRuns"]

_D = TypeVar("_D", bound=Model)
_T = TypeVar("_T")
_H = TypeVar("_H", bound="Handle[Any]")


class Handle(Generic[_D]):
    """Shared base: an id, a lock-guarded cache of one model, fetch-on-read."""

    _model: ClassVar[type[Model]]

    def __init__(self, chronicle: Chronicle, ref: str | _D) -> None:
        self._chronicle = chronicle
        self._lock = threading.Lock()
        # Bumped by every invalidation, so a fetch that raced a mutation cannot
        # store the pre-mutation data it read.
        self._generation = 0
        if isinstance(ref, str):
            if not ref:
                raise ValueError(f"{type(self).__name__} id must not be empty")
            self._id = ref
            self._cache: _D | None = None
        elif isinstance(ref, self._model):
            self._id = ref.id  # type: ignore[attr-defined]
            self._cache = ref
        else:
            raise TypeError(
                f"{type(self).__name__}() takes an id or a methodic.types."
                f"{self._model.__name__}, not {type(ref).__name__}"
            )

    @property
    def id(self) -> str:
        """The resource id (never needs a request)."""
        return self._id

    @property
    def chronicle(self) -> Chronicle:
        """The client this handle sends its calls through."""
        return self._chronicle

    @property
    def data(self) -> _D:
        """The cached server response, fetched if there is none."""
        return self._data()

    def refresh(self: _H) -> _H:
        """Drop the cache so the next read re-fetches (for server-side changes)."""
        self._invalidate()
        return self

    def to_dict(self) -> dict[str, Any]:
        """The cached server response as a dict."""
        return self._data().to_dict()

    def _fetch(self) -> _D:
        raise NotImplementedError

    def _data(self, need: type[Model] | None = None) -> _D:
        """Cached data (fetched if absent, or if it is not an instance of ``need``)."""
        with self._lock:
            cached, generation = self._cache, self._generation
        if cached is not None and (need is None or isinstance(cached, need)):
            return cached
        fresh = self._fetch()
        with self._lock:
            if self._generation == generation:
                self._cache = fresh
        return fresh

    def _invalidate(self) -> None:
        with self._lock:
            self._generation += 1
            self._cache = None

    def _repr_fields(self) -> tuple[str, ...]:
        return ("state",)

    def __repr__(self) -> str:
        # Only what is cached: a repr must never send a request.
        cached = self._cache
        shown = "".join(
            f" {name}={getattr(cached, name)!r}"
            for name in self._repr_fields()
            if cached is not None and hasattr(cached, name)
        )
        return f"<{type(self).__name__} id={self._id!r}{shown}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Handle) and type(other) is type(self) and other._id == self._id

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._id))


class Field(Generic[_T]):
    """A typed, read-only handle attribute backed by the cached model's field."""

    def __init__(self, *, need: type[Model] | None = None) -> None:
        self._need = need
        self._name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    @overload
    def __get__(self, obj: None, owner: type) -> Field[_T]: ...
    @overload
    def __get__(self, obj: Handle[Any], owner: type) -> _T: ...
    def __get__(self, obj: Handle[Any] | None, owner: type) -> Field[_T] | _T:
        if obj is None:
            return self
        value: _T = getattr(obj._data(self._need), self._name)
        return value


class Experiment(Handle[types.Experiment]):
    """An experiment handle. ``Experiment(chronicle, "id")`` sends no request.

    exp = Experiment.create(chronicle, "lr sweep")
    exp.commit().variations.create(config={"lr": 0.1})
    """

    _model = types.Experiment

    title = Field[str]()
    state = Field[str]()
    created_at = Field[str]()
    updated_at = Field[str]()
    hypothesis = Field[str | None]()
    description = Field[str | None]()
    parent_ids = Field[list[str]]()
    tags = Field[list[str]]()
    committed_at = Field[str | None]()
    concluded_at = Field[str | None]()
    retracted_at = Field[str | None]()
    conclusion = Field[str | None]()
    retraction_reason = Field[str | None]()
    # Only the detail response carries these; a handle built from a list item fetches.
    run_counts = Field[dict[str, int]](need=types.ExperimentDetail)

    @classmethod
    def create(
        cls,
        chronicle: Chronicle,
        title: str,
        *,
        hypothesis: str | None = None,
        description: str | None = None,
        parent_ids: Sequence[str] | None = None,
        tags: Sequence[str] | None = None,
        idempotency_key: str | None = None,
    ) -> Experiment:
        """Create a draft experiment and return its handle."""
        return cls(
            chronicle,
            chronicle.experiments.create(
                title,
                hypothesis=hypothesis,
                description=description,
                parent_ids=parent_ids,
                tags=tags,
                idempotency_key=idempotency_key,
            ),
        )

    @property
    def variations(self) -> ExperimentVariations:
        """This experiment's variations: ``create``, ``list``, iteration."""
        return ExperimentVariations(self)

    def update(
        self,
        *,
        title: str | None = None,
        hypothesis: str | None = None,
        description: str | None = None,
        tags: Sequence[str] | None = None,
    ) -> Experiment:
        """Edit the draft; returns ``self``."""
        try:
            self._chronicle.experiments.update(
                self._id, title=title, hypothesis=hypothesis, description=description, tags=tags
            )
        finally:
            self._invalidate()
        return self

    def commit(self) -> Experiment:
        """``draft -> committed``; returns ``self``."""
        try:
            self._chronicle.experiments.commit(self._id)
        finally:
            self._invalidate()
        return self

    def conclude(self, conclusion: str) -> Experiment:
        """``committed -> concluded``; returns ``self``."""
        try:
            self._chronicle.experiments.conclude(self._id, conclusion=conclusion)
        finally:
            self._invalidate()
        return self

    def retract(self, reason: str) -> Experiment:
        """``committed | concluded -> retracted``; returns ``self``."""
        try:
            self._chronicle.experiments.retract(self._id, reason=reason)
        finally:
            self._invalidate()
        return self

    def lineage(
        self,
        *,
        direction: Literal["ancestors", "descendants", "both"] = "both",
        depth: int | None = None,
    ) -> types.LineageResponse:
        """Walk parent/child links from this experiment."""
        return self._chronicle.experiments.lineage(self._id, direction=direction, depth=depth)

    def _fetch(self) -> types.Experiment:
        return self._chronicle.experiments.get(self._id)


class ExperimentVariations:
    """``exp.variations``: the experiment's variations as ``Variation`` handles."""

    def __init__(self, experiment: Experiment) -> None:
        self._experiment = experiment

    def create(
        self,
        *,
        config_yaml: str | None = None,
        config_json: Mapping[str, Any] | None = None,
        config: Mapping[str, Any] | None = None,
        name: str | None = None,
        accelerate_config_json: Mapping[str, Any] | None = None,
        launch_config: Mapping[str, Any] | None = None,
    ) -> Variation:
        """Add a variation (exactly one of the three config forms)."""
        exp = self._experiment
        try:
            created = exp.chronicle.variations.create(
                exp.id,
                config_yaml=config_yaml,
                config_json=config_json,
                config=config,
                name=name,
                accelerate_config_json=accelerate_config_json,
                launch_config=launch_config,
            )
        finally:
            exp._invalidate()  # the cached detail lists variations
        return Variation(exp.chronicle, created)

    def list(self, *, limit: int | None = None, cursor: str | None = None) -> Page[Variation]:
        """Variation handles: iterate for all of them across pages (``limit``: page size)."""
        exp = self._experiment
        page = exp.chronicle.variations.list(exp.id, limit=limit, cursor=cursor)
        return _mapped(page, lambda v: Variation(exp.chronicle, v))

    def __iter__(self) -> Iterator[Variation]:
        return iter(self.list())


class Variation(Handle[types.Variation]):
    """A variation handle; ``variation.runs.create()`` returns a ``Run`` handle."""

    _model = types.Variation

    experiment_id = Field[str]()
    created_at = Field[str]()
    name = Field[str | None]()
    config_yaml = Field[str | None]()
    config_json = Field[dict[str, Any]]()
    accelerate_config_json = Field[dict[str, Any] | None]()
    launch_config = Field[dict[str, Any] | None]()

    @property
    def experiment(self) -> Experiment:
        """The parent experiment's handle."""
        return Experiment(self._chronicle, self.experiment_id)

    @property
    def runs(self) -> VariationRuns:
        """This variation's runs: ``create``, ``list``, iteration."""
        return VariationRuns(self)

    def _repr_fields(self) -> tuple[str, ...]:
        return ("name",)

    def _fetch(self) -> types.Variation:
        return self._chronicle.variations.get(self._id)


class VariationRuns:
    """``variation.runs``: the variation's runs as ``Run`` handles."""

    def __init__(self, variation: Variation) -> None:
        self._variation = variation

    def create(
        self, *, resume_from_run_id: str | None = None, idempotency_key: str | None = None
    ) -> Run:
        """Create a pending run and return its handle."""
        from methodic.run import Run  # run.py imports this module

        v = self._variation
        created = v.chronicle.runs.create(
            v.id, resume_from_run_id=resume_from_run_id, idempotency_key=idempotency_key
        )
        return Run(v.chronicle, created)

    def list(self, *, limit: int | None = None, cursor: str | None = None) -> Page[Run]:
        """Run handles: iterate for all of them across pages (``limit``: page size)."""
        from methodic.run import Run

        v = self._variation
        page = v.chronicle.runs.list(variation_id=v.id, limit=limit, cursor=cursor)
        return _mapped(page, lambda r: Run(v.chronicle, r))

    def __iter__(self) -> Iterator[Run]:
        return iter(self.list())
