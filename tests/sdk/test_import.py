"""`import methodic` stays light: no server stack, deferred yaml/sqlite3/thread pools."""

from __future__ import annotations

import subprocess
import sys

import methodic

HEAVY = ["fastapi", "uvicorn", "starlette", "pydantic", "yaml", "sqlite3", "concurrent.futures"]


def test_import_loads_no_heavy_modules() -> None:
    code = f"import sys, methodic\nprint(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ""


def test_constructing_a_client_loads_no_heavy_modules() -> None:
    code = (
        "import sys, methodic\n"
        "c = methodic.Chronicle('http://127.0.0.1:9', 'sk_agent_x1')\n"
        "e = methodic.Experiment(c, 'e1'); repr(e); c.close()\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ""


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


def test_unknown_attribute_raises_attribute_error() -> None:
    try:
        methodic.NoSuchThing  # noqa: B018
    except AttributeError as err:
        assert "NoSuchThing" in str(err)
    else:
        raise AssertionError("expected AttributeError")
