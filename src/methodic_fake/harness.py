"""`FakeChronicle`: one handle on a running fake, whichever way it runs.

with FakeChronicle.start() as fake:          # uvicorn on a free loopback port
    chronicle = fake.client("researcher")

fake = FakeChronicle.in_process()            # no socket: starlette's TestClient
chronicle = fake.client("worker")

fake = FakeChronicle.connect()               # a `methodic-fake serve` at $CHRONICLE_BASE_URL
fake.advance(minutes=16)                     # its clock and faults, over /_fake
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from methodic_fake.app import create_app
from methodic_fake.auth import ROLES, KeyRing
from methodic_fake.backend import Backend
from methodic_fake.clock import Clock
from methodic_fake.controls import AdminControls, Controls, Faults, LocalControls
from methodic_fake.server import DEFAULT_STARTUP_TIMEOUT, ServerThread

if TYPE_CHECKING:
    import httpx2
    from fastapi import FastAPI

    from methodic import Chronicle

IN_PROCESS_BASE_URL = "http://testserver"


def keyring(keys: Mapping[str, str] | KeyRing | None) -> KeyRing | None:
    """A KeyRing from role -> token (roles left out are minted), or None to mint all."""
    if keys is None or isinstance(keys, KeyRing):
        return keys
    unknown = set(keys) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}; use {ROLES}")
    generated = KeyRing.generate().keys
    chosen = {role: keys.get(role, generated[role]) for role in ROLES}
    return KeyRing([chosen["researcher"]], [chosen["agent"]], [chosen["worker"]])


def _backend(
    data_dir: str | Path | None,
    keys: Mapping[str, str] | KeyRing | None,
    search_configured: bool,
    clock: Clock | None,
) -> Backend:
    options: dict[str, Any] = {"search_configured": search_configured, "clock": clock}
    if data_dir is not None:
        # Roles left out keep the tokens saved in the data dir (not fresh ones).
        keyring(keys)  # validates the shapes before the data dir is touched
        return Backend.persistent(Path(data_dir), keys=keys, **options)
    return Backend.ephemeral(keys=keyring(keys), **options)


@functools.cache
def _test_client_class() -> Any:
    """starlette's TestClient (an ``httpx2.Client``), adapted to carry SDK traffic quietly."""
    from starlette.testclient import TestClient

    class InProcessClient(TestClient):
        def request(self, method: str, url: Any, **kwargs: Any) -> Any:
            # The SDK passes its timeout on every request; with no socket there is
            # nothing to time out, and starlette warns about the argument.
            kwargs.pop("timeout", None)
            return super().request(method, url, **kwargs)

    return InProcessClient


