"""Guarantee: every response type survives the wire, and bad wire data fails clearly.

For every dataclass in ``methodic.types`` (found by introspection, so a new type is
covered the day it is added) hypothesis checks that:

- ``from_dict(to_dict(x)) == x`` for arbitrary values of every field;
- keys the client does not know, added at *every* nesting level that is a model,
  are ignored (server-side additions never break an older client);
- a missing required key, at the top or inside a nested model, raises
  ``ChronicleError`` naming the type and the field, never a bare ``KeyError`` or
  ``TypeError``;
- non-mapping input (top level or nested) raises ``ChronicleError`` naming the type.
"""

from __future__ import annotations

import dataclasses
import os
import types as pytypes
import typing
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from methodic import types as mtypes
from methodic.errors import ChronicleError

# 30 examples per type keeps this file near 10 s; `make fuzz` raises it.
EXAMPLES = int(os.environ.get("METHODIC_PROPERTY_EXAMPLES", "30"))
_SETTINGS = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def _model_types() -> list[type[Any]]:
    found = []
    for name in mtypes.__all__:
        obj = getattr(mtypes, name)
        if isinstance(obj, type) and dataclasses.is_dataclass(obj) and obj is not mtypes.Page:
            found.append(obj)
    return found


MODELS = _model_types()
PAGE_ITEM_TYPES = [mtypes.Experiment, mtypes.Variation, mtypes.Run, mtypes.Asset]


def test_introspection_found_every_model() -> None:
    # A guard on the guard: if __all__ stopped listing dataclasses, every other test
    # here would pass vacuously.
    names = {m.__name__ for m in MODELS}
    assert {"Experiment", "ExperimentDetail", "Run", "Asset", "SearchResponse"} <= names
    assert len(MODELS) >= 14


# -- strategies derived from the dataclass type hints ----------------------------------

_json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
JSON = st.recursive(
    _json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
JSON_OBJECT = st.dictionaries(st.text(max_size=10), JSON, max_size=5)


def _is_union(hint: Any) -> bool:
    return typing.get_origin(hint) in (typing.Union, getattr(pytypes, "UnionType", typing.Union))


def strategy_for(hint: Any) -> st.SearchStrategy[Any]:
    """A strategy producing values of ``hint`` as they appear in the dataclass."""
    if _is_union(hint):
        return st.one_of([strategy_for(arg) for arg in typing.get_args(hint)])
    if hint is type(None):
        return st.none()
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return model_strategy(hint)
    origin = typing.get_origin(hint)
    if origin is list:
        (item,) = typing.get_args(hint)
        return st.lists(strategy_for(item), max_size=3)
    if origin is dict:
        key, value = typing.get_args(hint)
        assert key is str
        if value is Any:
            return JSON_OBJECT
        return st.dictionaries(st.text(max_size=10), strategy_for(value), max_size=4)
    simple: dict[Any, st.SearchStrategy[Any]] = {
        str: st.text(max_size=30),
        int: st.integers(min_value=-(2**63), max_value=2**63 - 1),
        float: st.floats(allow_nan=False, allow_infinity=False),
        bool: st.booleans(),
    }
    if hint in simple:
        return simple[hint]
    raise AssertionError(f"no strategy for field type {hint!r}: extend strategy_for")


def model_strategy(cls: type[Any]) -> st.SearchStrategy[Any]:
    hints = typing.get_type_hints(cls)
    fields = {f.name: strategy_for(hints[f.name]) for f in dataclasses.fields(cls)}
    return st.deferred(lambda: st.fixed_dictionaries(fields).map(lambda kw: cls(**kw)))


def _required_fields(cls: type[Any]) -> list[str]:
    return [
        f.name
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]


def _nested_model_fields(cls: type[Any]) -> list[tuple[str, type[Any], bool]]:
    """(field, model type, is_list) for every field that holds a model or list of models."""
    out = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        if _is_union(hint):
            args = [a for a in typing.get_args(hint) if a is not type(None)]
            hint = args[0] if len(args) == 1 else hint
        if isinstance(hint, type) and dataclasses.is_dataclass(hint):
            out.append((f.name, hint, False))
        elif typing.get_origin(hint) is list:
            (item,) = typing.get_args(hint)
            if isinstance(item, type) and dataclasses.is_dataclass(item):
                out.append((f.name, item, True))
    return out


def _add_unknown_keys(cls: type[Any], data: dict[str, Any], draw: Any) -> dict[str, Any]:
    """Copy of ``data`` with unknown keys added here and inside every nested model."""
    known = {f.name for f in dataclasses.fields(cls)}
    out = dict(data)
    extras = draw(
        st.dictionaries(
            st.text(min_size=1, max_size=12).filter(lambda k: k not in known),
            JSON,
            min_size=1,
            max_size=3,
        )
    )
    out.update(extras)
    for name, model, is_list in _nested_model_fields(cls):
        value = out.get(name)
        if value is None:
            continue
        if is_list:
            out[name] = [_add_unknown_keys(model, item, draw) for item in value]
        else:
            out[name] = _add_unknown_keys(model, value, draw)
    return out


# -- the properties ---------------------------------------------------------------------


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.__name__)
@_SETTINGS
@given(data=st.data())
def test_round_trip(cls: type[Any], data: st.DataObject) -> None:
    value = data.draw(model_strategy(cls))
    assert cls.from_dict(value.to_dict()) == value


