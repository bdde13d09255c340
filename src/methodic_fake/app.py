"""`create_app`: the one FastAPI app behind every harness (fixture, in-process, CLI)."""

from __future__ import annotations

from email.utils import formatdate
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Message, Receive, Scope, Send

from methodic_fake.backend import Backend
from methodic_fake.errors import FakeError
from methodic_fake.jsonlimits import PARSER_MAX_DEPTH, nested_deeper_than
from methodic_fake.middleware import FakeMiddleware, LastResortMiddleware, note_server_send
from methodic_fake.routes import admin, assets, experiments, runs, search, storage, variations
from methodic_fake.ui import install as install_ui


class FakeApp(FastAPI):
    """FastAPI, plus a note of the server's own `send` for injected connection resets,
    and a `Date` header on every response read from the fake's clock.

    Clients learn the server's time from `Date` (the `methodic` CLI's ages do), so it
    must move with `advance()`; the server's own wall-clock header is turned off
    (`server.make_server`).
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        note_server_send(scope, send)
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        clock = self.state.backend.clock

        async def send_with_date(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"date"]
                headers.append((b"date", formatdate(clock.now(), usegmt=True).encode()))
                message = {**message, "headers": headers}
            await send(message)

        await super().__call__(scope, receive, send_with_date)


def create_app(backend: Backend | None = None, **backend_options: Any) -> FastAPI:
    """Build the fake Chronicle app around `backend` (a fresh in-memory one by default).

    >>> app = create_app()                      # serve with uvicorn, or
    >>> client = TestClient(app)                # drive it in-process
    """
    backend = backend if backend is not None else Backend.ephemeral(**backend_options)
    app = FakeApp(
        title="Chronicle (methodic-fake)",
        description="A stateful fake of the Chronicle REST API. See docs/api.md.",
        version="1",
        # Served offline by install_ui instead (FastAPI's own pages need a CDN).
        docs_url=None,
        redoc_url=None,
    )
    app.state.backend = backend
    operations = [experiments, variations, runs, assets, search, storage]
    for module in [*operations, admin]:
        app.include_router(module.router)
    # The dashboard answers exactly whom the admin API answers.
    install_ui(app, guard=admin.router.dependencies)
    # Routes named after fault operations, matched by the middleware before routing.
    app.state.operation_routes = [r for m in operations for r in m.router.routes]
    app.add_middleware(FakeMiddleware, faults=backend.faults, routes=app.state.operation_routes)
    # Added last, so it wraps everything (inside starlette's own ServerErrorMiddleware,
    # which it leaves with nothing to do): no exception reaches the server.
    app.add_middleware(LastResortMiddleware)
    _install_error_handlers(app)
    return app


def _install_error_handlers(app: FastAPI) -> None:
    async def fake_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, FakeError)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status, headers=exc.headers)

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        return JSONResponse(
            {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
        )

    async def validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        problems = exc.errors()
        too_deep = nested_deeper_than(exc.body, PARSER_MAX_DEPTH)
        if too_deep or any(e.get("type") == "json_invalid" for e in problems):
            # Unparseable is a 400, as FastAPI already answers for undecodable or
            # too-deep bodies; 422 stays for JSON of the wrong shape.
            return JSONResponse(
                {"detail": "There was an error parsing the body: not valid JSON"}, status_code=400
            )
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in problems
        ]
        return JSONResponse({"detail": errors}, status_code=422)

    app.add_exception_handler(FakeError, fake_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
