"""The filter-pattern matcher the workflow tests rely on behaves like GitHub's."""

from __future__ import annotations

import pytest
from release_github_glob import (
    PatternError,
    matches,
    matches_filters,
    push_triggers_on_tag,
    workflow_events,
)


@pytest.mark.parametrize(
    ("pattern", "name", "expected"),
    [
        # `*` stops at `/`; `**` does not.
        ("methodic-lib-v*", "methodic-lib-v0.1.0", True),
        ("methodic-lib-v*", "methodic-lib-v", True),
        ("methodic-lib-v*", "methodic-lib-v1/hotfix", False),
        ("methodic-lib-v**", "methodic-lib-v1/hotfix", True),
        ("Octo*", "Octocat", True),
        ("feature/*", "feature/a/b", False),
        ("feature/**", "feature/a/b", True),
        ("**", "", True),
        ("**/README.md", "README.md", True),
        ("**/README.md", "docs/deep/README.md", True),
        ("*.md", "docs/README.md", False),
        # Whole-name match only: a prefix is not enough, a suffix is not enough.
        ("v*", "methodic-v0.1.0", False),
        ("methodic-lib-v*", "x-methodic-lib-v0.1.0", False),
        ("v1", "v10", False),
        # `?` makes the preceding character optional (it is not a shell `?`).
        ("colou?r", "color", True),
        ("colou?r", "colour", True),
        ("colou?r", "colouur", False),
        ("Octoc?t", "Octocat", False),
        ("v1.0?", "v1.", True),
        # `+` is one-or-more of the preceding character.
        ("ab+c", "abbbc", True),
        ("ab+c", "ac", False),
        # Leading `?`/`+` have nothing to quantify and match themselves.
        ("+x", "+x", True),
        ("?x", "?x", True),
        # Brackets: one listed character or one in a range.
        ("[CB]at", "Cat", True),
        ("[CB]at", "Bat", True),
        ("[CB]at", "Hat", False),
        ("[1-2]00", "200", True),
        ("[1-2]00", "300", False),
        ("v[0-9a-z]", "vq", True),
        ("v[0-9]+.[0-9]+", "v10.22", True),
        ("v[0-9]+.[0-9]+", "v.2", False),
        # Dots and other regex metacharacters are literal.
        ("v1.0", "v1x0", False),
        ("a(b)|c", "a(b)|c", True),
        # A backslash makes a special character literal.
        ("release\\*", "release*", True),
        ("release\\*", "release-1", False),
        ("a\\+b", "a+b", True),
        ("a\\+b", "aab", False),
    ],
)
def test_pattern_semantics(pattern: str, name: str, expected: bool) -> None:
    assert matches(pattern, name) is expected


@pytest.mark.parametrize(
    "pattern",
    ["v[]", "v[0-9", "v[a-Z]", "v[!-~]", "v[.]", "v[a-]", "trailing\\", "v*+", "v**?", "a++"],
)
def test_patterns_github_rejects_raise(pattern: str) -> None:
    with pytest.raises(PatternError):
        matches(pattern, "v1")


def test_last_matching_pattern_wins_and_negation_excludes() -> None:
    patterns = ["v*", "!v*-rc*", "v2*-rc1"]
    assert matches_filters(patterns, "v1.0")
    assert not matches_filters(patterns, "v1.0-rc2")
    assert matches_filters(patterns, "v2.0-rc1")  # re-included by the later pattern
    assert not matches_filters(patterns, "x1.0")
    assert not matches_filters([], "v1.0")


def test_bang_is_only_special_at_the_start() -> None:
    assert matches("a!b", "a!b")
    assert matches_filters(["a!b"], "a!b")


def test_workflow_events_accepts_every_on_spelling() -> None:
    # PyYAML turns the bare key `on` into True; quoted keys stay strings.
    assert workflow_events({True: "push"}) == {"push": None}
    assert workflow_events({"on": ["push", "pull_request"]}) == {
        "push": None,
        "pull_request": None,
    }
    assert workflow_events({"on": {"push": {"tags": ["v*"]}}}) == {"push": {"tags": ["v*"]}}
    with pytest.raises(ValueError, match="no 'on:'"):
        workflow_events({"jobs": {}})


def test_push_filters_decide_tag_triggers_like_github() -> None:
    tags_only = {True: {"push": {"tags": ["methodic-lib-v*"]}}}
    assert push_triggers_on_tag(tags_only, "methodic-lib-v0.1.0")
    assert not push_triggers_on_tag(tags_only, "methodic-v0.1.0")

    # Only branch filters: tag pushes do not run the workflow at all.
    branches_only = {True: {"push": {"branches": ["**"]}}}
    assert not push_triggers_on_tag(branches_only, "methodic-lib-v0.1.0")

    # A bare `push` runs for every tag.
    assert push_triggers_on_tag({True: ["push"]}, "anything")
    assert not push_triggers_on_tag({True: ["pull_request"]}, "anything")

    ignore = {True: {"push": {"tags-ignore": ["methodic-v*"]}}}
    assert push_triggers_on_tag(ignore, "methodic-lib-v0.1.0")
    assert not push_triggers_on_tag(ignore, "methodic-v0.1.0")
