"""A markdown page as the docs-as-tests collector reads it: its setup and its Python blocks.

Rules (also in README.md, "Working on methodic"):

- A page is one script, run as the reader meets it: every ```` ```python ```` (or
  ``py``) block, top to bottom, in one fresh Python process. ```` ```python notest ````
  blocks are only shown (a signature). Any other word after the language is an error,
  so a typo cannot silently turn a test off.
- Nothing is hidden. The setup a reader needs is on the page, before its first
  Python block: a shell block exporting ``CHRONICLE_BASE_URL`` and the page's key,
  ``export CHRONICLE_API_KEY=…`` (``sk_worker_…``, ``sk_agent_…``, or the
  researcher's ``eyJ…`` token: which one is the page's audience), then Python that
  creates what the page's examples use. A hidden ``<!-- docs-setup ... -->`` comment
  is an error.
- A hidden ``<!-- docs-check ... -->`` comment right after a block asserts on what
  the block did (a branch it should have taken). It runs on a copy of the page's
  names, so it cannot define one a later block relies on.

Parsing is markdown-it-py's CommonMark, so fences inside lists, tilde fences and
longer fences around a ```` ```python ```` example behave as on GitHub.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import re
from dataclasses import dataclass
from pathlib import Path
from types import CodeType

PYTHON = frozenset({"python", "py", "python3"})
SHELL = frozenset({"sh", "bash", "shell"})
OPTIONS = frozenset({"notest"})
HIDDEN_SETUP = "<!-- docs-setup"
CHECK_OPENER = "<!-- docs-check"
_KEY_EXPORT = re.compile(r"^\s*export\s+CHRONICLE_API_KEY=(\S+)", re.MULTILINE)
# What the key a page exports looks like, and so whom the page is written for.
_ROLES = (("sk_worker_", "worker"), ("sk_agent_", "agent"), ("eyJ", "researcher"))


class DocsSyntaxError(ValueError):
    """A page breaks the docs-as-tests rules; the message names file and line."""


@dataclass(frozen=True)
class Snippet:
    """Python source and the 1-based markdown line its first line sits on."""

    source: str
    line: int

    def compile(self, path: Path) -> CodeType:
        """Code whose tracebacks name the markdown file and the line as it is there.

        Its asserts are rewritten as in a test module, so a failure shows the values.
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


@dataclass(frozen=True)
class Page:
    """A page's Python blocks and the key its setup exports (None: nothing runs)."""

    path: Path
    blocks: list[Block]
    role: str | None

    @property
    def runnable(self) -> list[Block]:
        return [block for block in self.blocks if not block.notest]


@functools.cache
def _parser() -> object:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark")


def _check_snippet(content: str, first_line: int, where: str) -> Snippet:
    lines = content.rstrip("\n").split("\n")
    if lines[0].strip() != CHECK_OPENER or lines[-1].strip() != "-->":
        raise DocsSyntaxError(
            f"{where}: write the comment as '{CHECK_OPENER}' and '-->' on lines of their own"
        )
    return Snippet("\n".join(lines[1:-1]) + "\n", first_line + 1)


def _role(value: str, where: str) -> str:
    for prefix, role in _ROLES:
        if value.startswith(prefix):
            return role
    raise DocsSyntaxError(
        f"{where}: cannot tell whose key `export CHRONICLE_API_KEY={value}` is: show it "
        "as the banner of `methodic-fake serve` does (sk_worker_…, sk_agent_… or eyJ…)"
    )


def read_page(path: Path) -> Page:
    """The page at `path`: every Python block in order (notest ones included), its key."""
    text = path.read_text(encoding="utf-8")
    blocks: list[Block] = []
    role: str | None = None
    follows_block = False  # the previous token was a runnable Python block
    for token in _parser().parse(text):  # type: ignore[attr-defined]
        start, end = token.map or (0, 0)
        where = f"{path}:{start + 1}"
        after_block, follows_block = follows_block, False
        comment = token.content.lstrip() if token.type == "html_block" else ""
        if comment.startswith(HIDDEN_SETUP):
            raise DocsSyntaxError(
                f"{where}: hidden docs-setup comments are gone: a reader must see the "
                "setup, so show it on the page (README.md, 'Working on methodic')"
            )
        if comment.startswith(CHECK_OPENER):
            if not after_block or blocks[-1].check is not None:
                raise DocsSyntaxError(f"{where}: a docs-check comment must follow a Python block")
            check = _check_snippet(token.content, start + 1, where)
            blocks[-1] = dataclasses.replace(blocks[-1], check=check)
            continue
        if token.type != "fence":
            continue
        words = token.info.split()
        language = words[0] if words else ""
        if language in SHELL and role is None and not any(not b.notest for b in blocks):
            exported = _KEY_EXPORT.search(token.content)
            if exported:
                role = _role(exported.group(1), where)
        if language not in PYTHON:
            continue
        unknown = set(words[1:]) - OPTIONS
        if unknown:
            raise DocsSyntaxError(
                f"{where}: unknown info word(s) {sorted(unknown)}; the only one is 'notest'"
            )
        notest = "notest" in words[1:]
        if not notest and role is None:
            raise DocsSyntaxError(
                f"{where}: a Python block before the page's setup: show the reader first "
                "which server and key the examples use, in a shell block "
                "(export CHRONICLE_BASE_URL=… and export CHRONICLE_API_KEY=…)"
            )
        blocks.append(Block(path, Snippet(token.content, start + 2), notest, end))
        follows_block = not notest
    return Page(path, blocks, role)


def python_blocks(path: Path) -> list[Block]:
    """Every Python block of the page at `path`, in order (notest ones included)."""
    return read_page(path).blocks
