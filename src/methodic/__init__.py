"""methodic: the Python client for the Chronicle experiment platform.

from methodic import Chronicle, Experiment

with Chronicle() as chronicle:          # CHRONICLE_BASE_URL, CHRONICLE_API_KEY
    exp = Experiment.create(chronicle, "lr sweep")
    exp.commit().variations.create(config={"lr": 3e-4})
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from methodic._version import __version__
from methodic.client import Chronicle
from methodic.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ChronicleError,
    ConflictError,
    IntegrityError,
    NotFoundError,
    PermissionDeniedError,
    ServerError,
    UploadError,
)

if TYPE_CHECKING:
    from methodic.handles import Experiment, Variation
    from methodic.run import Run
    from methodic.tracker import UploadTracker

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "Chronicle",
    "ChronicleError",
    "ConflictError",
    "Experiment",
    "IntegrityError",
    "NotFoundError",
    "PermissionDeniedError",
    "Run",
    "ServerError",
    "UploadError",
    "UploadTracker",
    "Variation",
    "__version__",
]


# Imported on first use: the handles pull in every response dataclass, and
# UploadTracker pulls in sqlite3. `import methodic` stays close to `import httpx2`.
_LAZY = {
    "Experiment": "methodic.handles",
    "Variation": "methodic.handles",
    "Run": "methodic.run",
    "UploadTracker": "methodic.tracker",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'methodic' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(module), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
