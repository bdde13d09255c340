"""Running a page: its blocks in order, in one namespace, against a fake reset for it.

A page's namespace starts with two names for docs-setup comments:

- ``methodic_fake``: the fake this page runs against (a ``FakeChronicle`` that refuses
  ``stop()``), for clients of another role, the clock and faults;
- ``new_run_id(config=None, *, resume_from_run_id=None)``: a pending run of a fresh
  committed experiment, set up as a researcher — what a scheduler hands a runner.

A block that defines ``test_*`` functions has them called, as pytest would, with
fixtures by parameter name (``methodic_fake`` there is the real pytest fixture).
"""

from __future__ import annotations

import contextlib
import inspect
import logging
from collections.abc import Callable
from pathlib import Path
from types import FunctionType
from typing import TYPE_CHECKING, Any

from .blocks import Block

if TYPE_CHECKING:
    from methodic_fake.harness import FakeChronicle

ROOT = Path(__file__).resolve().parents[2]


def pages() -> list[Path]:
    """README.md and every docs/*.md: a page added later is picked up by itself."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def new_run_id(
    fake: FakeChronicle,
    config: dict[str, Any] | None = None,
    *,
    resume_from_run_id: str | None = None,
) -> str:
    """A pending run of a fresh committed experiment, created as a researcher."""
    researcher = fake.client("researcher")
    exp = researcher.experiments.create("docs example")
    researcher.experiments.commit(exp.id)
    variation = researcher.variations.create(exp.id, config=config or {"lr": 3e-4})
    return researcher.runs.create(variation.id, resume_from_run_id=resume_from_run_id).id


class PageRun:
    """One page's blocks run so far, and the namespace they share."""

    def __init__(self, path: Path, blocks: list[Block], fake: FakeChronicle, workdir: Path) -> None:
        self.path = path
        self.fake = fake
        self.workdir = workdir  # the page's cwd: files it writes stay there
        self.blocks = [block for block in blocks if not block.notest]
        self.done = 0
        self.namespace: dict[str, Any] = {
            "__name__": "__docs__",
            "methodic_fake": fake,
            "new_run_id": lambda config=None, **kw: new_run_id(fake, config, **kw),
        }
        # A block may configure logging (docs/sdk.md does): undone with the page.
        self._root_handlers = list(logging.root.handlers)
        self._levels = {name: logging.getLogger(name).level for name in ("", "methodic")}

    def run(self, index: int, call_test: Callable[[FunctionType], None] | None = None) -> None:
        """Run block `index`: its setup, its code, the tests it defines (through
        `call_test`), then its check."""
        __tracebackhide__ = True
        block = self.blocks[index]
        # Counted before running: a later block runs after a failed one, as a reader's would.
        self.done = index + 1
        if block.setup is not None:
            exec(block.setup.compile(self.path), self.namespace)
        exec(block.code.compile(self.path), self.namespace)
        if call_test is not None:
            for test in self._tests_defined_by(block):
                call_test(test)
        if block.check is not None:
            exec(block.check.compile(self.path), self.namespace)

    def replay_to(self, index: int) -> None:
        """Run the blocks before `index` not run yet, ignoring their errors (their own
        tests report them): a block always runs after the blocks above it."""
        while self.done < index:
            with contextlib.suppress(Exception):
                self.run(self.done)

    def _tests_defined_by(self, block: Block) -> list[FunctionType]:
        return [
            value
            for name, value in self.namespace.items()
            if name.startswith("test")
            and inspect.isfunction(value)
            and value.__code__.co_filename == str(self.path)
            and block.contains(value.__code__.co_firstlineno)
        ]

    def close(self) -> None:
        """Close the clients the page left open and undo its logging set-up."""
        from methodic import Chronicle

        for value in list(self.namespace.values()):
            if isinstance(value, Chronicle):
                value.close()
        self.fake.close_clients()
        logging.root.handlers[:] = self._root_handlers
        for name, level in self._levels.items():
            logging.getLogger(name).setLevel(level)
