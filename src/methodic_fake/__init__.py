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


def __getattr__(name: str) -> Any:
    if name == "FakeChronicle":
        from methodic_fake.harness import FakeChronicle

        return FakeChronicle
    if name == "create_app":
        from methodic_fake.app import create_app

        return create_app
    raise AttributeError(f"module 'methodic_fake' has no attribute {name!r}")
