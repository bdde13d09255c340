"""Run one markdown page as its reader would: every Python block, top to bottom, in one
fresh process.

    PYTHONPATH=tests python -m docs.run_page docs/runner.md

`test_docs.py` starts this in an empty working directory with what the page's setup
has the reader export — `CHRONICLE_BASE_URL` of a `methodic-fake serve` dev server and
`CHRONICLE_API_KEY` of the page's audience — and nothing else: no fixture, no names
put in the namespace, no server reset. So a name the page never defines is a
`NameError` here too, and a page that cannot run twice against one persistent server
fails on its second run.

A block that defines `test_*` functions (the fixture examples) has them run by pytest,
in this process, as the reader's test suite would: fixtures by parameter name, with
the `methodic_fake` plugin. A block after which methodic logged a warning or an error
fails: an example that works only because methodic logged a problem and carried on
(a failed heartbeat, say) is not a working example.

Exit status 0 when every block ran; otherwise 1, after printing which block failed
and the traceback, whose frames name the page and its lines.
"""

from __future__ import annotations

import inspect
import logging
import os
import sys
import traceback
import types
from pathlib import Path
from types import FunctionType
from typing import Any

from .blocks import Block, read_page

HARNESS = str(Path(__file__).resolve())


class _Problems(logging.Handler):
    """Warnings and errors of the `methodic` logger, as they happen."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _tests_defined_by(block: Block, namespace: dict[str, Any]) -> list[FunctionType]:
    return [
        value
        for name, value in namespace.items()
        if name.startswith("test")
        and inspect.isfunction(value)
        and value.__code__.co_filename == str(block.path)
        and block.contains(value.__code__.co_firstlineno)
    ]


def _run_tests(block: Block, tests: list[FunctionType]) -> None:
    """Run `tests` with pytest, as the reader's suite would; AssertionError if any fails."""
    import pytest

    class BlockModule(pytest.Module):
        # The functions already exist (compiled from the page, their globals the
        # page's names): hand them to pytest instead of importing a file.
        def _getobj(self) -> types.ModuleType:
            module = types.ModuleType(f"{block.path.stem}_line_{block.line}")
            module.__dict__.update({test.__name__: test for test in tests})
            return module

    class Collect:
        @pytest.hookimpl
        def pytest_collect_file(self, file_path: Path, parent: Any) -> Any:
            if file_path == block.path:
                return BlockModule.from_parent(parent, path=file_path)
            return None

    here = str(Path.cwd())
    # Only the plugin the page relies on (by its pytest11 entry point name): loading
    # every plugin of the dev environment (schemathesis, playwright, ...) takes seconds.
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    args = [str(block.path), "-q", "-p", "methodic_fake", "-p", "no:cacheprovider"]
    code = pytest.main([*args, "-c", os.devnull, "--rootdir", here], plugins=[Collect()])
    if code != pytest.ExitCode.OK:
        raise AssertionError(f"pytest: the tests this block defines did not pass ({code!r})")


def _show_failure(where: str, exc: BaseException) -> None:
    print(f"{where}: this block failed", file=sys.stderr)
    shown = traceback.TracebackException.from_exception(exc)
    # The harness's own frames say nothing about the page.
    shown.stack = traceback.StackSummary.from_list(
        [frame for frame in shown.stack if frame.filename != HARNESS]
    )
    print("".join(shown.format()), end="", file=sys.stderr)


def run(path: Path, root: Path) -> int:
    page = read_page(path)
    namespace: dict[str, Any] = {"__name__": "__main__"}
    problems = _Problems()
    logging.getLogger("methodic").addHandler(problems)
    for block in page.runnable:
        where = f"{path.relative_to(root) if path.is_relative_to(root) else path}:{block.line}"
        problems.records.clear()
        try:
            exec(block.code.compile(path), namespace)
            tests = _tests_defined_by(block, namespace)
            if tests:
                _run_tests(block, tests)
            if block.check is not None:
                # On a copy: a check asserts, it never defines what a later block uses.
                exec(block.check.compile(path), dict(namespace))
        except BaseException as exc:
            _show_failure(where, exc)
            return 1
        if problems.records:
            logged = [f"{r.levelname}: {r.getMessage()}" for r in problems.records]
            print(f"{where}: methodic logged problems: {logged}", file=sys.stderr)
            return 1
    return 0


def main(argv: list[str]) -> int:
    root = Path(__file__).resolve().parents[2]
    return run((root / argv[0]).resolve(), root)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
