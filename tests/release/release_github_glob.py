"""GitHub Actions filter patterns (branches/tags/paths), evaluated the way GitHub does.

The release tests use this to decide which tags a workflow really triggers on, instead
of comparing pattern strings: `methodic-lib-v*` and `methodic-lib-v[0-9]*` are different
strings with different (and testable) meanings.

Semantics follow GitHub's "Filter pattern cheat sheet" (workflow syntax docs):

* ``*``   zero or more characters except ``/``
* ``**``  zero or more of any character (``**/`` also matches no directory at all)
* ``?``   zero or one of the *preceding* character (not "any one character" as in shells)
* ``+``   one or more of the preceding character
* ``[]``  one character listed, or in a range; ranges only within a-z, A-Z, 0-9
* ``\\``  escapes the next character
* ``!``   only as the first character of a pattern: negates it (handled by the filter
  list, where the last matching pattern wins)

    >>> matches("methodic-lib-v*", "methodic-lib-v0.1.0")
    True
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

_RANGES = (("a", "z"), ("A", "Z"), ("0", "9"))


class PatternError(ValueError):
    """A filter pattern GitHub would reject (empty brackets, bad range, dangling escape)."""


def _in_allowed_range(low: str, high: str) -> bool:
    return low <= high and any(lo <= low and high <= hi for lo, hi in _RANGES)


def _translate_class(pattern: str, start: int) -> tuple[str, int]:
    """Translate ``[...]`` starting at ``pattern[start] == "["``; return regex and next index."""
    end = pattern.find("]", start + 1)
    if end == -1:
        raise PatternError(f"{pattern!r}: '[' at {start} has no closing ']'")
    body = pattern[start + 1 : end]
    if not body:
        raise PatternError(f"{pattern!r}: empty brackets '[]' at {start}")
    parts: list[str] = []
    i = 0
    while i < len(body):
        if i + 2 < len(body) and body[i + 1] == "-":
            low, high = body[i], body[i + 2]
            if not _in_allowed_range(low, high):
                raise PatternError(f"{pattern!r}: range {low}-{high} is not within a-z, A-Z or 0-9")
            parts.append(f"{re.escape(low)}-{re.escape(high)}")
            i += 3
            continue
        char = body[i]
        if not char.isascii() or not char.isalnum():
            raise PatternError(f"{pattern!r}: brackets may only list letters and digits")
        parts.append(re.escape(char))
        i += 1
    return "[" + "".join(parts) + "]", end + 1


def to_regex(pattern: str) -> str:
    """Translate one (non-negated) filter pattern into an anchored Python regex."""
    out: list[str] = []
    # Whether the last emitted token is a single character (or class) that `?`/`+` may
    # quantify. After a wildcard or another quantifier there is nothing sensible to repeat,
    # and Python would read e.g. `*+` as a possessive quantifier, so reject instead.
    quantifiable = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            quantifiable = False
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
            quantifiable = False
        elif char == "*":
            out.append("[^/]*")
            i += 1
            quantifiable = False
        elif char in "?+":
            if i == 0:
                out.append(re.escape(char))  # nothing precedes it: a literal, as on GitHub
                quantifiable = True
            elif not quantifiable:
                raise PatternError(f"{pattern!r}: {char!r} at {i} follows no single character")
            else:
                out.append(char)
                quantifiable = False
            i += 1
        elif char == "[":
            regex, i = _translate_class(pattern, i)
            out.append(regex)
            quantifiable = True
        elif char == "\\":
            if i + 1 >= len(pattern):
                raise PatternError(f"{pattern!r}: trailing '\\' escapes nothing")
            out.append(re.escape(pattern[i + 1]))
            i += 2
            quantifiable = True
        else:
            out.append(re.escape(char))
            i += 1
            quantifiable = True
    return "".join(out)


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(to_regex(pattern), re.DOTALL)


def matches(pattern: str, name: str) -> bool:
    """Whether one positive pattern matches the whole of ``name``."""
    return _compiled(pattern).fullmatch(name) is not None


def matches_filters(patterns: Iterable[str], name: str) -> bool:
    """Evaluate a `branches:`/`tags:` list: the last pattern that matches decides.

    A pattern starting with ``!`` excludes what earlier patterns included.
    """
    included = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        if matches(pattern[1:] if negated else pattern, name):
            included = not negated
    return included


def workflow_events(workflow: Mapping[Any, Any]) -> dict[str, Any]:
    """The workflow's `on:` block normalised to a mapping of event name -> config.

    PyYAML (YAML 1.1) loads the bare key ``on`` as the boolean True, so look for both.
    """
    on = workflow["on"] if "on" in workflow else workflow.get(True)
    if on is None:
        raise ValueError("workflow has no 'on:' block")
    if isinstance(on, str):
        return {on: None}
    if isinstance(on, list):
        return {str(event): None for event in on}
    return {str(event): config for event, config in on.items()}


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(item) for item in value]


def push_triggers_on_tag(workflow: Mapping[Any, Any], tag: str) -> bool:
    """Whether pushing the tag ``tag`` (short name, no ``refs/tags/``) starts the workflow.

    Mirrors GitHub: a `push` trigger that filters only branches ignores tag pushes; one
    with no branch or tag filter at all runs for every tag.
    """
    events = workflow_events(workflow)
    if "push" not in events:
        return False
    config = events["push"] or {}
    tags, tags_ignore = config.get("tags"), config.get("tags-ignore")
    if tags is None and tags_ignore is None:
        return "branches" not in config and "branches-ignore" not in config
    if tags is not None:
        return matches_filters(_as_list(tags), tag)
    return not matches_filters(_as_list(tags_ignore), tag)