@pytest.mark.parametrize("item_type", PAGE_ITEM_TYPES, ids=lambda c: c.__name__)
@_SETTINGS
@given(data=st.data())
def test_page_round_trip(item_type: type[Any], data: st.DataObject) -> None:
    items = data.draw(st.lists(model_strategy(item_type), max_size=3))
    cursor = data.draw(st.none() | st.text(max_size=20))
    page = mtypes.Page(items, cursor)
    assert mtypes.Page.from_dict(page.to_dict(), item_type) == page


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.__name__)
@_SETTINGS
@given(data=st.data())
def test_unknown_keys_at_every_level_are_ignored(cls: type[Any], data: st.DataObject) -> None:
    value = data.draw(model_strategy(cls))
    noisy = _add_unknown_keys(cls, value.to_dict(), data.draw)
    assert cls.from_dict(noisy) == value


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.__name__)
@_SETTINGS
@given(data=st.data())
def test_missing_required_key_names_type_and_field(cls: type[Any], data: st.DataObject) -> None:
    required = _required_fields(cls)
    assert required, f"{cls.__name__} has no required field; this test would be vacuous"
    value = data.draw(model_strategy(cls))
    missing = data.draw(st.sampled_from(required))
    wire = value.to_dict()
    del wire[missing]
    with pytest.raises(ChronicleError) as info:
        cls.from_dict(wire)
    assert not isinstance(info.value, (KeyError, TypeError))
    assert cls.__name__ in str(info.value)
    assert repr(missing) in str(info.value) or missing in str(info.value)


def _nested_cases() -> list[tuple[type[Any], str, type[Any], bool]]:
    return [
        (cls, name, model, is_list)
        for cls in MODELS
        for name, model, is_list in _nested_model_fields(cls)
    ]


NESTED = _nested_cases()


def test_nested_cases_exist() -> None:
    covered = {(outer.__name__, name) for outer, name, _, _ in NESTED}
    assert ("ExperimentDetail", "variations") in covered
    assert ("PresignedAsset", "asset") in covered
    assert ("LineageResponse", "nodes") in covered


@pytest.mark.parametrize(
    ("outer", "field_name", "inner", "is_list"),
    NESTED,
    ids=[f"{o.__name__}.{n}" for o, n, _, _ in NESTED],
)
@_SETTINGS
@given(data=st.data())
def test_missing_required_key_in_nested_model_names_inner_type(
    outer: type[Any], field_name: str, inner: type[Any], is_list: bool, data: st.DataObject
) -> None:
    inner_value = data.draw(model_strategy(inner))
    missing = data.draw(st.sampled_from(_required_fields(inner)))
    broken = inner_value.to_dict()
    del broken[missing]
    wire = data.draw(model_strategy(outer)).to_dict()
    wire[field_name] = [broken] if is_list else broken
    with pytest.raises(ChronicleError) as info:
        outer.from_dict(wire)
    assert inner.__name__ in str(info.value)
    assert missing in str(info.value)


NON_MAPPINGS = st.one_of(
    st.none(),
    st.integers(),
    st.text(max_size=10),
    st.lists(st.integers(), max_size=3),
    st.booleans(),
    st.floats(allow_nan=False),
)


@pytest.mark.parametrize("cls", MODELS, ids=lambda c: c.__name__)
@settings(max_examples=max(10, EXAMPLES // 2), deadline=None)
@given(junk=NON_MAPPINGS)
def test_non_mapping_input_names_type(cls: type[Any], junk: Any) -> None:
    with pytest.raises(ChronicleError) as info:
        cls.from_dict(junk)
    assert cls.__name__ in str(info.value)


@pytest.mark.parametrize(
    ("outer", "field_name", "inner", "is_list"),
    NESTED,
    ids=[f"{o.__name__}.{n}" for o, n, _, _ in NESTED],
)
@settings(max_examples=max(10, EXAMPLES // 2), deadline=None)
@given(data=st.data(), junk=NON_MAPPINGS.filter(lambda v: v is not None and v != []))
def test_non_mapping_nested_value_is_a_chronicle_error(
    outer: type[Any],
    field_name: str,
    inner: type[Any],
    is_list: bool,
    data: st.DataObject,
    junk: Any,
) -> None:
    wire = data.draw(model_strategy(outer)).to_dict()
    # For a list field, a non-list value and a list holding a non-mapping are both junk.
    wire[field_name] = data.draw(st.sampled_from([junk, [junk]])) if is_list else junk
    with pytest.raises(ChronicleError):
        outer.from_dict(wire)


@pytest.mark.parametrize("item_type", PAGE_ITEM_TYPES, ids=lambda c: c.__name__)
def test_page_rejects_bad_shapes_with_chronicle_error(item_type: type[Any]) -> None:
    for junk in (None, [], "items", {"next_cursor": None}, {"items": "x"}, {"items": [1]}):
        with pytest.raises(ChronicleError):
            mtypes.Page.from_dict(junk, item_type)
