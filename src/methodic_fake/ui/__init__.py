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

from methodic_fake.ui.docs import install_offline_docs
from methodic_fake.ui.pages import PREFIX
from methodic_fake.ui.pages import router as pages_router

__all__ = ["PREFIX", "install"]


def install(app: FastAPI, guard: Sequence[Depends]) -> None:
    """Add the dashboard (behind `guard`, the admin API's dependencies) and `/docs`."""
    app.include_router(pages_router, dependencies=guard)

    @app.get("/", include_in_schema=False, dependencies=list(guard))
    async def home() -> RedirectResponse:
        return RedirectResponse(PREFIX + "/", status_code=307)

    install_offline_docs(app)
