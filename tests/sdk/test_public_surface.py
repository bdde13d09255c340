"""The public surface is what docs/architecture.md says it is, and nothing leaks in.

The rule: ``methodic`` (its ``__all__``) is the API, plus the public modules
``methodic.types`` and ``methodic.errors``; every other module is private. Docs and
examples only ever reach through those.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import methodic
from methodic import errors, types

ROOT = Path(__file__).resolve().parents[2]
PUBLIC_MODULES = {"methodic", "methodic.types", "methodic.errors"}


def test_dir_lists_exactly_the_public_names() -> None:
    assert dir(methodic) == sorted(methodic.__all__)
    assert not {"Any", "TYPE_CHECKING", "annotations"} & set(dir(methodic))


def test_every_exported_name_resolves() -> None:
    for name in methodic.__all__:
        assert getattr(methodic, name) is not None, name


def test_no_public_name_outside_all() -> None:
    # Submodules become attributes once imported; any other unprefixed global is a leak.
    stray = {
        name
        for name, value in vars(methodic).items()
        if not name.startswith("_")
        and name not in methodic.__all__
        and getattr(value, "__name__", "") != f"methodic.{name}"
    }
    assert stray == set()


@pytest.mark.parametrize("module", [errors, types], ids=lambda m: m.__name__)
def test_public_modules_declare_their_names(module: object) -> None:
    names = module.__all__  # type: ignore[attr-defined]
    assert names == sorted(names) and all(not n.startswith("_") for n in names)
    for name in names:
        assert getattr(module, name).__doc__, f"{name} has no docstring"


def test_every_error_class_is_exported_from_the_package() -> None:
    assert {n for n in errors.__all__} <= set(methodic.__all__)


_REFERENCE = re.compile(r"\bmethodic((?:\.[a-z_]+)+)")


def _user_facing_files() -> list[Path]:
    # Contributor docs that map the private modules (their layout, their costs): exempt.
    internal = {"architecture.md", "benchmarks.md"}
    docs = [p for p in sorted((ROOT / "docs").glob("*.md")) if p.name not in internal]
    return [ROOT / "README.md", *docs, *sorted((ROOT / "examples").glob("*.py"))]


def test_docs_and_examples_use_only_public_modules() -> None:
    offenders = []
    for path in _user_facing_files():
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for match in _REFERENCE.finditer(line):
                dotted = "methodic" + match.group(1)
                parts = dotted.split(".")
                module = ".".join(parts[:2])
                if module in PUBLIC_MODULES or parts[1] in methodic.__all__:
                    continue
                offenders.append(f"{path.relative_to(ROOT)}:{lineno}: {dotted}")
    assert offenders == []


def test_import_methodic_never_imports_httpx() -> None:
    # Every SDK module, the lazy names and a client: httpx (the frozen stack) stays out,
    # so a process that already has httpx2 gets no second HTTP stack from methodic. A
    # meta-path hook records even attempts, so this holds whether httpx is installed.
    code = """
import importlib, pkgutil, sys

attempts = []

class Spy:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("httpx", "httpcore"):
            attempts.append(name)
        return None

sys.meta_path.insert(0, Spy())
import methodic
for info in pkgutil.walk_packages(methodic.__path__, "methodic."):
    importlib.import_module(info.name)
for name in methodic.__all__:
    getattr(methodic, name)
methodic.Chronicle("http://127.0.0.1:9", "sk_worker_x").transport.http_client
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("httpx", "httpcore"))
print(attempts, loaded)
sys.exit(1 if attempts or loaded else 0)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_only_the_transport_imports_httpx2_at_run_time() -> None:
    import ast

    importers = []
    for path in sorted((ROOT / "src" / "methodic").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        guarded = {
            id(node)
            for block in ast.walk(tree)
            if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
            for node in ast.walk(block)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom) and id(node) not in guarded:
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                names.append(getattr(node, "module", None) or "")
                if any(n.split(".")[0] in ("httpx", "httpx2") for n in names):
                    importers.append(path.relative_to(ROOT / "src").as_posix())
    assert sorted(set(importers)) == ["methodic/transport.py"]
