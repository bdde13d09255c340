"""Docs are tests: every page runs as its reader would run it, twice.

README.md and each page under docs/ with Python examples run as ONE fresh Python process
(`run_page.py`) against a real `methodic-fake serve` on a free port with its own data
dir, in an empty working directory, with only what the page's own setup exports:
`CHRONICLE_BASE_URL` and the key of the page's audience. Then the same page runs
again, in the same directory, against the same (now used) server. So a name the page
uses but never defines fails, and so does an example that works only once — a fixed
idempotency key whose second answer is an already committed experiment, a second
`conclude` — or only on an empty server. A failure shows the page, the line and the
traceback. The rules for writing pages: blocks.py and README.md ("Working on
methodic").
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .blocks import DocsSyntaxError, read_page
from .devserver import DevServer
from .pages import ROOT, pages

TESTS = ROOT / "tests"
PAGE_TIMEOUT = 300


def _id(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def run_page(
    path: Path, server: DevServer, role: str, workdir: Path
) -> subprocess.CompletedProcess[str]:
    """One reader's session: `path` run top to bottom in a fresh process in `workdir`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CHRONICLE_", "METHODIC_"))}
    env.update(
        CHRONICLE_BASE_URL=server.base_url,
        CHRONICLE_API_KEY=server.keys[role],
        # Whatever a page writes to "~" or the default upload journal stays here.
        HOME=str(workdir / "home"),
        XDG_CACHE_HOME=str(workdir / "cache"),
        PYTHONPATH=str(TESTS),
        PYTHONUNBUFFERED="1",
    )
    workdir.mkdir(parents=True, exist_ok=True)
    return subprocess.run(
        [sys.executable, "-m", "docs.run_page", _id(path)],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=PAGE_TIMEOUT,
        check=False,
    )


def run_twice(path: Path, tmp_path: Path) -> list[subprocess.CompletedProcess[str]]:
    """Both runs of a page against one dev server, stopping at the first that fails."""
    page = read_page(path)
    assert page.role is not None
    done = []
    with DevServer(tmp_path / "fake-data") as server:
        for _ in range(2):
            done.append(run_page(path, server, page.role, tmp_path / "work"))
            if done[-1].returncode != 0:
                break
    return done


def explain(path: Path, done: list[subprocess.CompletedProcess[str]]) -> str:
    which = "first run" if len(done) == 1 else "second run, against the same dev server,"
    last = done[-1]
    return f"{_id(path)}: the {which} failed:\n{last.stderr}{last.stdout}"


def _runnable(path: Path) -> bool:
    try:
        return bool(read_page(path).runnable)
    except DocsSyntaxError:
        return True  # its own test reports the problem, not the whole collection


RUNNABLE = [path for path in pages() if _runnable(path)]


@pytest.mark.parametrize("path", RUNNABLE, ids=_id)
def test_page_runs_top_to_bottom_twice(path: Path, tmp_path: Path) -> None:
    done = run_twice(path, tmp_path)
    assert [d.returncode for d in done] == [0, 0], explain(path, done)


@pytest.mark.parametrize("path", pages(), ids=_id)
def test_every_page_follows_the_rules(path: Path) -> None:
    # Reading is the check: an unknown info word, a hidden setup or a Python block
    # before the page's setup raises DocsSyntaxError naming the line.
    page = read_page(path)
    assert page.role is not None or not page.runnable
