"""`import methodic` stays light: no server stack, deferred yaml/sqlite3/thread pools."""

from __future__ import annotations

import subprocess
import sys

import methodic

HEAVY = ["fastapi", "uvicorn", "starlette", "pydantic", "yaml", "sqlite3", "concurrent.futures"]
HEAVY += ["pandas", "numpy", "IPython"]  # to_pandas() and notebooks bring their own
DISPLAY = ["methodic._display", "methodic._frames", "methodic._lineage_svg"]


def _stdout(code: str) -> str:
    """What ``code`` prints in a fresh interpreter (nothing imported beforehand)."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout


def test_import_loads_no_heavy_modules() -> None:
    code = f"import sys, methodic\nprint(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    assert _stdout(code).strip() == ""


def test_display_code_loads_on_first_display_and_never_pulls_in_pandas() -> None:
    code = (
        "import sys, methodic\n"
        f"print(','.join(m for m in {DISPLAY!r} if m in sys.modules))\n"
        "from methodic import types\n"
        "page = types.Page.from_dict({'items': [], 'next_cursor': None}, types.Run)\n"
        "lineage = types.LineageResponse('e1', [types.LineageNode('e1', 't', 'draft', 'root', 0)], [])\n"
        "repr(page), page._repr_html_(), lineage._repr_html_()\n"
        f"print(','.join(m for m in {DISPLAY + HEAVY!r} if m in sys.modules))"
    )
    assert _stdout(code).splitlines() == ["", ",".join(DISPLAY[:1] + DISPLAY[2:])]


def test_constructing_a_client_loads_no_heavy_modules() -> None:
    code = (
        "import sys, methodic\n"
        "c = methodic.Chronicle('http://127.0.0.1:9', 'sk_agent_x1')\n"
        "e = methodic.Experiment(c, 'e1'); repr(e); c.close()\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    assert _stdout(code).strip() == ""


def test_handles_and_types_load_on_first_use() -> None:
    code = (
        "import sys, methodic\n"
        "before = 'methodic.types' in sys.modules or 'methodic.handles' in sys.modules\n"
        "from methodic import Experiment, Run\n"
        "print(before, Experiment.__module__, Run.__module__, 'methodic.types' in sys.modules)"
    )
    assert _stdout(code).split() == ["False", "methodic.handles", "methodic.handles", "True"]


def test_public_surface() -> None:
    expected = {
        "Chronicle",
        "Experiment",
        "Variation",
        "Run",
        "UploadTracker",
        "ChronicleError",
        "APIError",
        "BadRequestError",
        "AuthenticationError",
        "PermissionDeniedError",
        "NotFoundError",
        "ConflictError",
        "ServerError",
        "APIConnectionError",
        "APITimeoutError",
        "UploadError",
        "IntegrityError",
        "__version__",
    }
    assert expected <= set(methodic.__all__)
    for name in expected - {"UploadTracker"}:
        assert getattr(methodic, name) is not None
    assert expected <= set(dir(methodic))


def test_unknown_attribute_raises_attribute_error() -> None:
    try:
        methodic.NoSuchThing  # noqa: B018
    except AttributeError as err:
        assert "NoSuchThing" in str(err)
    else:
        raise AssertionError("expected AttributeError")
