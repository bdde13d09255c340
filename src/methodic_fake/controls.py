"""What a `FakeChronicle` handle drives: the clock, faults, search switch, reset, keys.

Two implementations of one interface. `LocalControls` reaches a fake living in this
process (`FakeChronicle.start()`, `in_process()`, the pytest fixture) through its
backend; `AdminControls` reaches a fake living in another process — a
`methodic-fake serve` dev server — through its `/_fake` admin HTTP API
(docs/api.md), so a script or a notebook moves the dev server's clock and queues
faults in Python, as a test does with the fixture:

    fake = FakeChronicle.connect("http://127.0.0.1:8765")
    fake.advance(minutes=16)
    fake.faults.add("storage.put", "reset")

This module needs only httpx2: connecting to a dev server imports no web framework.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from methodic_fake.auth import ROLES

if TYPE_CHECKING:
    import httpx2

    from methodic_fake.backend import Backend

__all__ = ["AdminControls", "AdminFaults", "Controls", "Faults", "LocalControls"]


class Faults(Protocol):
    """The fault queues, local (`FaultQueue`) or over the admin API (`AdminFaults`)."""

    def add(
        self,
        operation: str,
        kind: str,
        *,
        status: int = 503,
        detail: str | None = None,
        times: int = 1,
        after_bytes: int = 0,
        seconds: float = 0.0,
        retry_after: int | None = None,
        phase: str = "before",
    ) -> None: ...

    def pending(self) -> list[dict[str, Any]]: ...

    def clear(self, operation: str | None = None) -> None: ...

    def __len__(self) -> int: ...


class Controls(Protocol):
    """Everything a `FakeChronicle` changes or reads besides HTTP clients."""

    @property
    def keys(self) -> dict[str, str]: ...

    @property
    def faults(self) -> Faults: ...

    def now(self) -> float: ...

    def advance(self, seconds: float) -> None: ...

    def freeze(self) -> None: ...

    def unfreeze(self) -> None: ...

    def get_search(self) -> bool: ...

    def set_search(self, configured: bool) -> None: ...

    def reset(self) -> None: ...

    def close(self) -> None: ...


class LocalControls:
    """A fake in this process, driven through its backend."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    @property
    def keys(self) -> dict[str, str]:
        return self.backend.keys.keys

    @property
    def faults(self) -> Faults:
        return self.backend.faults

    def now(self) -> float:
        return self.backend.clock.now()

    def advance(self, seconds: float) -> None:
        self.backend.advance(seconds)

    def freeze(self) -> None:
        self.backend.clock.freeze()

    def unfreeze(self) -> None:
        self.backend.clock.unfreeze()

    def get_search(self) -> bool:
        return self.backend.search_configured

    def set_search(self, configured: bool) -> None:
        self.backend.search_configured = bool(configured)

    def reset(self) -> None:
        self.backend.reset()

    def close(self) -> None:
        """Nothing to release: the backend belongs to whoever started the fake."""


class AdminControls:
    """A fake in another process, driven through its `/_fake` admin API.

    Refusals keep the types the local controls raise: a value out of its bounds (the
    API's 400/422) is a `ValueError` carrying the fake's own message; anything else
    (no server, not a fake, a non-loopback address) is a `RuntimeError` saying so.
    """

    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        import httpx2

        self.base_url = base_url.rstrip("/")
        # Never through a proxy: the admin API answers loopback clients only.
        self._http = httpx2.Client(base_url=self.base_url, timeout=timeout, trust_env=False)
        try:
            keys = self._call("GET", "/_fake/keys")
        except BaseException:
            self._http.close()
            raise
        if not isinstance(keys, dict) or not all(isinstance(keys.get(r), str) for r in ROLES):
            self._http.close()
            raise RuntimeError(f"{self.base_url}/_fake/keys did not answer a methodic-fake key set")
        self._keys: dict[str, str] = {role: keys[role] for role in ROLES}
        self._faults = AdminFaults(self)

    @property
    def keys(self) -> dict[str, str]:
        return dict(self._keys)  # keys never change while a server runs: read once

    @property
    def faults(self) -> Faults:
        return self._faults

    def now(self) -> float:
        clock = self._call("GET", "/_fake/clock")
        return datetime.fromisoformat(str(clock["now"]).replace("Z", "+00:00")).timestamp()

    def advance(self, seconds: float) -> None:
        self._call("POST", "/_fake/clock/advance", json={"seconds": seconds})

    def freeze(self) -> None:
        self._call("POST", "/_fake/clock/freeze")

    def unfreeze(self) -> None:
        self._call("POST", "/_fake/clock/unfreeze")

    def get_search(self) -> bool:
        return bool(self._call("GET", "/_fake/search")["configured"])

    def set_search(self, configured: bool) -> None:
        self._call("PUT", "/_fake/search", json={"configured": bool(configured)})

    def reset(self) -> None:
        self._call("POST", "/_fake/reset")

    def close(self) -> None:
        self._http.close()

    def _call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
    ) -> Any:
        import httpx2

        try:
            response = self._http.request(method, path, json=json, params=params)
        except httpx2.RequestError as err:
            raise RuntimeError(
                f"no methodic-fake server answers at {self.base_url} ({type(err).__name__}: "
                f"{err}); start one with `methodic-fake serve`"
            ) from None
        if response.status_code in (400, 422):
            raise ValueError(_detail(response))
        if response.status_code == 404 and path == "/_fake/keys":
            raise RuntimeError(
                f"{self.base_url} is not a methodic-fake server: it has no /_fake admin API "
                "(a real Chronicle has no clock or faults to drive)"
            )
        if not response.is_success:
            raise RuntimeError(
                f"{method} {self.base_url}{path} answered {response.status_code}: "
                f"{_detail(response)}"
            )
        return response.json() if response.content else None


class AdminFaults:
    """The fault queues of a fake reached over its admin API (same calls as `FaultQueue`)."""

    def __init__(self, admin: AdminControls) -> None:
        self._admin = admin

    def add(
        self,
        operation: str,
        kind: str,
        *,
        status: int = 503,
        detail: str | None = None,
        times: int = 1,
        after_bytes: int = 0,
        seconds: float = 0.0,
        retry_after: int | None = None,
        phase: str = "before",
    ) -> None:
        """Queue `times` copies of a fault for `operation` (see docs/fake.md)."""
        body = {
            "operation": operation,
            "kind": kind,
            "status": status,
            "detail": detail,
            "times": times,
            "after_bytes": after_bytes,
            "seconds": seconds,
            "retry_after": retry_after,
            "phase": phase,
        }
        self._admin._call("POST", "/_fake/faults", json=body)

    def pending(self) -> list[dict[str, Any]]:
        """Every queued fault in consumption order."""
        return list(self._admin._call("GET", "/_fake/faults")["faults"])

    def clear(self, operation: str | None = None) -> None:
        """Drop queued faults (all, or one operation's)."""
        params = {"operation": operation} if operation is not None else None
        self._admin._call("DELETE", "/_fake/faults", params=params)

    def __len__(self) -> int:
        return len(self.pending())


def _detail(response: httpx2.Response) -> str:
    """The fake's own message: `{"detail": ...}`, a 422's problems flattened."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or "detail" not in body:
        return response.text[:300] or response.reason_phrase
    detail = body["detail"]
    if isinstance(detail, list):
        return "; ".join(
            f"{'.'.join(str(p) for p in problem.get('loc', [])[1:])}: {problem.get('msg')}"
            for problem in detail
            if isinstance(problem, dict)
        )
    return str(detail)
