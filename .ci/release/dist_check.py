"""Build methodic's sdist and wheel and prove the wheel works as a user would install it.

``make dist-check`` runs this (and ``make test`` runs that). Steps, failing at the first
problem:

1. ``python -m build`` (sdist, then the wheel built *from* the sdist, so a file missing
   from the sdist breaks the build here rather than for a user);
2. ``twine check --strict`` (PyPI would reject bad metadata or README rendering);
3. static inspection (``dist_inspect.py``): ``py.typed`` in both packages, no tests or
   cassettes in the wheel, entry points declared and pointing at shipped modules, the web
   stack only behind the ``[fake]`` extra;
4. a fresh venv outside the source tree: ``pip install <wheel>`` imports ``methodic``
   with fastapi/uvicorn/starlette/pydantic neither installed nor imported, runs
   ``methodic --help``, and checks that ``methodic-fake serve`` says in one line to
   install the ``fake`` extra (exit 2, no traceback); then
   ``pip install <wheel>[fake] pytest`` gives the ``methodic_fake`` fixture through the
   ``pytest11`` entry point and a working ``methodic-fake --help``.

    python .ci/release/dist_check.py                 # build in a temp dir
    python .ci/release/dist_check.py --dist-dir dist # keep the files (CI uploads them)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import dist_inspect
from check_tag_version import read_source_version

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
# Variables that would let the smoke venv see the source tree or a developer's pytest
# configuration instead of only what the wheel installed.
_SCRUBBED_ENV = (
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTEST_ADDOPTS",
    "PYTEST_PLUGINS",
    "PYTEST_DISABLE_PLUGIN_AUTOLOAD",
    "VIRTUAL_ENV",
)


class CheckFailed(Exception):
    """A step of the distribution check failed; the message says which and why."""


class Steps:
    """Runs commands and prints one timed line per step."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    def run(
        self,
        title: str,
        argv: Sequence[str | Path],
        *,
        cwd: Path = REPO_ROOT,
        env: dict[str, str] | None = None,
    ) -> str:
        begin = time.monotonic()
        result = subprocess.run(
            [str(a) for a in argv],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise CheckFailed(
                f"{title}: exit {result.returncode}\n$ {' '.join(map(str, argv))}\n"
                f"{result.stdout}{result.stderr}".rstrip()
            )
        self.done(title, begin)
        return result.stdout

    def done(self, title: str, begin: float) -> None:
        print(f"dist-check: {title} ok ({time.monotonic() - begin:.1f}s)", flush=True)

    def total(self) -> float:
        return time.monotonic() - self.started


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SCRUBBED_ENV}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def build(steps: Steps, out_dir: Path) -> tuple[Path, Path]:
    steps.run(
        "build sdist + wheel", [sys.executable, "-m", "build", "--outdir", out_dir, REPO_ROOT]
    )
    wheels, sdists = sorted(out_dir.glob("*.whl")), sorted(out_dir.glob("*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        raise CheckFailed(
            f"expected one wheel and one sdist in {out_dir}, got "
            f"{[p.name for p in out_dir.iterdir()]}"
        )
    return sdists[0], wheels[0]


def inspect(steps: Steps, sdist: Path, wheel: Path, version: str) -> None:
    begin = time.monotonic()
    problems = [f"{wheel.name}: {p}" for p in dist_inspect.inspect_wheel(wheel, version)]
    problems += [f"{sdist.name}: {p}" for p in dist_inspect.inspect_sdist(sdist, version)]
    if problems:
        raise CheckFailed("static inspection:\n  " + "\n  ".join(problems))
    steps.done("inspect contents + metadata", begin)


def smoke(steps: Steps, wheel: Path, version: str, work: Path) -> None:
    env = _clean_env()
    venv = work / "venv"
    # No ensurepip in the new venv: the outer pip installs into it via --python, which
    # saves seconds per run and leaves nothing but the wheel and its dependencies inside.
    steps.run("create fresh venv", [sys.executable, "-m", "venv", "--without-pip", venv], env=env)
    python = venv / "bin" / "python"
    pip: list[str | Path] = [sys.executable, "-m", "pip", "--python", python, "install", "--quiet"]

    steps.run("pip install <wheel>", [*pip, wheel], cwd=work, env=env)
    steps.run(
        "import methodic without the web stack",
        [python, "-I", HERE / "smoke_import.py", version],
        cwd=work,
        env=env,
    )

    # The command line needs nothing beyond the SDK's own dependencies.
    help_text = steps.run(
        "methodic --help", [venv / "bin" / "methodic", "--help"], cwd=work, env=env
    )
    if "uploads" not in help_text:
        raise CheckFailed(f"methodic --help does not list `uploads`:\n{help_text}")
    missing_extra(steps, venv, work, env)

    steps.run(
        "pip install <wheel>[fake] pytest", [*pip, f"{wheel}[fake]", "pytest"], cwd=work, env=env
    )
    steps.run(
        "import methodic still lean with [fake] installed",
        [python, "-I", HERE / "smoke_import.py", version, "--expect-web-stack"],
        cwd=work,
        env=env,
    )
    help_text = steps.run(
        "methodic-fake --help", [venv / "bin" / "methodic-fake", "--help"], cwd=work, env=env
    )
    if "serve" not in help_text:
        raise CheckFailed(f"methodic-fake --help does not mention `serve`:\n{help_text}")

    tests = work / "smoke_tests"
    tests.mkdir()
    source = (HERE / "smoke_fixture.py").read_text(encoding="utf-8")
    (tests / "test_installed_fixture.py").write_text(source, encoding="utf-8")
    output = steps.run(
        "methodic_fake fixture via pytest11",
        [python, "-I", "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", tests, tests],
        cwd=tests,
        env=env,
    )
    # A skip or a deselected test would also exit 0; insist that every one of them ran.
    expected = f"{source.count(chr(10) + 'def test_')} passed"
    summary = output.strip().splitlines()[-1] if output.strip() else ""
    if not summary.startswith(expected) or "skipped" in summary:
        raise CheckFailed(f"smoke tests: expected {expected!r}, pytest said {summary!r}")


def missing_extra(steps: Steps, venv: Path, work: Path, env: dict[str, str]) -> None:
    """Without `[fake]`, `methodic-fake serve` (installed anyway) names the extra: exit 2."""
    begin = time.monotonic()
    argv = [venv / "bin" / "methodic-fake", "serve", "--port", "0", "--data-dir", work / "data"]
    done = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, check=False)
    expected = "pip install 'methodic[fake]'"
    lines = done.stderr.splitlines()
    if done.returncode != 2 or len(lines) != 1 or expected not in lines[0] or done.stdout:
        raise CheckFailed(
            f"methodic-fake serve without the fake extra: expected exit 2 and one stderr line "
            f"naming {expected}, got exit {done.returncode}:\n{done.stdout}{done.stderr}".rstrip()
        )
    steps.done("methodic-fake without [fake] names the extra", begin)


