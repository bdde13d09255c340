"""`pip install methodic` ships the `methodic-fake` command without FastAPI: it must say
in one line what to install, not die in a traceback (the dist check runs the same in a
real venv without the extra, .ci/release/dist_check.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

# Imports of the fake's dependencies fail as if they had never been installed.
BLOCKER = """
import importlib.abc, runpy, sys

class NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == {blocked!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, NotInstalled())
sys.argv = ["methodic-fake", *{argv!r}]
{run}
"""


def _without(blocked: str, argv: list[str], run: str) -> subprocess.CompletedProcess[str]:
    code = BLOCKER.format(blocked=blocked, argv=argv, run=run)
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize("blocked", ["fastapi", "uvicorn", "jinja2", "fastapi_offline"])
def test_serve_without_the_extra_is_one_line_and_exit_2(blocked: str, tmp_path: Path) -> None:
    data = tmp_path / "data"
    done = _without(
        blocked,
        ["serve", "--port", "0", "--data-dir", str(data)],
        "runpy.run_module('methodic_fake', run_name='__main__')",
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == (
        f"methodic-fake: the fake needs the fake extra ({blocked} is not installed): "
        "pip install 'methodic[fake]'\n"
    )
    assert not data.exists()  # nothing was touched


def test_help_needs_no_extra() -> None:
    done = _without("fastapi", ["--help"], "runpy.run_module('methodic_fake', run_name='__main__')")
    assert done.returncode == 0 and "serve" in done.stdout


def test_the_harness_names_the_extra_too() -> None:
    done = _without("fastapi", [], "from methodic_fake import FakeChronicle")
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1] == (
        "ModuleNotFoundError: methodic_fake.FakeChronicle: the fake needs the fake extra "
        "(fastapi is not installed): pip install 'methodic[fake]'"
    )
