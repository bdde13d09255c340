"""Run inside a fresh venv holding an installed methodic wheel: ``import methodic`` is lean.

    <venv>/bin/python -I smoke_import.py 0.1.0 [--expect-web-stack]

Without ``--expect-web-stack`` (plain ``pip install methodic``) none of fastapi, uvicorn,
starlette or pydantic may even be installed. With it (``methodic[fake]``) they are
installed, and importing the SDK must still not load them.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

WEB_STACK = ("fastapi", "uvicorn", "starlette", "pydantic")


def main(argv: list[str]) -> int:
    expected_version = argv[0]
    expect_web_stack = "--expect-web-stack" in argv[1:]
    problems: list[str] = []

    installed = [name for name in WEB_STACK if importlib.util.find_spec(name) is not None]
    if expect_web_stack and {"fastapi", "uvicorn"} - set(installed):
        problems.append(f"methodic[fake] did not install fastapi and uvicorn: {installed}")
    if not expect_web_stack and installed:
        problems.append(f"plain `pip install methodic` installed {installed}")

    import methodic

    # The import must come from the installed wheel, not a source checkout on sys.path.
    if not Path(methodic.__file__ or "").resolve().is_relative_to(Path(sys.prefix).resolve()):
        problems.append(f"methodic imported from {methodic.__file__}, not from {sys.prefix}")
    if methodic.__version__ != expected_version:
        problems.append(f"methodic.__version__ is {methodic.__version__!r}")
    loaded = sorted(m for m in sys.modules if m.split(".", 1)[0] in WEB_STACK)
    if loaded:
        problems.append(f"`import methodic` loaded {loaded[:5]}")

    for problem in problems:
        print(f"smoke-import: {problem}", file=sys.stderr)
    if not problems:
        stack = "installed but not imported" if expect_web_stack else "not installed"
        print(f"smoke-import: methodic {methodic.__version__} imports; web stack {stack}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
