"""Response dataclasses: unknown keys ignored, missing keys reported, round trips."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from methodic import ChronicleError, ResponseValidationError
from methodic import types as t

from .scripted import ASSET, EXPERIMENT, RUN, VARIATION

COMPONENT = {"name": "model.bin", "size": 3, "sha256": "a" * 64}
NODE = {"id": "e1", "title": "t", "state": "draft", "relation": "root", "depth": 0}
HIT = {"type": "arxiv", "id": "x1", "title": "Attention", "score": 1.5}

# One full payload per model: every field set, so round trips cover them all.
FULL: dict[type[t.Model], dict[str, Any]] = {
    t.Experiment: {
        **EXPERIMENT,
        "hypothesis": "h",
        "description": "d",
        "parent_ids": ["p1"],
        "tags": ["a", "b"],
        "committed_at": "c",
        "concluded_at": "c2",
        "retracted_at": "r",
        "conclusion": "yes",
        "retraction_reason": "oops",
    },
    t.ExperimentDetail: {
        **EXPERIMENT,
        "variations": [{**VARIATION, "config_json": {"lr": 0.1}}],
        "run_counts": {"pending": 2},
    },
    t.Variation: {
        **VARIATION,
        "name": "low-lr",
        "config_yaml": "lr: 0.1\n",
        "config_json": {"lr": 0.1, "nested": {"deep": [1, {"x": None}]}},
        "accelerate_config_json": {"mixed_precision": "bf16"},
        "launch_config": {"gpus": 8},
    },
    t.VariationConfig: {
        "run_id": "r1",
        "variation_id": "v1",
        "experiment_id": "e1",
        "config_json": {"lr": 0.1},
        "accelerate_config_json": {"a": 1},
        "launch_config": {"b": 2},
    },
    t.Run: {
        **RUN,
        "failure_reason": "crash",
        "failure_message": "oom",
        "environment": {"python": "3.11"},
        "progress": {"step": 10},
        "resume_from_run_id": "r0",
        "started_at": "s",
        "last_heartbeat_at": "h",
        "finished_at": "f",
    },
    t.ComponentSpec: {**COMPONENT, "content_type": "application/octet-stream"},
    t.AssetComponent: {**COMPONENT, "content_type": "text/plain", "uploaded": True},
    t.Asset: {
        **ASSET,
        "run_id": "r1",
        "experiment_id": "e1",
        "metadata": {"step": 100},
        "components": [{**COMPONENT, "uploaded": True}],
        "finalized_at": "f",
    },
    t.PresignedAsset: {"asset": ASSET, "upload_urls": {"model.bin": "http://s/x?sig=1"}},
    t.LineageNode: NODE,
    t.LineageEdge: {"parent_id": "p", "child_id": "c"},
    t.LineageResponse: {
        "root_id": "e1",
        "nodes": [NODE],
        "edges": [{"parent_id": "p", "child_id": "e1"}],
    },
    t.SearchResult: {**HIT, "snippet": "...", "asset_id": "a1", "experiment_id": "e1"},
    t.SearchResponse: {"query": "attention", "total": 1, "results": [HIT]},
}


@pytest.mark.parametrize("model", list(FULL), ids=lambda m: m.__name__)
def test_round_trip(model: type[t.Model]) -> None:
    obj = model.from_dict(FULL[model])
    assert model.from_dict(obj.to_dict()) == obj
    assert obj.to_dict() == {f.name: obj.to_dict()[f.name] for f in dataclasses.fields(obj)}  # type: ignore[arg-type]


@pytest.mark.parametrize("model", list(FULL), ids=lambda m: m.__name__)
def test_every_field_is_read(model: type[t.Model]) -> None:
    obj = model.from_dict(FULL[model])
    for key, value in FULL[model].items():
        assert getattr(obj, key) == _expected(getattr(obj, key), value)


def _expected(got: Any, raw: Any) -> Any:
    # Nested models are compared as models parsed from the raw JSON.
    if isinstance(got, t.Model):
        return type(got).from_dict(raw)
    if isinstance(got, list) and got and isinstance(got[0], t.Model):
        return [type(g).from_dict(r) for g, r in zip(got, raw, strict=True)]
    return raw


def test_unknown_keys_are_ignored_at_every_level() -> None:
    data = {
        **FULL[t.PresignedAsset],
        "new_top": 1,
        "asset": {
            **ASSET,
            "new_asset_field": {"x": 1},
            "components": [{**COMPONENT, "new_component_field": True}],
        },
    }
    presigned = t.PresignedAsset.from_dict(data)
    assert presigned.asset.components[0].name == "model.bin"
    assert "new_asset_field" not in presigned.asset.to_dict()
    lineage = t.LineageResponse.from_dict(
        {"root_id": "e1", "nodes": [{**NODE, "color": "red"}], "edges": [], "stats": {}}
    )
    assert lineage.nodes[0].depth == 0


def test_arbitrary_json_fields_stay_dicts() -> None:
    v = t.Variation.from_dict(FULL[t.Variation])
    assert v.config_json == {"lr": 0.1, "nested": {"deep": [1, {"x": None}]}}
    assert isinstance(v.launch_config, dict)


def test_ids_and_timestamps_stay_strings() -> None:
    run = t.Run.from_dict(FULL[t.Run])
    assert isinstance(run.id, str) and run.created_at == "2026-01-01T00:00:00Z"


def test_optional_fields_default() -> None:
    exp = t.Experiment.from_dict(EXPERIMENT)
    assert exp.hypothesis is None and exp.tags == [] and exp.parent_ids == []
    asset = t.Asset.from_dict(ASSET)
    assert asset.metadata == {} and asset.components == []


def test_null_optional_collection_becomes_empty() -> None:
    exp = t.Experiment.from_dict({**EXPERIMENT, "tags": None, "hypothesis": None})
    assert exp.tags == [] and exp.hypothesis is None


@pytest.mark.parametrize("model", list(FULL), ids=lambda m: m.__name__)
def test_missing_required_field_names_type_and_field(model: type[t.Model]) -> None:
    required = [
        f.name
        for f in dataclasses.fields(model)  # type: ignore[arg-type]
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    for name in required:
        data = {k: v for k, v in FULL[model].items() if k != name}
        with pytest.raises(ChronicleError) as info:
            model.from_dict(data)
        assert model.__name__ in str(info.value)
        assert repr(name) in str(info.value)


def test_missing_field_in_nested_model_names_nested_type() -> None:
    bad = {**FULL[t.PresignedAsset], "asset": {k: v for k, v in ASSET.items() if k != "kind"}}
    with pytest.raises(ChronicleError, match="Asset: missing required field 'kind'"):
        t.PresignedAsset.from_dict(bad)


@pytest.mark.parametrize("data", [None, [], "x", 3])
def test_non_object_input_is_a_chronicle_error(data: Any) -> None:
    with pytest.raises(ChronicleError, match="expected a JSON object"):
        t.Experiment.from_dict(data)


def test_non_list_for_a_list_of_models() -> None:
    with pytest.raises(ChronicleError, match="'nodes' should be a list"):
        t.LineageResponse.from_dict({"root_id": "e1", "nodes": {}, "edges": []})
    with pytest.raises(ChronicleError, match="LineageEdge: expected a JSON object"):
        t.LineageResponse.from_dict({"root_id": "e1", "nodes": [], "edges": ["x"]})


def test_page_is_iterable_and_round_trips() -> None:
    page = t.Page.from_dict({"items": [EXPERIMENT], "next_cursor": "c2", "x": 1}, t.Experiment)
    assert len(page.items) == 1
    # A page built from data (not by a client's list call) has no way to fetch more.
    assert [e.id for e in page] == ["e1"] and not page.has_next_page()
    assert page.next_cursor == "c2"
    assert t.Page.from_dict(page.to_dict(), t.Experiment) == page


def test_a_body_that_does_not_fit_names_type_and_field() -> None:
    data = {k: v for k, v in EXPERIMENT.items() if k != "title"}
    with pytest.raises(ResponseValidationError) as info:
        t.Experiment.from_dict(data)
    assert (info.value.type_name, info.value.field) == ("Experiment", "title")
    with pytest.raises(ResponseValidationError) as info:
        t.LineageResponse.from_dict({"root_id": "e1", "nodes": {}, "edges": []})
    assert (info.value.type_name, info.value.field) == ("LineageResponse", "nodes")


@pytest.mark.parametrize(
    ("data", "match"),
    [({}, "missing required field 'items'"), ({"items": 1}, "should be a list"), (3, "object")],
)
def test_page_errors(data: Any, match: str) -> None:
    with pytest.raises(ChronicleError, match=match):
        t.Page.from_dict(data, t.Experiment)
