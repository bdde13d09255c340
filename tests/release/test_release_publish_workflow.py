"""The publish workflow does what the design doc's "Release process" requires.

Trusted publishing only (OIDC, no secrets), only `methodic-lib-v*` tags, the tag checked
against the package version before anything is built or uploaded.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from release_github_glob import push_triggers_on_tag, workflow_events
from release_tools import WORKFLOWS_DIR, load_workflow

PUBLISH = "methodic-lib-publish.yml"
PINNED_USES = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_./-]+@[0-9a-f]{40}$")


def _jobs(workflow: dict[Any, Any]) -> dict[str, dict[str, Any]]:
    jobs = workflow["jobs"]
    assert isinstance(jobs, dict)
    return jobs


def _all_workflows() -> list[str]:
    names = sorted(p.name for p in WORKFLOWS_DIR.glob("*.y*ml"))
    assert PUBLISH in names and "ci.yml" in names
    return names


@pytest.fixture(scope="module")
def publish() -> dict[Any, Any]:
    return load_workflow(PUBLISH)


@pytest.mark.parametrize(
    "tag", ["methodic-lib-v0.1.0", "methodic-lib-v1.2.3rc1", "methodic-lib-v10.0.0.post1"]
)
def test_sdk_release_tags_trigger_publishing(publish: dict[Any, Any], tag: str) -> None:
    assert push_triggers_on_tag(publish, tag)


@pytest.mark.parametrize(
    "tag",
    [
        "methodic-v0.1.0",  # reserved for the platform, should it ever be renamed
        "v0.1.0",
        "methodic-lib-0.1.0",
        "methodic-lib-v0.1.0/extra",
        "release-methodic-lib-v0.1.0",
    ],
)
def test_other_tags_do_not_trigger_publishing(publish: dict[Any, Any], tag: str) -> None:
    assert not push_triggers_on_tag(publish, tag)


def test_publishing_starts_from_tag_pushes_only(publish: dict[Any, Any]) -> None:
    events = workflow_events(publish)
    # No manual dispatch, releases or branch pushes: the tag is the only way in.
    assert set(events) == {"push"}
    assert set(events["push"]) == {"tags"}


@pytest.mark.parametrize("name", _all_workflows())
def test_reserved_platform_prefix_triggers_no_workflow(name: str) -> None:
    workflow = load_workflow(name)
    assert not push_triggers_on_tag(workflow, "methodic-v0.1.0")
    # Events that fire on any tag or release regardless of push filters.
    assert not {"create", "release", "registry_package"} & set(workflow_events(workflow))


def test_only_the_publish_job_can_mint_an_oidc_token(publish: dict[Any, Any]) -> None:
    jobs = _jobs(publish)
    assert publish["permissions"] == {}
    assert jobs["publish"]["permissions"] == {"id-token": "write"}
    assert "id-token" not in jobs["build"]["permissions"]
    assert set(jobs["build"]["permissions"].values()) <= {"read", "none"}
    # GitHub Pages deployments are proved with an OIDC token too: the docs workflow's
    # deploy job, which runs no code of ours (test_release_docs_workflow.py).
    allowed = {(PUBLISH, "publish"), ("methodic-lib-docs.yml", "deploy")}
    for name in _all_workflows():
        for job_name, job in _jobs(load_workflow(name)).items():
            if (name, job_name) not in allowed:
                assert "id-token" not in (job.get("permissions") or {}), (name, job_name)


def test_publish_job_uses_trusted_publishing_in_the_pypi_environment(
    publish: dict[Any, Any],
) -> None:
    job = _jobs(publish)["publish"]
    assert job["needs"] == "build"
    environment = job["environment"]
    assert (environment["name"] if isinstance(environment, dict) else environment) == "pypi"
    publish_steps = [s for s in job["steps"] if "gh-action-pypi-publish" in s.get("uses", "")]
    assert len(publish_steps) == 1
    assert publish_steps[0]["uses"].startswith("pypa/gh-action-pypi-publish@")
    # A password or user input would mean a long-lived token instead of OIDC.
    assert not {"password", "user", "repository-url"} & set(publish_steps[0].get("with", {}))
    # The publish job runs no code of ours: it only downloads what the build job checked.
    assert not [s for s in job["steps"] if "run" in s]
    assert not [s for s in job["steps"] if "actions/checkout" in s.get("uses", "")]


def test_publish_uploads_exactly_the_artifact_the_build_job_made(
    publish: dict[Any, Any],
) -> None:
    jobs = _jobs(publish)
    uploads = [s for s in jobs["build"]["steps"] if "upload-artifact" in s.get("uses", "")]
    downloads = [s for s in jobs["publish"]["steps"] if "download-artifact" in s.get("uses", "")]
    assert len(uploads) == len(downloads) == 1
    assert uploads[0]["with"]["name"] == downloads[0]["with"]["name"]
    assert uploads[0]["with"]["if-no-files-found"] == "error"
    publish_step = jobs["publish"]["steps"][-1]
    assert publish_step["with"]["packages-dir"].rstrip("/") == (
        downloads[0]["with"]["path"].rstrip("/")
    )


def _step_index(steps: list[dict[str, Any]], predicate: Any, what: str) -> int:
    found = [i for i, step in enumerate(steps) if predicate(step)]
    assert found, f"no step {what}"
    return found[0]


def test_build_job_checks_the_tag_against_the_version_before_building(
    publish: dict[Any, Any],
) -> None:
    steps = _jobs(publish)["build"]["steps"]

    def runs(pattern: str) -> Any:
        return lambda step: re.search(pattern, step.get("run", "")) is not None

    check = _step_index(
        steps, runs(r"\.ci/release/check_tag_version\.py --tag \"\$TAG\"$"), "checking the tag"
    )
    # The tag reaches the script through env, never spliced into the shell text.
    assert steps[check]["env"]["TAG"] == "${{ github.ref_name }}"
    tests = _step_index(steps, runs(r"^make test\b"), "running make test")
    build = _step_index(steps, runs(r"^make dist-check\b.*DIST_DIR=dist"), "building dist/")
    check_built = _step_index(
        steps, runs(r"check_tag_version\.py --tag \"\$TAG\" --dist dist$"), "checking dist/"
    )
    upload = _step_index(steps, lambda s: "upload-artifact" in s.get("uses", ""), "uploading")
    assert check < tests < build < check_built < upload


def test_nothing_under_github_references_secrets() -> None:
    files = [p for p in WORKFLOWS_DIR.parent.rglob("*") if p.is_file()]
    assert len(files) >= 3  # both workflows and dependabot.yml were found
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"\bsecrets\s*[.\[]", text), path


@pytest.mark.parametrize("name", _all_workflows())
def test_every_action_is_pinned_by_commit_sha_with_a_version_comment(name: str) -> None:
    lines = (WORKFLOWS_DIR / name).read_text(encoding="utf-8").splitlines()
    uses_lines = [line for line in lines if re.match(r"^\s*(- )?uses:", line)]
    assert uses_lines
    for line in uses_lines:
        match = re.match(r"^\s*(?:- )?uses:\s*(\S+)\s*#\s*(v\d+(?:\.\d+)*)\s*$", line)
        assert match, f"{name}: {line.strip()!r} lacks a `# vX.Y.Z` comment"
        assert PINNED_USES.match(match.group(1)), f"{name}: {match.group(1)} is not SHA-pinned"
    # And the parsed structure agrees: no `uses:` the line scan could have missed.
    parsed = [
        step["uses"]
        for job in _jobs(load_workflow(name)).values()
        for step in job.get("steps", [])
        if "uses" in step
    ]
    assert len(parsed) == len(uses_lines)
    assert all(PINNED_USES.match(uses) for uses in parsed)


@pytest.mark.parametrize("name", _all_workflows())
def test_workflows_grant_nothing_by_default_and_keep_no_git_credentials(name: str) -> None:
    workflow = load_workflow(name)
    assert workflow["permissions"] in ({}, {"contents": "read"})
    for job_name, job in _jobs(workflow).items():
        assert "permissions" in job, f"{name}: job {job_name} must state its permissions"
        for step in job.get("steps", []):
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False, (name, job_name)
