"""The docs workflow publishes the reference site to GitHub Pages, and only for SDK tags.

Built strict (the same `make docs-build` a developer runs) by a job that can only read;
deployed by a job that holds `pages: write` and the OIDC token deploy-pages needs, and
runs nothing of ours.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from release_github_glob import push_triggers_on_tag, workflow_events
from release_tools import REPO_ROOT, load_workflow

DOCS = "methodic-lib-docs.yml"


@pytest.fixture(scope="module")
def docs() -> dict[Any, Any]:
    return load_workflow(DOCS)


@pytest.mark.parametrize("tag", ["methodic-lib-v0.1.0", "methodic-lib-v1.2.3rc1"])
def test_sdk_release_tags_publish_the_site(docs: dict[Any, Any], tag: str) -> None:
    assert push_triggers_on_tag(docs, tag)


@pytest.mark.parametrize("tag", ["methodic-v0.1.0", "v0.1.0", "methodic-lib-0.1.0"])
def test_other_tags_do_not(docs: dict[Any, Any], tag: str) -> None:
    assert not push_triggers_on_tag(docs, tag)


def test_only_tag_pushes_start_it(docs: dict[Any, Any]) -> None:
    events = workflow_events(docs)
    assert set(events) == {"push"} and set(events["push"]) == {"tags"}


def test_the_build_job_checks_the_tag_then_builds_strict(docs: dict[Any, Any]) -> None:
    job = docs["jobs"]["build"]
    assert set(job["permissions"].values()) <= {"read", "none"}
    runs = [step.get("run", "") for step in job["steps"]]
    check = next(i for i, r in enumerate(runs) if "check_tag_version.py --tag" in r)
    build = next(i for i, r in enumerate(runs) if re.match(r"make docs-build\b", r))
    assert check < build
    upload = [s for s in job["steps"] if "upload-pages-artifact" in s.get("uses", "")]
    assert [u["with"]["path"].rstrip("/") for u in upload] == ["site"]
    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    rule = re.search(r"^docs-build:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert rule and "mkdocs build --strict --site-dir site" in rule.group(1)


def test_the_deploy_job_only_deploys(docs: dict[Any, Any]) -> None:
    job = docs["jobs"]["deploy"]
    assert job["needs"] == "build"
    assert job["permissions"] == {"pages": "write", "id-token": "write"}
    assert job["environment"]["name"] == "github-pages"
    assert [s["uses"].split("@")[0] for s in job["steps"]] == ["actions/deploy-pages"]
    assert not [s for s in job["steps"] if "run" in s]
