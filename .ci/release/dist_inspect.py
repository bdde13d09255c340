"""Static checks on built distributions: what a wheel/sdist contains and declares.

Pure functions over archive member names and metadata text, so the rules are unit-tested
(tests/release) without building anything. ``dist_check.py`` applies them to real builds.
"""

from __future__ import annotations

import configparser
import email.message
import email.parser
import tarfile
import zipfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

PACKAGES = ("methodic", "methodic_fake")
# The SDK must stay importable without the fake's web stack; these may only be pulled in
# through the [fake] extra.
WEB_STACK = ("fastapi", "uvicorn", "starlette", "pydantic")
FAKE_EXTRA = "fake"
REQUIRED_ENTRY_POINTS = {
    ("pytest11", "methodic_fake"): "methodic_fake.pytest_plugin",
    ("console_scripts", "methodic-fake"): "methodic_fake.cli:main",
    ("console_scripts", "methodic"): "methodic.cli:main",
}
# Directory names and files that belong to the repository, never to an installed package.
_LEAK_DIRS = {"tests", "test", "cassettes", "__pycache__", ".pytest_cache", ".hypothesis"}
_SDIST_FORBIDDEN_DIRS = {".git", ".venv", "__pycache__", "dist", "build", ".fake-data"}


def _is_test_file(name: str) -> bool:
    return name == "conftest.py" or (
        name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py"))
    )


def wheel_content_problems(names: Iterable[str], version: str) -> list[str]:
    """Problems with a wheel's file list: leaked tests/cassettes, missing markers, strays."""
    names = list(names)
    problems: list[str] = []
    dist_info = f"methodic-{version}.dist-info"
    for name in names:
        path = PurePosixPath(name)
        top = path.parts[0]
        if top not in (*PACKAGES, dist_info):
            problems.append(f"{name}: outside the methodic packages and {dist_info}")
        if _LEAK_DIRS.intersection(path.parts[:-1]) or _is_test_file(path.name):
            problems.append(f"{name}: tests or cassettes must not ship in the wheel")
        elif path.suffix in (".pyc", ".pyo"):
            problems.append(f"{name}: compiled bytecode must not ship in the wheel")
    present = set(names)
    for package in PACKAGES:
        for required in ("__init__.py", "py.typed"):
            if f"{package}/{required}" not in present:
                problems.append(f"{package}/{required} is missing (PEP 561 needs py.typed)")
    if "methodic/_version.py" not in present:
        problems.append("methodic/_version.py is missing")
    return problems


def _module_present(target: str, names: set[str]) -> bool:
    module = target.split(":", 1)[0].strip()
    base = module.replace(".", "/")
    return f"{base}.py" in names or f"{base}/__init__.py" in names


def entry_point_problems(entry_points_txt: str, names: Iterable[str]) -> list[str]:
    """The pytest plugin and CLI are declared, and every target module is in the wheel."""
    parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keep name case
    parser.read_string(entry_points_txt)
    present = set(names)
    problems: list[str] = []
    for (group, name), target in REQUIRED_ENTRY_POINTS.items():
        declared = parser.get(group, name, fallback=None)
        if declared is None:
            problems.append(f"entry point [{group}] {name} is not declared")
        elif declared.strip() != target:
            problems.append(f"entry point [{group}] {name} = {declared.strip()}, want {target}")
    for group in parser.sections():
        for name, target in parser.items(group):
            if not _module_present(target, present):
                problems.append(f"entry point [{group}] {name} = {target}: module not in the wheel")
    return problems


def _requirement_name(requirement: str) -> str:
    name = requirement
    for stop in " ;[<>=!~(":
        name = name.split(stop, 1)[0]
    return name.strip().lower().replace("_", "-")


def metadata_problems(metadata: email.message.Message, version: str) -> list[str]:
    """Name/version match, and the web stack is only reachable through the [fake] extra."""
    problems: list[str] = []
    if metadata["Name"] != "methodic":
        problems.append(f"Name is {metadata['Name']!r}, want 'methodic'")
    if metadata["Version"] != version:
        problems.append(f"Version is {metadata['Version']!r}, want {version!r} (_version.py)")
    if FAKE_EXTRA not in (metadata.get_all("Provides-Extra") or []):
        problems.append("the [fake] extra is not declared")
    fake_requirements: set[str] = set()
    for requirement in metadata.get_all("Requires-Dist") or []:
        name = _requirement_name(requirement)
        marker = requirement.split(";", 1)[1] if ";" in requirement else ""
        normalised_marker = marker.replace("'", '"').replace(" ", "")
        if f'extra=="{FAKE_EXTRA}"' in normalised_marker:
            fake_requirements.add(name)
        elif name in WEB_STACK and "extra==" not in normalised_marker:
            problems.append(f"{requirement!r} is a core dependency; it belongs in [fake]")
    for name in ("fastapi", "uvicorn"):
        if name not in fake_requirements:
            problems.append(f"the [fake] extra does not require {name}")
    return problems


def inspect_wheel(path: Path, version: str) -> list[str]:
    """Every static problem with the wheel at ``path``."""
    with zipfile.ZipFile(path) as wheel:
        names = wheel.namelist()
        dist_info = f"methodic-{version}.dist-info"
        problems = wheel_content_problems(names, version)
        try:
            metadata = email.parser.BytesParser().parsebytes(wheel.read(f"{dist_info}/METADATA"))
            entry_points = wheel.read(f"{dist_info}/entry_points.txt").decode("utf-8")
        except KeyError as missing:
            return [*problems, f"{path.name}: {missing.args[0]}"]
    return [
        *problems,
        *metadata_problems(metadata, version),
        *entry_point_problems(entry_points, names),
    ]


def sdist_content_problems(names: Iterable[str], version: str) -> list[str]:
    """The sdist builds on its own and carries no local state (venvs, caches, builds)."""
    root = f"methodic-{version}"
    names = list(names)
    problems = [f"{n}: outside {root}/" for n in names if PurePosixPath(n).parts[0] != root]
    for name in names:
        parts = PurePosixPath(name).parts[1:]
        if _SDIST_FORBIDDEN_DIRS.intersection(parts[:-1]) or name.endswith((".pyc", ".pyo")):
            problems.append(f"{name}: local build or cache state in the sdist")
    present = set(names)
    for required in (
        "PKG-INFO",
        "pyproject.toml",
        "README.md",
        "CHANGELOG.md",
        "src/methodic/_version.py",
        "src/methodic/py.typed",
        "src/methodic_fake/py.typed",
    ):
        if f"{root}/{required}" not in present:
            problems.append(f"{root}/{required} is missing from the sdist")
    return problems


def inspect_sdist(path: Path, version: str) -> list[str]:
    """Every static problem with the sdist at ``path``."""
    with tarfile.open(path) as sdist:
        names = [m.name for m in sdist.getmembers() if not m.isdir()]
    return sdist_content_problems(names, version)
