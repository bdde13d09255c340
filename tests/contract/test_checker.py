"""The checkers themselves: a doctored cassette must fail, naming what differs.

Each test copies a committed cassette into ``tmp_path``, changes one thing, and
runs the replay or conformance checker directly on the copy.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from methodic.errors import ChronicleError

from .compare import report
from .recorder import ContractMismatch, load_cassette, save_cassette
from .scenarios import SCENARIOS
from .targets import cassette_path, conformance_differences, fake_target, replay_scenario

LIFECYCLE = SCENARIOS["experiments_lifecycle"]


def doctored(tmp_path: Path, change: Callable[[list[dict[str, Any]]], None]) -> Path:
    """A copy of the lifecycle cassette with ``change`` applied to its interactions."""
    copy = tmp_path / "cassette" / cassette_path(LIFECYCLE).name
    copy.parent.mkdir()
    shutil.copy(cassette_path(LIFECYCLE), copy)
    data = load_cassette(copy)
    change(data["interactions"])
    save_cassette(copy, data)
    return copy


def edit_json(part: dict[str, Any], edit: Callable[[Any], None]) -> None:
    holder = part["body"] if isinstance(part["body"], dict) else part
    key = "string" if holder is part["body"] else "body"
    value = json.loads(holder[key])
    edit(value)
    holder[key] = json.dumps(value, indent=2)


def rename_title(interactions: list[dict[str, Any]]) -> None:
    edit_json(interactions[0]["response"], lambda body: body.update(headline=body.pop("title")))


def conformance_report(copy: Path, fake_server: Any, tmp_path: Path) -> str:
    differences, _ = conformance_differences(LIFECYCLE, copy, fake_target(fake_server), tmp_path)
    return report(differences)


def test_the_untouched_cassette_passes_both_checkers(fake_server: Any, tmp_path: Path) -> None:
    copy = doctored(tmp_path, lambda interactions: None)
    replay_scenario(LIFECYCLE, copy)
    assert conformance_report(copy, fake_server, tmp_path) == ""


def test_renamed_response_field_fails_conformance(fake_server: Any, tmp_path: Path) -> None:
    text = conformance_report(doctored(tmp_path, rename_title), fake_server, tmp_path)
    prefix = "experiments_lifecycle.yaml interaction #0 POST /experiments"
    assert f"{prefix}: $.headline: key in cassette, missing from fake" in text
    assert f"{prefix}: $.title: key from fake not in cassette" in text


def test_renamed_required_field_fails_replay(tmp_path: Path) -> None:
    with pytest.raises(ChronicleError, match="title"):
        replay_scenario(LIFECYCLE, doctored(tmp_path, rename_title))


def test_changed_status_fails_conformance(fake_server: Any, tmp_path: Path) -> None:
    def to_200(interactions: list[dict[str, Any]]) -> None:
        interactions[0]["response"]["status"]["code"] = 200

    text = conformance_report(doctored(tmp_path, to_200), fake_server, tmp_path)
    assert "interaction #0 POST /experiments: status: 200 in cassette, 201 from fake" in text


def test_changed_enum_value_fails_conformance(fake_server: Any, tmp_path: Path) -> None:
    def to_draft(interactions: list[dict[str, Any]]) -> None:
        index = next(
            i for i, x in enumerate(interactions) if x["request"]["uri"].endswith("/commit")
        )
        edit_json(interactions[index]["response"], lambda body: body.update(state="draft"))

    text = conformance_report(doctored(tmp_path, to_draft), fake_server, tmp_path)
    assert "/commit: $.state: 'draft' in cassette, 'committed' from fake" in text


def test_altered_request_body_fails_replay(tmp_path: Path) -> None:
    def retitle(interactions: list[dict[str, Any]]) -> None:
        edit_json(interactions[0]["request"], lambda body: body.update(title="Contract: other"))

    with pytest.raises(ContractMismatch) as failure:
        replay_scenario(LIFECYCLE, doctored(tmp_path, retitle))
    message = str(failure.value)
    assert "experiments_lifecycle.yaml: interaction #0 (recorded POST /experiments)" in message
    assert "$.title: recorded 'Contract: other', sent 'Contract: lifecycle'" in message


def test_reordered_interactions_fail_replay(tmp_path: Path) -> None:
    def swap(interactions: list[dict[str, Any]]) -> None:
        interactions[2], interactions[3] = interactions[3], interactions[2]

    with pytest.raises(ContractMismatch, match=r"interaction #2 \(recorded PATCH"):
        replay_scenario(LIFECYCLE, doctored(tmp_path, swap))


def test_unplayed_interaction_fails_replay(tmp_path: Path) -> None:
    def append_extra(interactions: list[dict[str, Any]]) -> None:
        interactions.append(interactions[2])

    with pytest.raises(
        ContractMismatch, match=r"interaction #\d+ \(recorded GET .*never requested"
    ):
        replay_scenario(LIFECYCLE, doctored(tmp_path, append_extra))


def test_missing_interaction_fails_replay(tmp_path: Path) -> None:
    def drop_last(interactions: list[dict[str, Any]]) -> None:
        del interactions[-1]

    with pytest.raises(ContractMismatch, match="cassette ends after"):
        replay_scenario(LIFECYCLE, doctored(tmp_path, drop_last))