class FakeChronicle:
    """A fake Chronicle plus the keys, clock and fault queues to drive it.

    Built by `start()` (served in this process), `in_process()` (no socket) or
    `connect()` (a dev server running elsewhere, driven over its admin API).
    """

    def __init__(
        self,
        backend: Backend | None,
        app: FastAPI | None,
        base_url: str,
        server: ServerThread | None = None,
        *,
        controls: Controls | None = None,
    ) -> None:
        self._backend = backend
        self._app = app
        self.base_url = base_url
        self._server = server
        if controls is None:
            if backend is None:
                raise ValueError("a FakeChronicle needs a backend, or controls to reach one")
            controls = LocalControls(backend)
        self._controls = controls
        # Fixed at construction: after stop() `_server` is gone, and guessing the
        # mode from it would silently turn a dead server fake into an in-process one.
        self._in_process = server is None and backend is not None
        self._stopped = False
        self._clients: list[Any] = []

    # --- construction -------------------------------------------------------------

    @classmethod
    def start(
        cls,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        data_dir: str | Path | None = None,
        keys: Mapping[str, str] | KeyRing | None = None,
        search_configured: bool = True,
        clock: Clock | None = None,
        startup_timeout: float = DEFAULT_STARTUP_TIMEOUT,
    ) -> FakeChronicle:
        """Serve a fresh fake with uvicorn (port 0: a free port); use as a context manager.

        `data_dir` persists state in SQLite (as the dev server does); without it state
        lives in memory and blobs in a temp dir.
        """
        backend = _backend(data_dir, keys, search_configured, clock)
        app = create_app(backend)
        server = ServerThread(app, host, port)
        server.start(startup_timeout)
        return cls(backend, app, server.base_url, server)

    @classmethod
    def in_process(
        cls,
        *,
        data_dir: str | Path | None = None,
        keys: Mapping[str, str] | KeyRing | None = None,
        search_configured: bool = True,
        clock: Clock | None = None,
    ) -> FakeChronicle:
        """A fake reached through starlette's TestClient: no socket, no thread."""
        backend = _backend(data_dir, keys, search_configured, clock)
        return cls(backend, create_app(backend), IN_PROCESS_BASE_URL)

    @classmethod
    def connect(cls, base_url: str | None = None, *, timeout: float = 10.0) -> FakeChronicle:
        """A handle on a fake served by another process: a `methodic-fake serve` dev server.

        `base_url` defaults to `$CHRONICLE_BASE_URL` (what the dev server's banner has
        you export). The clock, faults, search switch, `reset()` and the keys go over
        the server's `/_fake` admin API, so they answer only on the same machine;
        `client(role)` and `http(role)` work as for any fake. The handle never stops
        the server: `stop()` (or leaving `with`) only closes what it handed out.

            fake = FakeChronicle.connect()
            researcher = fake.client("researcher")
            fake.advance(minutes=15, seconds=1)      # the dev server's watchdog fires

        Raises `RuntimeError` when no methodic-fake answers there.
        """
        import os

        url = base_url or os.environ.get("CHRONICLE_BASE_URL")
        if not url:
            raise RuntimeError(
                "FakeChronicle.connect() needs the dev server's URL: pass base_url or set "
                "CHRONICLE_BASE_URL (`methodic-fake serve` prints it)"
            )
        url = url.rstrip("/")
        return cls(None, None, url, controls=AdminControls(url, timeout=timeout))

    @property
    def connected(self) -> bool:
        """True for `connect()` handles: the fake lives in another process."""
        return self._backend is None

    @property
    def backend(self) -> Backend:
        """The domain object (white-box checks); only for a fake in this process."""
        if self._backend is None:
            raise self._elsewhere("backend")
        return self._backend

    @property
    def app(self) -> FastAPI:
        """The FastAPI app; only for a fake in this process."""
        if self._app is None:
            raise self._elsewhere("app")
        return self._app

    def _elsewhere(self, what: str) -> RuntimeError:
        return RuntimeError(
            f"{self!r} drives a fake in another process over its admin API: it has no "
            f"{what} here (use now(), advance(), freeze(), faults, reset())"
        )

    @property
    def in_process_mode(self) -> bool:
        """True for `in_process()` fakes (no socket; `base_url` is http://testserver)."""
        return self._in_process

    @property
    def stopped(self) -> bool:
        """True once `stop()` ran: the fake hands out no more clients."""
        return self._stopped

    def _require_running(self) -> None:
        if self._stopped:
            raise RuntimeError(f"{self!r} is stopped: start a new fake to get clients")

    # --- keys -----------------------------------------------------------------------

    @property
    def keys(self) -> dict[str, str]:
        """The token to use for each role: `{"researcher": ..., "agent": ..., "worker": ...}`."""
        return self._controls.keys

    @property
    def researcher_token(self) -> str:
        """The researcher's (Auth0-style) access token."""
        return self.keys["researcher"]

    @property
    def agent_key(self) -> str:
        """The `sk_agent_...` key (may do everything a researcher may)."""
        return self.keys["agent"]

    @property
    def worker_key(self) -> str:
        """The `sk_worker_...` key (runner permissions; the fixture's `CHRONICLE_API_KEY`)."""
        return self.keys["worker"]

    def token(self, role: str) -> str:
        """The token for `role` ("researcher", "agent" or "worker")."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; use one of {ROLES}")
        return self.keys[role]

    # --- controls -------------------------------------------------------------------

    @property
    def faults(self) -> Faults:
        """Queue faults: `fake.faults.add("storage.put", "reset")`; `pending()`, `clear()`."""
        return self._controls.faults

    @property
    def clock(self) -> Clock:
        """The fake's clock (real time plus `offset`); prefer `advance()` to move it."""
        if self._backend is None:
            raise self._elsewhere("clock object")
        return self._backend.clock

    def now(self) -> float:
        """The fake's current time (Unix seconds)."""
        return self._controls.now()

    def advance(self, seconds: float = 0.0, *, minutes: float = 0.0, hours: float = 0.0) -> None:
        """Move the fake's clock forward: `fake.advance(seconds=15 * 60 + 1)`."""
        self._controls.advance(seconds + 60.0 * minutes + 3600.0 * hours)

    def freeze(self) -> None:
        """Stop the fake's clock: only `advance()` moves it until `unfreeze()` or `reset()`.

        For exact boundaries: `fake.freeze(); ...; fake.advance(seconds=900)` is 900 s.
        """
        self._controls.freeze()

    def unfreeze(self) -> None:
        """Let real time run again on the fake's clock."""
        self._controls.unfreeze()

    @property
    def search_configured(self) -> bool:
        """False makes `GET /search` answer 503 `search is not configured`."""
        return self._controls.get_search()

    @search_configured.setter
    def search_configured(self, value: bool) -> None:
        self._controls.set_search(value)

    def reset(self) -> None:
        """Forget all data, faults, clock offset and freeze (keys stay valid). Takes microseconds."""
        self._controls.reset()

    # --- clients --------------------------------------------------------------------

    def http(self, role: str | None = "researcher") -> httpx2.Client:
        """A raw ``httpx2.Client`` for this fake (with the role's bearer token unless None).

        For requests the SDK would never send (malformed bodies, missing auth).
        """
        self._require_running()
        headers = {"Authorization": f"Bearer {self.token(role)}"} if role else {}
        client: httpx2.Client
        if self._in_process:
            client = _test_client_class()(self.app, base_url=self.base_url, headers=headers)
        else:
            import httpx2

            client = httpx2.Client(base_url=self.base_url, headers=headers)
        self._clients.append(client)
        return client

    def client(self, role: str = "researcher", **kwargs: Any) -> Chronicle:
        """A `methodic.Chronicle` authenticated as `role` ("researcher", "agent" or "worker")."""
        from methodic import Chronicle

        self._require_running()
        token = self.token(role)
        if self._in_process:
            http_client = _test_client_class()(self.app, base_url=self.base_url)
            self._clients.append(http_client)
            kwargs.setdefault("http_client", http_client)
        chronicle = Chronicle(base_url=self.base_url, api_key=token, **kwargs)
        self._clients.append(chronicle)
        return chronicle

    def close_clients(self) -> None:
        """Close every client handed out so far (the fixture does this after each test)."""
        clients, self._clients = self._clients, []
        for client in reversed(clients):
            client.close()

    # --- lifecycle ------------------------------------------------------------------

    def stop(self) -> None:
        """Close clients, stop the server (if any) and release the store (idempotent).

        A `connect()` handle only closes its clients: the server is not this process's.
        """
        self.close_clients()
        if self._stopped:
            return
        self._stopped = True
        if self._server is not None:
            self.backend.faults.stopping.set()
            self._server.stop()
            self._server = None
        self._controls.close()
        if self._backend is not None:
            self._backend.close()

    def __enter__(self) -> FakeChronicle:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:  # no keys here: they must never reach a log
        mode = "connected" if self.connected else "in-process" if self._in_process else "server"
        state = ", stopped" if self._stopped else ""
        return f"{type(self).__name__}({mode}, base_url={self.base_url!r}{state})"


class SessionFakeView(FakeChronicle):
    """What the `methodic_fake` fixture hands a test: the session's fake, minus its lifecycle.

    It shares the session server's backend, app and port but keeps its own list of
    clients, and refuses `stop()` and `with`: one test stopping the server would
    leave every later test with `CHRONICLE_BASE_URL` pointing at a dead port.
    """

    def __init__(self, session: FakeChronicle) -> None:
        session._require_running()
        super().__init__(
            session.backend,
            session.app,
            session.base_url,
            session._server,
            controls=session._controls,
        )
        self._in_process = session.in_process_mode

    def _refuse(self, what: str) -> RuntimeError:
        return RuntimeError(
            f"the methodic_fake fixture's server belongs to the test session: do not {what} "
            "(it is reset before every test); use FakeChronicle.start() for a fake of your own"
        )

    def stop(self) -> None:
        """Refused: the session fixture stops the server at the end of the session."""
        raise self._refuse("stop() it")

    def __enter__(self) -> FakeChronicle:
        raise self._refuse("use it as a context manager")
