"""The Python blocks of a markdown page, as the docs-as-tests collector runs them.

Rules (also in README.md, "Working on methodic"):

- ```` ```python ```` (or ``py``) blocks run; ```` ```python notest ```` blocks are only
  shown. Any other word after the language is an error, so a typo cannot silently
  turn a test off.
- A hidden ``<!-- docs-setup ... -->`` HTML comment runs right before the next
  Python block, in the same namespace, as part of that block's test. It supplies what
  the reader would (a ``run_id`` from the scheduler, a ``train()`` function); the
  rendered page does not show it.
- A hidden ``<!-- docs-check ... -->`` comment right after a block runs after it, as
  part of its test: asserts on what the block did (a branch it should have taken).

Parsing is markdown-it-py's CommonMark, so fences inside lists, tilde fences and
longer fences around a ```` ```python ```` example behave as on GitHub.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
from dataclasses import dataclass
from pathlib import Path
from types import CodeType

PYTHON = frozenset({"python", "py", "python3"})
OPTIONS = frozenset({"notest"})
SETUP_OPENER = "<!-- docs-setup"
CHECK_OPENER = "<!-- docs-check"


class DocsSyntaxError(ValueError):
    """A page breaks the docs-as-tests rules; the message names file and line."""


@dataclass(frozen=True)
class Snippet:
    """Python source and the 1-based markdown line its first line sits on."""

    source: str
    line: int

    def compile(self, path: Path) -> CodeType:
        """Code whose tracebacks name the markdown file and the line as it is there.

        Its first line is the block's, so pytest shows the block, not the page above it,
        and its asserts are rewritten as in a test module, so a failure shows the values.
        """
        from _pytest.assertion.rewrite import rewrite_asserts

        tree = ast.parse(self.source, str(path))
        rewrite_asserts(tree, self.source.encode(), str(path))
        return _shifted(compile(tree, str(path), "exec"), self.line - 1)


def _shifted(code: CodeType, lines: int) -> CodeType:
    # Line tables are relative to co_firstlineno; nested code objects carry their own.
    consts = tuple(_shifted(c, lines) if isinstance(c, CodeType) else c for c in code.co_consts)
    return code.replace(co_firstlineno=code.co_firstlineno + lines, co_consts=consts)


@dataclass(frozen=True)
class Block:
    """One Python block of a page: what runs for it, and where it is."""

    path: Path
    code: Snippet
    setup: Snippet | None
    notest: bool
    end_line: int  # the closing fence's line
    check: Snippet | None = None

    @property
    def line(self) -> int:
        """The line of the opening fence, as an editor shows it."""
        return self.code.line - 1

    def __repr__(self) -> str:
        return f"<Block {self.path.name}:{self.line}>"

    def contains(self, line: int) -> bool:
        return self.code.line <= line < self.end_line


@functools.cache
def _parser() -> object:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark")


def _comment_snippet(content: str, opener: str, first_line: int, where: str) -> Snippet:
    lines = content.rstrip("\n").split("\n")
    if lines[0].strip() != opener or lines[-1].strip() != "-->":
        raise DocsSyntaxError(
            f"{where}: write the comment as '{opener}' and '-->' on lines of their own"
        )
    return Snippet("\n".join(lines[1:-1]) + "\n", first_line + 1)


def python_blocks(path: Path) -> list[Block]:
    """Every Python block of the page at `path`, in order (notest ones included)."""
    text = path.read_text(encoding="utf-8")
    blocks: list[Block] = []
    setup: Snippet | None = None
    follows_block = False  # the previous token was a runnable Python block
    for token in _parser().parse(text):  # type: ignore[attr-defined]
        start, end = token.map or (0, 0)
        where = f"{path}:{start + 1}"
        after_block, follows_block = follows_block, False
        comment = token.content.lstrip() if token.type == "html_block" else ""
        if comment.startswith(SETUP_OPENER):
            if setup is not None:
                raise DocsSyntaxError(f"{where}: two docs-setup comments before one block")
            setup = _comment_snippet(token.content, SETUP_OPENER, start + 1, where)
            continue
        if comment.startswith(CHECK_OPENER):
            if not after_block or blocks[-1].check is not None:
                raise DocsSyntaxError(f"{where}: a docs-check comment must follow a Python block")
            check = _comment_snippet(token.content, CHECK_OPENER, start + 1, where)
            blocks[-1] = dataclasses.replace(blocks[-1], check=check)
            continue
        if token.type != "fence":
            continue
        words = token.info.split()
        if not words or words[0] not in PYTHON:
            if setup is not None:
                raise DocsSyntaxError(f"{where}: a docs-setup comment must precede a Python block")
            continue
        unknown = set(words[1:]) - OPTIONS
        if unknown:
            raise DocsSyntaxError(
                f"{where}: unknown info word(s) {sorted(unknown)}; the only one is 'notest'"
            )
        notest = "notest" in words[1:]
        if notest and setup is not None:
            raise DocsSyntaxError(f"{where}: a docs-setup comment before a notest block never runs")
        blocks.append(Block(path, Snippet(token.content, start + 2), setup, notest, end))
        setup = None
        follows_block = not notest
    if setup is not None:
        raise DocsSyntaxError(f"{path}: a docs-setup comment at the end of the page never runs")
    return blocks
