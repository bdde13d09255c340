"""The fake's web front: a dashboard at `/_fake/ui/` and offline API docs at `/docs`.

Another front of the same domain as the routes: pages read the backend directly
and controls call the harness operations the admin API calls, so no business rule
lives here twice.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI
from fastapi.params import Depends
from fastapi.responses import RedirectResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from methodic_fake.ui.docs import install_offline_docs
from methodic_fake.ui.pages import PREFIX
from methodic_fake.ui.pages import router as pages_router

__all__ = ["PREFIX", "install"]


# Framed invisibly by another site, one click on "advance 1 h" would reap every running
# run and two would reset the fake: no page of the web front may be framed at all.
NO_FRAMING = [
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"x-frame-options", b"DENY"),
]


def _is_web_front(path: str) -> bool:
    return path == "/" or path.startswith((PREFIX + "/", "/docs"))


class NoFramingMiddleware:
    """Adds `NO_FRAMING` to every response of the dashboard and `/docs`, refusals too."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_web_front(scope["path"]):
            await self.app(scope, receive, send)
            return

        async def send_framed(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *NO_FRAMING]}
            await send(message)

        await self.app(scope, receive, send_framed)


def install(app: FastAPI, guard: Sequence[Depends]) -> None:
    """Add the dashboard (behind `guard`, the admin API's dependencies) and `/docs`."""
    app.include_router(pages_router, dependencies=guard)
    app.add_middleware(NoFramingMiddleware)

    @app.get("/", include_in_schema=False, dependencies=list(guard))
    async def home() -> RedirectResponse:
        return RedirectResponse(PREFIX + "/", status_code=307)

    install_offline_docs(app)
