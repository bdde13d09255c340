"""Docs are tests: every Python block of README.md and docs/*.md runs against the fake.

One test per block, named `<page>:<line of its fence>`. Each page runs top to bottom in
one namespace, in a temporary working directory, against a fake reset for the page,
with `CHRONICLE_BASE_URL` and `CHRONICLE_API_KEY` (the agent key: it may do what a
researcher may, and what a runner may) set, so a plain `Chronicle()` reaches it. A
failure's traceback names the page and the line. The rules for writing blocks are in
blocks.py and README.md ("Working on methodic"); the names a docs-setup comment may
use, in pages.py.
"""

from __future__ import annotations

import inspect
import logging
from types import FunctionType
from typing import Any

import pytest

from .blocks import Block, python_blocks
from .conftest import Pages
from .pages import ROOT, pages

LIFECYCLE = "rewritten by the lifecycle branch"

# Blocks known to fail, each with the branch that fixes it: (page, a line of the
# block) -> reason. Not strict: both fail on a race (the first beat against start()),
# so they sometimes pass today. Remove an entry when its branch merges; an entry that
# matches no block (its block was rewritten) fails the run.
XFAIL: dict[tuple[str, str], str] = {
    # Enters heartbeating() before start(): the first beat hits a pending run (409).
    ("README.md", "with run.fail_on_crash(), run.heartbeating(interval=60):"): LIFECYCLE,
    # Same order, and its progress callable names `step` before the loop defines it:
    # the first beat fails with a NameError (logged), which hides the 409.
    ("docs/runner.md", 'progress=lambda: {"step": step}):'): LIFECYCLE,
}


def _name(block: Block) -> str:
    return f"{block.path.relative_to(ROOT)}:{block.line}"


def _matches(key: tuple[str, str], block: Block) -> bool:
    page, text = key
    return page == str(block.path.relative_to(ROOT)) and text in block.code.source


def _xfail_reason(block: Block) -> str | None:
    return next((reason for key, reason in XFAIL.items() if _matches(key, block)), None)


def _params() -> list[Any]:
    params = []
    for path in pages():
        runnable = [block for block in python_blocks(path) if not block.notest]
        for index, block in enumerate(runnable):
            reason = _xfail_reason(block)
            marks = [pytest.mark.xfail(reason=reason, strict=False)] if reason else []
            params.append(pytest.param(block, index, marks=marks, id=_name(block)))
    return params


@pytest.mark.parametrize(("block", "index"), _params())
def test_block(
    block: Block,
    index: int,
    docs_pages: Pages,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    caplog: pytest.LogCaptureFixture,
) -> None:
    __tracebackhide__ = True  # a failure shows the page's lines, not this harness
    page = docs_pages.at(block.path, index)
    fake = docs_pages.fake
    monkeypatch.setenv("CHRONICLE_BASE_URL", fake.base_url)
    monkeypatch.setenv("CHRONICLE_API_KEY", fake.agent_key)
    # The default upload journal of a Run without tracker= lands in the page's
    # directory, never in the ~/.cache of whoever runs the suite.
    monkeypatch.setenv("XDG_CACHE_HOME", str(page.workdir / "cache"))
    monkeypatch.chdir(page.workdir)

    def call_test(test: FunctionType) -> None:
        names = inspect.signature(test).parameters
        test(**{name: request.getfixturevalue(name) for name in names})

    page.replay_to(index)
    caplog.clear()
    page.run(index, call_test)
    # An example that works only because methodic logged a problem and carried on
    # (a failed heartbeat, say) is not a working example.
    problems = [
        f"{record.levelname}: {record.getMessage()}"
        for record in caplog.records
        if record.name.startswith("methodic") and record.levelno >= logging.WARNING
    ]
    assert not problems, f"{_name(block)} logged problems: {problems}"


def test_every_xfail_entry_names_a_block() -> None:
    blocks = [block for path in pages() for block in python_blocks(path) if not block.notest]
    stale = [key for key in XFAIL if not any(_matches(key, block) for block in blocks)]
    assert not stale, f"XFAIL entries that match no block (remove them): {stale}"
