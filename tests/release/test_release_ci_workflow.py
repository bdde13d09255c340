"""CI runs the developer's `make test` on every supported Python and checks the dists."""

from __future__ import annotations

import importlib.metadata
import re
from typing import Any

import pytest
from release_github_glob import workflow_events
from release_tools import REPO_ROOT, load_workflow

SUPPORTED = ["3.11", "3.12", "3.13", "3.14"]


@pytest.fixture(scope="module")
def ci() -> dict[Any, Any]:
    return load_workflow("ci.yml")


def _runs(job: dict[str, Any]) -> list[str]:
    return [step["run"] for step in job["steps"] if "run" in step]


def test_ci_runs_on_pushes_and_pull_requests(ci: dict[Any, Any]) -> None:
    assert {"push", "pull_request"} <= set(workflow_events(ci))


def test_make_test_runs_on_every_supported_python(ci: dict[Any, Any]) -> None:
    job = ci["jobs"]["test"]
    assert job["strategy"]["matrix"]["python-version"] == SUPPORTED
    assert job["strategy"]["fail-fast"] is False  # one Python failing must not hide another
    setup = [s for s in job["steps"] if s.get("uses", "").startswith("actions/setup-python@")]
    assert [s["with"]["python-version"] for s in setup] == ["${{ matrix.python-version }}"]
    assert [r for r in _runs(job) if re.match(r"make test\b", r)], "no `make test` step"


def test_a_job_builds_and_checks_the_distributions(ci: dict[Any, Any]) -> None:
    job = ci["jobs"]["dist"]
    assert [r for r in _runs(job) if re.match(r"make dist-check\b.*DIST_DIR=dist", r)]
    uploads = [s for s in job["steps"] if "upload-artifact" in s.get("uses", "")]
    assert [u["with"]["path"] for u in uploads] == ["dist/"]


def test_matrix_matches_the_pythons_the_package_declares(ci: dict[Any, Any]) -> None:
    # The installed (editable) distribution's metadata is pyproject.toml as built.
    metadata = importlib.metadata.metadata("methodic")
    declared = sorted(
        c.rsplit(" :: ", 1)[1]
        for c in metadata.get_all("Classifier") or []
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    )
    assert declared == sorted(ci["jobs"]["test"]["strategy"]["matrix"]["python-version"])
    assert metadata["Requires-Python"] == f">={SUPPORTED[0]}"


def test_make_test_includes_the_release_checks() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    test_rule = re.search(r"^test:(.*)$", makefile, re.MULTILINE)
    assert test_rule is not None
    prerequisites = test_rule.group(1).split()
    assert {"dist-check", "workflows-check"} <= set(prerequisites)
