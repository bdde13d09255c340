"""No import circle anywhere in src/: every import counts, those inside functions too.

A circle that only works because one side imports lazily is still a circle: the two
modules cannot be read, tested or moved apart. ``if TYPE_CHECKING:`` imports are left
out, as they never run.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGES = ("methodic", "methodic_fake")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, module: str, is_package: bool, known: set[str]) -> set[str]:
    """Modules of ``known`` that ``module`` imports at runtime, anywhere in its body."""
    found: set[str] = set()
    package = module if is_package else module.rpartition(".")[0]

    def resolve(name: str) -> str | None:
        # The longest known module prefix: `from methodic.uploads import X` -> uploads.
        while name and name not in known:
            name = name.rpartition(".")[0]
        return name or None

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = resolve(alias.name)
                if target:
                    found.add(target)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            for alias in node.names:
                # `from pkg import submodule` imports the submodule.
                target = resolve(f"{prefix}.{alias.name}") or resolve(prefix)
                if target:
                    found.add(target)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    found.discard(module)
    return found


def _graph() -> dict[str, set[str]]:
    files = {
        _module_name(path): path
        for package in PACKAGES
        for path in sorted((SRC / package).rglob("*.py"))
    }
    known = set(files)
    return {
        module: _imports(
            ast.parse(path.read_text(), str(path)), module, path.name == "__init__.py", known
        )
        for module, path in files.items()
    }


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_walker_sees_imports_inside_functions_and_skips_type_checking() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from methodic.b import B\n"
        "def f():\n    from methodic.c import C\n"
        "from . import d\n"
    )
    known = {"methodic", "methodic.a", "methodic.b", "methodic.c", "methodic.d"}
    assert _imports(ast.parse(source), "methodic.a", False, known) == {"methodic.c", "methodic.d"}
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_no_import_cycle_in_src() -> None:
    graph = _graph()
    assert {m.split(".")[0] for m in graph} == set(PACKAGES), f"modules missing under {SRC}"
    # A package's __init__ importing its submodules is an edge like any other:
    # methodic/__init__ re-exporting methodic.client is fine while client never
    # imports the package back.
    cycle = _find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])
