"""The docs-as-tests collector itself: which blocks run, in what namespace, and where a
failure points."""

from __future__ import annotations

import re
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FunctionType

import pytest

from methodic_fake.harness import FakeChronicle

from .blocks import DocsSyntaxError, python_blocks
from .pages import ROOT, PageRun, pages


def page(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "page.md"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def page_run() -> Iterator[Callable[[Path], PageRun]]:
    # No server needed: these pages never reach Chronicle.
    with FakeChronicle.in_process() as fake:
        yield lambda path: PageRun(path, python_blocks(path), fake, path.parent)


def test_python_blocks_run_notest_and_other_languages_do_not(tmp_path: Path) -> None:
    path = page(
        tmp_path,
        "# t\n\n```python\na = 1\n```\n\n```python notest\nf(*, x)\n```\n\n"
        "```sh\nmake test\n```\n\n```py\nb = 2\n```\n\n```\nplain\n```\n",
    )
    blocks = python_blocks(path)
    assert [(b.line, b.code.line, b.notest) for b in blocks] == [
        (3, 4, False),
        (7, 8, True),
        (15, 16, False),
    ]
    assert blocks[0].code.source == "a = 1\n"


def test_fences_are_parsed_as_commonmark(tmp_path: Path) -> None:
    path = page(
        tmp_path,
        "````markdown\n```python\nnot_a_block()\n```\n````\n\n"
        "- a list item:\n\n  ```python\n  in_list = True\n  ```\n\n~~~python\ntilde = 1\n~~~\n",
    )
    blocks = python_blocks(path)
    assert [b.code.source for b in blocks] == ["in_list = True\n", "tilde = 1\n"]
    assert [b.code.line for b in blocks] == [10, 14]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("```python no-test\nx\n```\n", "page.md:1: unknown info word(s) ['no-test']"),
        (
            "<!-- docs-setup\nx = 1\n-->\n```python notest\nx\n```\n",
            "page.md:4: a docs-setup comment before a notest block never runs",
        ),
        (
            "<!-- docs-setup\nx = 1\n-->\n```sh\nls\n```\n",
            "page.md:4: a docs-setup comment must precede a Python block",
        ),
        ("text\n\n<!-- docs-setup\nx = 1\n-->\n", "a docs-setup comment at the end of the page"),
        (
            "<!-- docs-setup x = 1 -->\n```python\nx\n```\n",
            "page.md:1: write the comment as '<!-- docs-setup'",
        ),
        (
            "text\n\n<!-- docs-check\nassert x\n-->\n",
            "page.md:3: a docs-check comment must follow a Python block",
        ),
        (
            "```python\nx = 1\n```\n\ntext\n\n<!-- docs-check\nassert x\n-->\n",
            "page.md:7: a docs-check comment must follow a Python block",
        ),
    ],
    ids=[
        "typo",
        "setup-notest",
        "setup-shell",
        "setup-at-end",
        "setup-one-line",
        "check-alone",
        "check-after-text",
    ],
)
def test_mistakes_are_errors_naming_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(DocsSyntaxError, match=re.escape(message)):
        python_blocks(page(tmp_path, text))


def test_setup_runs_before_its_block_and_blocks_share_one_namespace(
    tmp_path: Path, page_run: Callable[[Path], PageRun]
) -> None:
    path = page(
        tmp_path,
        "<!-- docs-setup\nrun_id = 'r1'\n-->\n```python\nseen = [run_id]\n```\n\n"
        "```python\nseen.append(len(seen))\n```\n",
    )
    run = page_run(path)
    assert run.blocks[0].setup is not None and run.blocks[0].setup.line == 2
    run.run(0)
    run.run(1)
    assert run.namespace["seen"] == ["r1", 1]


def test_a_check_runs_after_its_block_and_its_tests(
    tmp_path: Path, page_run: Callable[[Path], PageRun]
) -> None:
    path = page(
        tmp_path,
        "```python\nstate = 'missing'\nif True:\n    state = 'loaded'\n\n"
        "def test_something():\n    pass\n```\n<!-- docs-check\n"
        "assert (state, tested) == ('loaded', ['test_something'])\n-->\n",
    )
    run = page_run(path)
    run.namespace["tested"] = []
    run.run(0, lambda test: run.namespace["tested"].append(test.__name__))
    block = run.blocks[0]
    assert block.check is not None and block.check.line == 10
    broken = path.read_text().replace("('loaded'", "('missing'")
    path.write_text(broken)
    rerun = page_run(path)
    rerun.namespace["tested"] = ["test_something"]
    with pytest.raises(AssertionError) as info:
        rerun.run(0, lambda test: None)
    assert traceback.extract_tb(info.value.__traceback__)[-1][:2] == (str(path), 10)


def test_a_failure_points_at_the_markdown_line(
    tmp_path: Path, page_run: Callable[[Path], PageRun]
) -> None:
    path = page(
        tmp_path,
        "# t\n\n```python\ndef helper():\n    raise ValueError('boom')\n```\n\n"
        "Text.\n\n```python\nx = 1\nhelper()\n```\n",
    )
    run = page_run(path)
    run.run(0)
    with pytest.raises(ValueError, match="boom") as info:
        run.run(1)
    frames = [(f.filename, f.lineno) for f in traceback.extract_tb(info.value.__traceback__)]
    assert frames[-2:] == [(str(path), 12), (str(path), 5)]
    assert "helper()" in path.read_text().splitlines()[12 - 1]


def test_a_block_runs_after_the_blocks_above_it_even_when_run_alone(
    tmp_path: Path, page_run: Callable[[Path], PageRun]
) -> None:
    path = page(
        tmp_path,
        "```python\nsteps = ['a']\n```\n\n```python\nraise RuntimeError('reported by its own test')\n"
        "```\n\n```python\nsteps.append('c')\n```\n",
    )
    run = page_run(path)
    run.replay_to(2)  # what a `-k` selecting only the third block does
    run.run(2)
    assert run.namespace["steps"] == ["a", "c"]


def test_tests_a_block_defines_are_called(
    tmp_path: Path, page_run: Callable[[Path], PageRun]
) -> None:
    path = page(
        tmp_path,
        "```python\ndef helper_not_a_test():\n    pass\n\n"
        "def test_uses_a_fixture(tmp_path):\n    return tmp_path\n```\n",
    )
    called: list[FunctionType] = []
    page_run(path).run(0, called.append)
    assert [test.__name__ for test in called] == ["test_uses_a_fixture"]


def test_every_page_is_collected() -> None:
    assert pages()[0] == ROOT / "README.md"
    assert set(pages()[1:]) == set((ROOT / "docs").glob("*.md"))
