"""`/docs` that works offline: Swagger UI served by the fake itself.

FastAPI's own page loads its scripts from a CDN, so with no network `/docs` is a
blank page. fastapi-offline ships the same build as package data; we serve it from
`/docs/static` and point FastAPI's page generator at it. There is no `/redoc`:
ReDoc still fetches its logo from its CDN, and one offline API page is enough.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

STATIC_URL = "/docs/static"


def _assets_dir() -> Path:
    # Located, not imported: fastapi_offline's module only wraps FastAPI's constructor.
    spec = importlib.util.find_spec("fastapi_offline")
    if spec is None or spec.origin is None:
        raise RuntimeError("methodic-fake needs fastapi-offline: pip install 'methodic[fake]'")
    return Path(spec.origin).parent / "static"


def install_offline_docs(app: FastAPI) -> None:
    """Serve `/docs` from local assets (create `app` with `docs_url=None, redoc_url=None`)."""
    assert app.docs_url is None and app.redoc_url is None, "the CDN pages would shadow ours"
    openapi_url = app.openapi_url or "/openapi.json"
    redirect_url = app.swagger_ui_oauth2_redirect_url or "/docs/oauth2-redirect"
    app.mount(STATIC_URL, StaticFiles(directory=_assets_dir()), name="docs-static")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=root + redirect_url,
            swagger_js_url=f"{root}{STATIC_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{STATIC_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{STATIC_URL}/favicon.png",
            # Swagger UI would send the schema to validator.swagger.io otherwise.
            swagger_ui_parameters={"validatorUrl": None, **(app.swagger_ui_parameters or {})},
        )

    @app.get(redirect_url, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()
