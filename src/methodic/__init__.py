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
    TrackerError,
    UploadError,
)

if TYPE_CHECKING:
    from methodic.downloads import Checkpoint
    from methodic.handles import Experiment, Run, Variation
    from methodic.tracker import UploadTracker

__all__ = [
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "Checkpoint",
    "Chronicle",
    "ChronicleError",
    "ConflictError",
    "Experiment",
    "IntegrityError",
    "NotFoundError",
    "PermissionDeniedError",
    "Run",
    "ServerError",
    "TrackerError",
    "UploadError",
    "UploadTracker",
    "Variation",
    "__version__",
]


# Imported on first use: the handles pull in every response dataclass, and
# UploadTracker pulls in sqlite3. `import methodic` stays close to `import httpx`.
_LAZY = {
    "Checkpoint": "methodic.downloads",
    "Experiment": "methodic.handles",
    "Variation": "methodic.handles",
    "Run": "methodic.handles",
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
