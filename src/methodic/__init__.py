"""methodic: the Python client for the Chronicle experiment platform.

from methodic import Chronicle, Experiment

with Chronicle() as chronicle:          # CHRONICLE_BASE_URL, CHRONICLE_API_KEY
    exp = Experiment.create(chronicle, "lr sweep")
    exp.commit().variations.create(config={"lr": 3e-4})

This package is the API: what ``__all__`` lists, plus the public modules
``methodic.types`` (response dataclasses, ``Page``) and ``methodic.errors`` (the
exception tree). Every other module is private (docs/architecture.md, "Public surface").
"""

import typing as _typing

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
    ContentTooLargeError,
    IntegrityError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    ServerError,
    TrackerError,
    UnprocessableEntityError,
    UploadError,
)

if _typing.TYPE_CHECKING:  # the lazy names below, for type checkers only
    from methodic._health import HeartbeatHealth
    from methodic.downloads import Checkpoint
    from methodic.handles import Experiment, Run, Variation
    from methodic.run import RunLifecycle, Terminated
    from methodic.tracker import UploadTracker
    from methodic.upload_manager import UploadManager
    from methodic.uploads import tqdm_progress

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
    "ContentTooLargeError",
    "Experiment",
    "HeartbeatHealth",
    "IntegrityError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseValidationError",
    "Run",
    "RunLifecycle",
    "ServerError",
    "Terminated",
    "TrackerError",
    "UnprocessableEntityError",
    "UploadError",
    "UploadManager",
    "UploadTracker",
    "Variation",
    "__version__",
    "tqdm_progress",
]

# Imported on first use: the handles pull in every response dataclass, and
# UploadTracker pulls in sqlite3. `import methodic` stays close to `import httpx2`.
_LAZY = {
    "Checkpoint": "methodic.downloads",
    "Experiment": "methodic.handles",
    "HeartbeatHealth": "methodic._health",
    "Variation": "methodic.handles",
    "Run": "methodic.handles",
    "RunLifecycle": "methodic.run",
    "Terminated": "methodic.run",
    "UploadManager": "methodic.upload_manager",
    "UploadTracker": "methodic.tracker",
    "tqdm_progress": "methodic.uploads",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'methodic' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(module), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
