"""Response types: plain dataclasses mirroring Chronicle's JSON.

Every model has ``from_dict`` (unknown keys are ignored at every level, so server-side
additions never break an older client; a missing required key raises
``ResponseValidationError`` naming the type and field) and ``to_dict``, with
``Model.from_dict(m.to_dict()) == m``. Ids and timestamps stay ``str``; fields the
server treats as arbitrary JSON stay ``dict[str, Any]``.

    exp = Experiment.from_dict({"id": "e1", "title": "t", "state": "draft", ...})
    exp.to_dict()["state"]  # "draft"

In a notebook every model and every ``Page`` renders as a table (``_repr_html_``), a
``LineageResponse`` as the dashboard's SVG picture, and ``repr()`` leaves unset fields
out: display never sends a request. ``Page.to_pandas()`` (which fetches the following
pages it needs) and ``SearchResponse.to_pandas()`` build DataFrames (the
``methodic[pandas]`` extra).
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from methodic.errors import ChronicleError, ResponseValidationError

if TYPE_CHECKING:
    import pandas

__all__ = [
    "Asset",
    "AssetComponent",
    "ComponentSpec",
    "Experiment",
    "ExperimentDetail",
    "LineageEdge",
    "LineageNode",
    "LineageResponse",
    "Page",
    "PresignedAsset",
    "Run",
    "SearchResponse",
    "SearchResult",
    "Variation",
    "VariationConfig",
]

_M = TypeVar("_M", bound="Model")
T = TypeVar("T")
_U = TypeVar("_U")

# (field name, required, converter for nested models or None)
_FieldSpec = tuple[str, bool, "Callable[[Any], Any] | None"]


class Model:
    """Base of every response dataclass: generic ``from_dict`` / ``to_dict``."""

    # Filled lazily per class: resolving type hints once keeps from_dict cheap.
    _spec: ClassVar[tuple[_FieldSpec, ...] | None] = None

    @classmethod
    def from_dict(cls: type[_M], data: Any) -> _M:
        """Build an instance from decoded JSON, ignoring keys this version doesn't know."""
        if not isinstance(data, Mapping):
            raise ResponseValidationError(
                f"cannot read {cls.__name__}: expected a JSON object, got {type(data).__name__}",
                type_name=cls.__name__,
            )
        spec = cls.__dict__.get("_spec") or _build_spec(cls)
        kwargs: dict[str, Any] = {}
        for name, required, convert in spec:
            if name in data:
                value = data[name]
                if value is None and not required:
                    continue  # null means "not set": keep the field's default
                kwargs[name] = (
                    convert(value) if convert is not None and value is not None else value
                )
            elif required:
                raise ResponseValidationError(
                    f"cannot read {cls.__name__}: missing required field {name!r}",
                    type_name=cls.__name__,
                    field=name,
                )
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready dict form (nested models become dicts)."""
        return dataclasses.asdict(self)  # type: ignore[call-overload,no-any-return]

    # Display (methodic._display, imported on first use): never a request.

    def __repr__(self) -> str:
        from methodic._display import model_repr

        return model_repr(self)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        from methodic._display import pretty_model

        pretty_model(self, p, cycle)

    def _repr_html_(self) -> str:
        from methodic._display import model_html

        return model_html(self)


def _build_spec(cls: type[Model]) -> tuple[_FieldSpec, ...]:
    hints = typing.get_type_hints(cls)
    spec: list[_FieldSpec] = []
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        spec.append((f.name, required, _converter(hints[f.name], cls.__name__, f.name)))
    result = tuple(spec)
    cls._spec = result  # a benign race: two threads compute the same tuple
    return result


def _converter(hint: Any, owner: str, name: str) -> Callable[[Any], Any] | None:
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) in (typing.Union, _union_type()) and len(args) == 1:
        hint = args[0]  # Optional[X] -> X
    if isinstance(hint, type) and issubclass(hint, Model):
        return hint.from_dict
    if typing.get_origin(hint) is list:
        (item,) = typing.get_args(hint)
        if isinstance(item, type) and issubclass(item, Model):
            return _list_of(item, owner, name)
    return None


def _union_type() -> Any:
    import types as _types  # local: avoid shadowing this module's own name at top level

    return getattr(_types, "UnionType", typing.Union)


def _list_of(item: type[Model], owner: str, name: str) -> Callable[[Any], list[Any]]:
    def convert(value: Any) -> list[Any]:
        if not isinstance(value, list):
            raise ResponseValidationError(
                f"cannot read {owner}: field {name!r} should be a list, got {type(value).__name__}",
                type_name=owner,
                field=name,
            )
        return [item.from_dict(v) for v in value]

    return convert


@dataclass(repr=False)
class Experiment(Model):
    """An experiment: ``draft -> committed -> concluded``, or ``-> retracted``."""

    id: str
    title: str
    state: str
    created_at: str
    updated_at: str
    hypothesis: str | None = None
    description: str | None = None
    parent_ids: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    committed_at: str | None = None
    concluded_at: str | None = None
    retracted_at: str | None = None
    conclusion: str | None = None
    retraction_reason: str | None = None


@dataclass(repr=False)
class Variation(Model):
    """One configuration of an experiment; runs execute it."""

    id: str
    experiment_id: str
    created_at: str
    name: str | None = None
    config_yaml: str | None = None
    config_json: dict[str, Any] = field(default_factory=dict)
    accelerate_config_json: dict[str, Any] | None = None
    launch_config: dict[str, Any] | None = None


@dataclass(repr=False)
class ExperimentDetail(Experiment):
    """``GET /experiments/{id}``: the experiment plus its variations and run counts."""

    variations: list[Variation] = field(default_factory=list)
    run_counts: dict[str, int] = field(default_factory=dict)


@dataclass(repr=False)
class VariationConfig(Model):
    """What a runner needs to start: ``GET /runs/{id}/config``."""

    run_id: str
    variation_id: str
    experiment_id: str
    config_json: dict[str, Any] = field(default_factory=dict)
    accelerate_config_json: dict[str, Any] | None = None
    launch_config: dict[str, Any] | None = None


@dataclass(repr=False)
class Run(Model):
    """A run: ``pending -> running -> succeeded | failed``."""

    id: str
    variation_id: str
    experiment_id: str
    state: str
    created_at: str
    failure_reason: str | None = None
    failure_message: str | None = None
    environment: dict[str, Any] | None = None
    progress: dict[str, Any] | None = None
    resume_from_run_id: str | None = None
    started_at: str | None = None
    last_heartbeat_at: str | None = None
    finished_at: str | None = None


@dataclass(repr=False)
class ComponentSpec(Model):
    """A component to register when creating a presigned asset."""

    name: str
    size: int
    sha256: str
    content_type: str | None = None


@dataclass(repr=False)
class AssetComponent(Model):
    """A component of an asset as the server reports it."""

    name: str
    size: int
    sha256: str
    content_type: str | None = None
    uploaded: bool = False


@dataclass(repr=False)
class Asset(Model):
    """An asset: ``pending -> ready`` (immutable once ready)."""

    id: str
    kind: str
    name: str
    state: str
    created_at: str
    run_id: str | None = None
    experiment_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    components: list[AssetComponent] = field(default_factory=list)
    finalized_at: str | None = None


@dataclass(repr=False)
class PresignedAsset(Model):
    """``POST /assets`` with presign: the pending asset and one upload URL per component."""

    asset: Asset
    # Each URL is a bearer credential until it expires: keep it out of reprs and logs.
    upload_urls: dict[str, str] = field(repr=False)


@dataclass(repr=False)
class LineageNode(Model):
    """An experiment in a lineage walk; ``relation`` is root, ancestor or descendant."""

    id: str
    title: str
    state: str
    relation: str
    depth: int


@dataclass(repr=False)
class LineageEdge(Model):
    """A parent -> child link between two experiments."""

    parent_id: str
    child_id: str


@dataclass(repr=False)
class LineageResponse(Model):
    """``GET /experiments/{id}/lineage``."""

    root_id: str
    nodes: list[LineageNode]
    edges: list[LineageEdge]

    def to_svg(self, *, link: str | None = None) -> str:
        """The lineage as an SVG picture, exactly as the fake's dashboard draws it.

        Parents sit above their children, the current experiment (``root_id``) is
        highlighted, every title is escaped. ``link`` makes each experiment a link:
        ``"{id}"`` in it is replaced by the experiment's percent-encoded id.

            svg = chronicle.experiments.lineage(exp_id).to_svg(
                link="https://chronicle.example/experiments/{id}"
            )
            Path("lineage.svg").write_text(svg)
        """
        from methodic._lineage_svg import render

        return render(self, link=link)

    def _repr_html_(self) -> str:
        from methodic._display import lineage_html

        return lineage_html(self, self.to_svg())


@dataclass(repr=False)
class SearchResult(Model):
    """One search hit; ``type`` is its asset's kind: ``research_report`` or ``arxiv``."""

    type: str
    id: str
    title: str
    score: float
    snippet: str | None = None
    asset_id: str | None = None
    experiment_id: str | None = None


