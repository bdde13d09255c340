"""Variations: YAML parsing, closed experiments, reads."""

from __future__ import annotations

import pytest

from methodic import BadRequestError, Chronicle, ConflictError, NotFoundError, PermissionDeniedError
from methodic_fake import FakeChronicle


def test_yaml_is_parsed_to_config_json(researcher: Chronicle) -> None:
    exp = researcher.experiments.create("t")
    variation = researcher.variations.create(
        exp.id, name="small", config_yaml="model:\n  width: 128\nlr: 3.0e-4\ndate: 2024-01-02\n"
    )
    assert variation.name == "small"
    assert variation.config_json == {"model": {"width": 128}, "lr": 3e-4, "date": "2024-01-02"}
    assert variation.config_yaml is not None and "width" in variation.config_yaml
    assert researcher.variations.get(variation.id).config_json == variation.config_json


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("a: [1, 2", "not valid YAML"),
        ("- 1\n- 2\n", "must be a YAML mapping, not list"),
        ("just a string", "must be a YAML mapping, not str"),
        ("", "must be a YAML mapping, not NoneType"),
    ],
)
def test_invalid_or_non_mapping_yaml_is_400(
    researcher: Chronicle, text: str, fragment: str
) -> None:
    exp = researcher.experiments.create("t")
    with pytest.raises(BadRequestError) as info:
        researcher.variations.create(exp.id, config_yaml=text)
    assert info.value.status_code == 400
    assert fragment in info.value.body["detail"]


def test_yaml_tags_never_construct_objects(researcher: Chronicle) -> None:
    exp = researcher.experiments.create("t")
    with pytest.raises(BadRequestError):
        researcher.variations.create(exp.id, config_yaml="x: !!python/object/apply:os.system [ls]")


def test_exactly_one_config_is_required(fake: FakeChronicle, researcher: Chronicle) -> None:
    exp = researcher.experiments.create("t")
    http = fake.http("researcher")
    both = http.post(
        f"/experiments/{exp.id}/variations", json={"config_yaml": "a: 1", "config_json": {"a": 1}}
    )
    neither = http.post(f"/experiments/{exp.id}/variations", json={"name": "n"})
    for response in (both, neither):
        assert response.status_code == 400
        assert response.json() == {
            "detail": "exactly one of config_yaml or config_json is required"
        }


@pytest.mark.parametrize("state", ["concluded", "retracted"])
def test_closed_experiments_take_no_variations(researcher: Chronicle, state: str) -> None:
    exp = researcher.experiments.create("t")
    researcher.experiments.commit(exp.id)
    if state == "concluded":
        researcher.experiments.conclude(exp.id, conclusion="c")
    else:
        researcher.experiments.retract(exp.id, reason="r")
    with pytest.raises(ConflictError) as info:
        researcher.variations.create(exp.id, config_json={"a": 1})
    assert f"it is {state}" in info.value.body["detail"]


def test_committed_experiments_take_variations(researcher: Chronicle) -> None:
    exp = researcher.experiments.create("t")
    researcher.experiments.commit(exp.id)
    assert researcher.variations.create(exp.id, config_json={"a": 1}).experiment_id == exp.id


def test_list_get_and_404(researcher: Chronicle, worker: Chronicle) -> None:
    exp = researcher.experiments.create("t")
    ids = [researcher.variations.create(exp.id, config_json={"i": i}).id for i in range(3)]
    assert [v.id for v in worker.variations.list(exp.id)] == ids[::-1]
    assert [v.id for v in worker.variations.list(exp.id, order="asc")] == ids
    with pytest.raises(NotFoundError):
        worker.variations.get("missing")
    with pytest.raises(NotFoundError):
        worker.variations.list("missing")
    with pytest.raises(NotFoundError):
        researcher.variations.create("missing", config_json={})
    with pytest.raises(PermissionDeniedError):
        worker.variations.create(exp.id, config_json={"a": 1})
