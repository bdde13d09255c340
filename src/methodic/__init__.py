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
from methodic.handles import Experiment, Variation
from methodic.run import Run

if TYPE_CHECKING:
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


def __getattr__(name: str) -> Any:
    # UploadTracker pulls in sqlite3; only runners that upload should pay for it.
    if name == "UploadTracker":
        from methodic.tracker import UploadTracker

        return UploadTracker
    raise AttributeError(f"module 'methodic' has no attribute {name!r}")
