"""methodic_fake: a stateful fake of the Chronicle REST API.

    from methodic_fake import FakeChronicle
    with FakeChronicle.start() as fake:
        chronicle = fake.client("researcher")

Importing this package is cheap: FastAPI and uvicorn load only when a name below
is first used, so SDK-only installs can import the pytest plugin safely.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from methodic_fake.app import create_app
    from methodic_fake.harness import FakeChronicle

__all__ = ["FakeChronicle", "create_app"]


INSTALL_EXTRA = "pip install 'methodic[fake]'"


def needs_extra(exc: ModuleNotFoundError) -> str:
    """What to tell someone whose install lacks the fake's dependencies (one line)."""
    return f"the fake needs the fake extra ({exc.name} is not installed): {INSTALL_EXTRA}"


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'methodic_fake' has no attribute {name!r}")
    try:
        if name == "FakeChronicle":
            from methodic_fake.harness import FakeChronicle

            return FakeChronicle
        from methodic_fake.app import create_app

        return create_app
    except ModuleNotFoundError as exc:
        # An SDK-only install (`pip install methodic`) has no FastAPI: say what to run.
        raise ModuleNotFoundError(
            f"methodic_fake.{name}: {needs_extra(exc)}", name=exc.name
        ) from exc
