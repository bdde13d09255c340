"""chronicle.variations: config forms, requests and parsing."""

from __future__ import annotations

import pytest

from methodic import Chronicle, types

from .scripted import VARIATION, ScriptedAPI, body_of


@pytest.fixture(autouse=True)
def _routes(api: ScriptedAPI) -> None:
    created = {**VARIATION, "config_yaml": "lr: 0.1\n", "config_json": {"lr": 0.1}}
    api.route("POST", "/experiments/e1/variations", status=201, json=created)


def test_create_with_yaml_text(api: ScriptedAPI, chronicle: Chronicle) -> None:
    v = chronicle.variations.create("e1", config_yaml="lr: 0.1\n", name="low")
    assert isinstance(v, types.Variation) and v.config_json == {"lr": 0.1}
    assert api.last.method == "POST"
    assert body_of(api.last) == {"config_yaml": "lr: 0.1\n", "name": "low"}


def test_create_with_config_json(api: ScriptedAPI, chronicle: Chronicle) -> None:
    chronicle.variations.create(
        "e1",
        config_json={"lr": 0.1},
        accelerate_config_json={"mixed_precision": "bf16"},
        launch_config={"gpus": 8},
    )
    assert body_of(api.last) == {
        "config_json": {"lr": 0.1},
        "accelerate_config_json": {"mixed_precision": "bf16"},
        "launch_config": {"gpus": 8},
    }


def test_create_with_dict_config_sends_yaml(api: ScriptedAPI, chronicle: Chronicle) -> None:
    import yaml

    chronicle.variations.create("e1", config={"lr": 0.1, "layers": [1, 2], "name": "b"})
    sent = body_of(api.last)
    assert set(sent) == {"config_yaml"}
    assert yaml.safe_load(sent["config_yaml"]) == {"lr": 0.1, "layers": [1, 2], "name": "b"}
    assert sent["config_yaml"].startswith("lr: 0.1")  # key order kept, as written


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"config_yaml": "a: 1", "config_json": {"a": 1}},
        {"config_yaml": "a: 1", "config": {"a": 1}},
        {"config_json": {}, "config": {}},
    ],
)
def test_create_needs_exactly_one_config(
    api: ScriptedAPI, chronicle: Chronicle, kwargs: dict[str, object]
) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        chronicle.variations.create("e1", **kwargs)  # type: ignore[arg-type]
    assert api.requests == []


def test_get(api: ScriptedAPI, chronicle: Chronicle) -> None:
    api.route("GET", "/variations/v1", json={**VARIATION, "name": "low"})
    assert chronicle.variations.get("v1").name == "low"


def test_list_is_one_page_that_iterates_all(api: ScriptedAPI, chronicle: Chronicle) -> None:
    import httpx2

    pages = {
        None: {"items": [VARIATION], "next_cursor": "n"},
        "n": {"items": [{**VARIATION, "id": "v2"}], "next_cursor": None},
    }
    api.route(
        "GET",
        "/experiments/e1/variations",
        reply=lambda r: httpx2.Response(200, json=pages[r.url.params.get("cursor")]),
    )
    page = chronicle.variations.list("e1", limit=1)
    assert [v.id for v in page.items] == ["v1"] and page.next_cursor == "n"
    assert dict(api.last.url.params) == {"limit": "1"}
    assert [v.id for v in chronicle.variations.list("e1", limit=1)] == ["v1", "v2"]
    assert dict(api.last.url.params) == {"limit": "1", "cursor": "n"}
