"""Guarantee: YAML a JSON config cannot hold is converted exactly as documented, or refused.

docs/api.md: YAML-only keys (dates, numbers, booleans, null) become their JSON string
forms; binary data, keys that collide once converted, and integers too long to write
as a JSON number are a 400 whose detail names ``config_yaml`` and the problem. Never a
500: each case runs over a real socket and in-process, on both stores, and the SDK's
own path (``variations.create(config=...)`` with a ``date`` key, which it sends as
YAML) gets the same treatment.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from methodic import BadRequestError, Chronicle
from methodic_fake import FakeChronicle

HUGE_INT = "9" * 5000  # past the 4,300 digits Python will convert to or from text


@pytest.fixture(scope="module", params=["memory-uvicorn", "sqlite-in-process"])
def fake(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FakeChronicle]:
    if request.param == "memory-uvicorn":
        with FakeChronicle.start() as fake:
            yield fake
    else:
        with FakeChronicle.in_process(data_dir=tmp_path_factory.mktemp("yaml")) as fake:
            yield fake


@pytest.fixture(scope="module")
def chronicle(fake: FakeChronicle) -> Chronicle:
    return fake.client("researcher")


@pytest.fixture(scope="module")
def experiment_id(chronicle: Chronicle) -> str:
    return chronicle.experiments.create("hostile yaml").id


CONVERTED = {
    "date-key": ("2020-01-01: x\n", {"2020-01-01": "x"}),
    "datetime-key": ("2020-01-01 10:00:00: x\n", {"2020-01-01 10:00:00": "x"}),
    "int-key": ("1: x\n", {"1": "x"}),
    "float-key": ("1.5: x\n", {"1.5": "x"}),
    "bool-key": ("true: x\n", {"true": "x"}),
    "null-key": ("null: x\n", {"null": "x"}),
    "nested-date-key": ("s:\n  2026-01-01: 0.1\n", {"s": {"2026-01-01": 0.1}}),
    "date-value": ("a: 2020-01-01\n", {"a": "2020-01-01"}),
    "int-4300-digits": ("a: " + "7" * 4300 + "\n", {"a": int("7" * 4300)}),
}


@pytest.mark.parametrize("case", list(CONVERTED), ids=list(CONVERTED))
def test_non_string_keys_become_json_strings(
    chronicle: Chronicle, experiment_id: str, case: str
) -> None:
    text, expected = CONVERTED[case]
    variation = chronicle.variations.create(experiment_id, config_yaml=text)
    assert variation.config_json == expected
    assert chronicle.variations.get(variation.id).config_json == expected
    assert variation.config_yaml == text


REFUSED = {
    "binary-key": ("? !!binary aGk=\n: x\n", "binary"),
    "binary-value": ("a: !!binary aGk=\n", "binary"),
    "huge-int-value": (f"a: {HUGE_INT}\n", "integer"),
    "huge-negative-int": (f"a: -{HUGE_INT}\n", "integer"),
    "huge-int-key": (f"? {HUGE_INT}\n: x\n", "integer"),  # explicit: implicit keys stop at 1,024
    "colliding-keys": ("1: a\n'1': b\n", "'1'"),
    "colliding-bool-key": ("true: a\n'true': b\n", "'true'"),
    "impossible-date": ("a: 2020-13-45\n", "config_yaml"),
}


@pytest.mark.parametrize("case", list(REFUSED), ids=list(REFUSED))
def test_yaml_json_cannot_hold_is_400(chronicle: Chronicle, experiment_id: str, case: str) -> None:
    text, word = REFUSED[case]
    before = len(chronicle.variations.list(experiment_id, limit=200).items)
    with pytest.raises(BadRequestError) as caught:
        chronicle.variations.create(experiment_id, config_yaml=text)
    error = caught.value
    assert error.status_code == 400
    detail = error.body["detail"]
    assert "config_yaml" in detail and word.lower() in detail.lower(), detail
    assert len(detail) < 500, "the detail names the problem; it does not echo the input"
    assert len(chronicle.variations.list(experiment_id, limit=200).items) == before


def test_sdk_config_with_a_date_key(chronicle: Chronicle, experiment_id: str) -> None:
    variation = chronicle.variations.create(experiment_id, config={"s": {date(2026, 1, 1): 0.1}})
    assert variation.config_json == {"s": {"2026-01-01": 0.1}}


def test_huge_integer_in_config_json_is_400(fake: FakeChronicle, experiment_id: str) -> None:
    """The same bound holds for JSON bodies (sent raw: Python's encoder refuses them too)."""
    body = ('{"config_json": {"a": ' + HUGE_INT + "}}").encode()
    with fake.http() as http:
        response = http.post(
            f"/experiments/{experiment_id}/variations",
            content=body,
            headers={"content-type": "application/json"},
        )
    assert 400 <= response.status_code < 500, response.text[:300]
    assert "detail" in response.json()
