"""mkdocs hooks for the reference site (mkdocs.yml ``hooks:``).

Two jobs mkdocs and mkdocstrings do not do themselves:

- **Missing docstrings fail the build.** mkdocstrings renders an undocumented method
  as a bare signature (or, with ``show_if_no_docstring: false``, not at all) and says
  nothing. Before the build, every object a reference page names with ``::: path``, and
  every public class member and module export under it, must have a docstring; and
  every public name of ``methodic`` and ``methodic_fake`` must be on some reference
  page. Each miss is a warning, which ``--strict`` turns into a failed build.
- **The CLI reference is generated.** ``<!-- cli-help: module:function -->`` in a page
  becomes the ``--help`` of that argparse parser and of every subcommand under it, so
  the page cannot drift from the parsers.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import importlib
import inspect
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger("mkdocs.hooks.methodic")

DIRECTIVE = re.compile(r"^:::\s+([\w.]+)\s*$", re.MULTILINE)
CLI_HELP = re.compile(r"^<!-- cli-help: ([\w.]+):(\w+) -->$", re.MULTILINE)
# The packages whose public names must all be on a reference page.
PUBLIC_PACKAGES = ("methodic", "methodic_fake")


# --- docstrings ----------------------------------------------------------------------


def resolve(dotted: str) -> Any:
    """The object a ``::: dotted.path`` directive documents (a module, class, function...)."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:]:
            obj = getattr(obj, name)
        return obj
    raise ImportError(f"cannot import {dotted}")


def _has_doc(obj: Any) -> bool:
    doc = obj.__dict__.get("__doc__") if isinstance(obj, type) else getattr(obj, "__doc__", None)
    if not (isinstance(doc, str) and doc.strip()):
        return False
    # A dataclass without a docstring gets its signature as one: "Name(a: int, ...)".
    return not (dataclasses.is_dataclass(obj) and doc.startswith(f"{obj.__name__}("))


def _members(cls: type) -> Iterator[tuple[str, Any]]:
    """The public methods and properties of a class, its own and those it inherits from
    methodic's classes (the reference shows both); data attributes aside: dataclass
    fields show in the signature, and the handles' fields are described by the class."""
    seen: set[str] = set()
    for owner in cls.__mro__:
        if not owner.__module__.startswith(PUBLIC_PACKAGES):
            continue
        for name, value in vars(owner).items():
            if name.startswith("_") or name in seen:
                continue
            seen.add(name)
            if isinstance(value, staticmethod | classmethod):
                yield name, value.__func__
            elif isinstance(value, property):
                yield name, value.fget
            elif isinstance(value, functools.cached_property):
                yield name, value.func
            elif inspect.isfunction(value):
                yield name, value


def undocumented(obj: Any, name: str) -> list[str]:
    """Every public name under ``obj`` (itself included) that has no docstring."""
    missing = [] if _has_doc(obj) else [name]
    if inspect.ismodule(obj):
        for export in getattr(obj, "__all__", []):
            missing += undocumented(getattr(obj, export), f"{name}.{export}")
    elif isinstance(obj, type):
        for member, value in _members(obj):
            if not _has_doc(value):
                missing.append(f"{name}.{member}")
    return missing


def _exported() -> dict[str, Any]:
    found = {}
    for package in PUBLIC_PACKAGES:
        module = importlib.import_module(package)
        for export in module.__all__:
            if not export.startswith("__"):  # __version__
                found[f"{package}.{export}"] = getattr(module, export)
    return found


def check_docstrings(reference_dir: Path) -> list[str]:
    """Problems with the reference's coverage, one line each (empty: all good)."""
    problems = []
    documented: list[Any] = []
    for page in sorted(reference_dir.glob("*.md")):
        for dotted in DIRECTIVE.findall(page.read_text(encoding="utf-8")):
            obj = resolve(dotted)
            documented.append(obj)
            if inspect.ismodule(obj):
                documented += [getattr(obj, n) for n in getattr(obj, "__all__", [])]
            for missing in undocumented(obj, dotted):
                problems.append(f"{page.name}: {missing} has no docstring")
    for name, obj in _exported().items():
        if not any(obj is known for known in documented):
            problems.append(f"{name} is public but no page under docs/reference/ shows it")
    return problems


def on_pre_build(config: Any) -> None:
    for problem in check_docstrings(Path(config["docs_dir"]) / "reference"):
        log.warning(problem)


# --- CLI help ------------------------------------------------------------------------


def _parsers(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """``parser`` and every subcommand's parser below it, depth first, aliases once."""
    yield parser
    seen: set[int] = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                if id(sub) not in seen:
                    seen.add(id(sub))
                    yield from _parsers(sub)


def cli_help(module: str, function: str) -> str:
    """Markdown: a heading and the ``--help`` text of every command the parser holds."""
    build = getattr(importlib.import_module(module), function)
    saved = {k: os.environ.get(k) for k in ("COLUMNS", "NO_COLOR")}
    os.environ.update(COLUMNS="88", NO_COLOR="1")  # the same text on every machine
    try:
        parts = []
        for i, parser in enumerate(_parsers(build())):
            if i:
                parts.append(f"### `{parser.prog}`\n")
            parts.append(f"```text\n{parser.format_help().rstrip()}\n```\n")
        return "\n".join(parts)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    return CLI_HELP.sub(lambda m: cli_help(m.group(1), m.group(2)), markdown)
