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


def _name(block: Block) -> str:
    return f"{block.path.relative_to(ROOT)}:{block.line}"


def _params() -> list[Any]:
    params = []
    for path in pages():
        runnable = [block for block in python_blocks(path) if not block.notest]
        for index, block in enumerate(runnable):
            params.append(pytest.param(block, index, id=_name(block)))
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
