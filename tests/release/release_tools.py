"""Gives the release tests the scripts under .ci/release/ (not an installed package).

The scripts import each other by module name, the way they run from the Makefile, so
their directory goes on sys.path rather than being loaded file by file.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
TOOLS_DIR = REPO_ROOT / ".ci" / "release"
WORKFLOWS_DIR = REPO_ROOT / ".github" / "workflows"

if str(TOOLS_DIR) not in sys.path:
    sys.path.insert(0, str(TOOLS_DIR))

check_tag_version = importlib.import_module("check_tag_version")
dist_inspect = importlib.import_module("dist_inspect")


def load_workflow(name: str) -> dict[Any, Any]:
    """A workflow file parsed as YAML (note: PyYAML reads the key `on` as True)."""
    data = yaml.safe_load((WORKFLOWS_DIR / name).read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{name} is not a YAML mapping"
    return data