@dataclass(repr=False)
class SearchResponse(Model):
    """``GET /search``."""

    query: str
    total: int
    results: list[SearchResult]

    def to_pandas(self) -> pandas.DataFrame:
        """The results as a DataFrame, one row per hit, in the server's order.

        Needs pandas (``pip install 'methodic[pandas]'``; ``ImportError`` without it).

            df = chronicle.search.query("warmup").to_pandas()
            df[["title", "score"]]
        """
        from methodic._frames import frame

        return frame(self.results, SearchResult)


@dataclass(repr=False)
class Page(Generic[T]):
    """What ``list`` returns: one page of results that iterates *every* page.

    Iterating walks all items across pages, fetching the next page only when the
    previous one is used up (iterate again and it walks again). ``items`` and
    ``next_cursor`` describe this page alone; walk page by page with ``iter_pages()``
    or ``has_next_page()`` / ``next_page()``. A server that hands out a cursor twice
    ends the walk with ``ResponseValidationError`` instead of looping forever.

        for run in chronicle.runs.list(state="failed"):       # every failed run
            print(run.id)
        first = chronicle.runs.list(limit=20)                 # one request
        first.items, first.next_cursor

    In a notebook a page renders as a table of its own items (no request);
    ``to_pandas()`` fetches the rest into one DataFrame.
    """

    items: list[T]
    next_cursor: str | None = None
    # Fetches the page after a cursor; None for a page not fetched by a client.
    _fetch: Callable[[str], Page[T]] | None = field(
        default=None, init=False, repr=False, compare=False
    )
    # Every cursor used to reach this page (the first page's own too, if any).
    _seen: frozenset[str] = field(default=frozenset(), init=False, repr=False, compare=False)
    # The item class, when known: names a DataFrame's columns even for an empty page.
    _item_type: type | None = field(default=None, init=False, repr=False, compare=False)

    def __iter__(self) -> Iterator[T]:
        for page in self.iter_pages():
            yield from page.items

    def has_next_page(self) -> bool:
        """True when ``next_page()`` would fetch another page."""
        return bool(self.next_cursor) and self._fetch is not None

    def next_page(self) -> Page[T]:
        """Fetch the page after this one (check ``has_next_page()`` first)."""
        cursor = self.next_cursor
        if not cursor or self._fetch is None:
            raise ChronicleError("this is the last page: check has_next_page() first")
        if cursor in self._seen:
            raise ResponseValidationError(
                f"the server returned a repeated cursor {cursor!r}",
                type_name="Page",
                field="next_cursor",
            )
        page = self._fetch(cursor)
        page._seen = self._seen | {cursor}
        return page

    def iter_pages(self) -> Iterator[Page[T]]:
        """This page, then each following page as it is fetched."""
        page = self
        yield page
        while page.has_next_page():
            page = page.next_page()
            yield page

    def to_pandas(self, *, limit: int | None = None) -> pandas.DataFrame:
        """Every item, across all pages, as a DataFrame: one row each.

        Pages are fetched lazily as rows are needed; ``limit`` caps the rows (and so
        stops fetching early). ``limit`` given to ``list(...)`` is the *page size*, this
        one the total. JSON objects become dotted columns (``progress.loss``,
        ``config_json.lr``), timestamps timezone-aware UTC datetimes. Needs pandas
        (``pip install 'methodic[pandas]'``; ``ImportError`` without it).

            df = chronicle.runs.list(experiment_id=exp_id).to_pandas(limit=1000)
            df[df.state == "failed"][["id", "failure_reason", "progress.step"]]
        """
        import itertools

        from methodic._frames import frame

        if limit is not None and limit < 0:
            raise ValueError(f"limit must be None or >= 0, not {limit}")
        items = self if limit is None else itertools.islice(self, limit)
        return frame(items, self._item_type)

    def __repr__(self) -> str:
        from methodic._display import page_repr

        return page_repr(self)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        from methodic._display import pretty_page

        pretty_page(self, p, cycle)

    def _repr_html_(self) -> str:
        from methodic._display import page_html

        return page_html(self)

    @classmethod
    def from_dict(cls, data: Any, item_type: type[_M]) -> Page[_M]:
        """Read ``{"items": [...], "next_cursor": ...}``, items as ``item_type``."""
        if not isinstance(data, Mapping):
            raise ResponseValidationError(
                f"cannot read Page: expected a JSON object, got {type(data).__name__}",
                type_name="Page",
            )
        if "items" not in data:
            raise ResponseValidationError(
                "cannot read Page: missing required field 'items'", type_name="Page", field="items"
            )
        items = data["items"]
        if not isinstance(items, list):
            raise ResponseValidationError(
                f"cannot read Page: field 'items' should be a list, got {type(items).__name__}",
                type_name="Page",
                field="items",
            )
        cursor = data.get("next_cursor")
        page = Page([item_type.from_dict(item) for item in items], cursor)
        page._item_type = item_type
        return page

    def to_dict(self) -> dict[str, Any]:
        """This page's JSON-ready dict form (items must have ``to_dict``)."""
        return {
            "items": [item.to_dict() for item in self.items],  # type: ignore[attr-defined]
            "next_cursor": self.next_cursor,
        }


def _paged(fetch: Callable[[str | None], Page[T]], cursor: str | None = None) -> Page[T]:
    """The page at ``cursor`` (first page if None), wired to fetch its successors."""

    def follow(next_cursor: str | None) -> Page[T]:
        page = fetch(next_cursor)
        page._fetch = follow
        return page

    first = follow(cursor)
    if cursor:
        first._seen = frozenset({cursor})
    return first


def _mapped(
    page: Page[T], convert: Callable[[T], _U], item_type: type[_U] | None = None
) -> Page[_U]:
    """``page`` with every item passed through ``convert`` (into ``item_type``), on
    following pages too."""
    fetch = page._fetch
    out = Page([convert(item) for item in page.items], page.next_cursor)
    out._seen = page._seen
    out._item_type = item_type
    if fetch is not None:
        out._fetch = lambda cursor: _mapped(fetch(cursor), convert, item_type)
    return out