def publish_to(out_dir: Path, dist_dir: Path, built: Sequence[Path]) -> None:
    """Copy the checked files into ``dist_dir``, replacing earlier methodic builds there."""
    dist_dir.mkdir(parents=True, exist_ok=True)
    for stale in [*dist_dir.glob("methodic-*.whl"), *dist_dir.glob("methodic-*.tar.gz")]:
        stale.unlink()
    for path in built:
        shutil.copy2(path, dist_dir / path.name)
    print(f"dist-check: kept {', '.join(p.name for p in built)} in {dist_dir}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build and check methodic's distributions.")
    parser.add_argument("--dist-dir", type=Path, help="also keep the checked sdist and wheel here")
    args = parser.parse_args(argv)

    steps = Steps()
    version = read_source_version()
    try:
        with tempfile.TemporaryDirectory(prefix="methodic-dist-check-") as tmp:
            work = Path(tmp)
            out_dir = work / "dist"
            sdist, wheel = build(steps, out_dir)
            steps.run(
                "twine check --strict",
                [sys.executable, "-m", "twine", "check", "--strict", sdist, wheel],
            )
            inspect(steps, sdist, wheel, version)
            smoke(steps, wheel, version, work)
            if args.dist_dir is not None:
                publish_to(out_dir, args.dist_dir.resolve(), [sdist, wheel])
    except CheckFailed as failure:
        print(f"dist-check: FAILED after {steps.total():.1f}s: {failure}", file=sys.stderr)
        return 1
    print(f"dist-check: methodic {version} sdist + wheel ok in {steps.total():.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
