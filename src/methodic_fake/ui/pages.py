"""`/_fake/ui/...`: the dashboard's pages and its controls.

Pages are server-rendered HTML (Jinja2); `static/dashboard.js` refetches the page
every couple of seconds and swaps the parts marked `data-live`. Controls are plain
HTML forms (they work without JavaScript too) whose handlers call the same harness
operations as the admin API, validate with its request models, and answer
`303 See Other` back to the page the form was on, with a notice or an error.

The router carries no guard of its own: `install()` includes it with the admin
API's, so the dashboard answers exactly the clients the admin API answers.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from pydantic import ValidationError

from methodic.types import LineageResponse
from methodic_fake.backend import SEARCH_TYPES, Backend
from methodic_fake.deps import BackendDep
from methodic_fake.errors import NotFound, ServiceUnavailable
from methodic_fake.faults import KINDS, OPERATIONS
from methodic_fake.schemas import ClockAdvance, FaultIn
from methodic_fake.ui.views import Dashboard, duration

PREFIX = "/_fake/ui"
HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
SEARCH_LIMIT = 20
UNITS = {"s": 1, "min": 60, "h": 3600, "d": 86400}
# The quick buttons in every page's header: label -> seconds.
QUICK_ADVANCES = {"1 min": 60, "15 min": 900, "1 h": 3600}

router = APIRouter(prefix=PREFIX, include_in_schema=False)


@functools.cache
def _templates() -> Any:
    # Jinja2 loads on the first page view: apps that never show the dashboard
    # (every test fixture) do not pay for importing it.
    from starlette.templating import Jinja2Templates

    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.globals.update(ui=PREFIX, quick_advances=QUICK_ADVANCES, units=list(UNITS))
    return templates


def _render(request: Request, name: str, backend: Backend, **context: Any) -> Response:
    context.setdefault("clock", Dashboard(backend).clock())
    context["notice"] = request.query_params.get("notice")
    context["error"] = request.query_params.get("error")
    response: Response = _templates().TemplateResponse(request, name, context)
    # Every view reads live state; a cached page would show a stale clock.
    response.headers["cache-control"] = "no-store"
    return response


# --- pages --------------------------------------------------------------------------


@router.get("/")
async def experiments_page(request: Request, backend: BackendDep) -> Response:
    page = Dashboard(backend).experiments()
    return _render(request, "experiments.html", backend, page=page, nav="experiments")


@router.get("/experiments/{experiment_id}")
async def experiment_page(request: Request, experiment_id: str, backend: BackendDep) -> Response:
    from markupsafe import Markup  # Jinja2's: loaded with it, on the first page view

    view = Dashboard(backend).experiment(experiment_id)
    # The SDK's picture, so a notebook's `lineage` shows exactly this one.
    lineage = LineageResponse.from_dict(view.pop("lineage"))
    svg = Markup(lineage.to_svg(link=PREFIX + "/experiments/{id}"))  # escaped by the SDK
    return _render(
        request,
        "experiment.html",
        backend,
        lineage=lineage,
        lineage_svg=svg,
        nav="experiments",
        **view,
    )


@router.get("/runs")
async def runs_page(request: Request, backend: BackendDep) -> Response:
    page = Dashboard(backend).runs()
    return _render(request, "runs.html", backend, page=page, nav="runs")


@router.get("/runs/{run_id}")
async def run_page(request: Request, run_id: str, backend: BackendDep) -> Response:
    view = Dashboard(backend).run(run_id)
    return _render(request, "run.html", backend, nav="runs", **view)


@router.get("/assets")
async def assets_page(request: Request, backend: BackendDep) -> Response:
    page = Dashboard(backend).assets()
    return _render(request, "assets.html", backend, page=page, nav="assets")


@router.get("/assets/{asset_id}")
async def asset_page(request: Request, asset_id: str, backend: BackendDep) -> Response:
    asset = Dashboard(backend).asset(asset_id)
    return _render(request, "asset.html", backend, asset=asset, nav="assets")


@router.get("/controls")
async def controls_page(request: Request, backend: BackendDep) -> Response:
    controls = Dashboard(backend).controls()
    return _render(
        request,
        "controls.html",
        backend,
        controls=controls,
        operations=OPERATIONS,
        kinds=KINDS,
        nav="controls",
    )


@router.get("/search")
async def search_page(request: Request, backend: BackendDep, q: str = "") -> Response:
    query = q.strip()[:1000]  # the API's own bound on `q`
    result: dict[str, Any] | None = None
    unavailable = None
    if query:
        try:
            result = backend.search(query, list(SEARCH_TYPES), SEARCH_LIMIT)
        except ServiceUnavailable as exc:
            unavailable = exc.detail
    return _render(
        request,
        "search.html",
        backend,
        query=query,
        result=result,
        unavailable=unavailable,
        nav="search",
    )


@router.get("/static/{name}")
async def static_file(name: str) -> FileResponse:
    path = STATIC_DIR / name
    # Only files directly in static/: `name` is one path segment, but be explicit.
    if path.parent != STATIC_DIR or not path.is_file():
        raise NotFound(f"no dashboard file {name!r}")
    return FileResponse(path, headers={"cache-control": "no-cache"})


# --- controls -----------------------------------------------------------------------


async def _form(request: Request) -> dict[str, str]:
    """The urlencoded form body (last value wins); no multipart parser needed."""
    body = (await request.body()).decode("utf-8", errors="replace")
    return {k: v[-1] for k, v in parse_qs(body, keep_blank_values=True).items()}


def _back(form: dict[str, str], *, notice: str | None = None, error: str | None = None) -> Response:
    """303 to the dashboard page the form was on (never anywhere else)."""
    target = form.get("next", "")
    if not target.startswith(PREFIX + "/") or "//" in target or "\\" in target or "?" in target:
        target = PREFIX + "/controls"
    params = {"notice": notice} if error is None else {"error": error}
    return RedirectResponse(f"{target}?{urlencode(params)}", status_code=303)


def _problem(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())


@router.post("/clock/advance")
async def advance(request: Request, backend: BackendDep) -> Response:
    form = await _form(request)
    try:
        amount = float(form.get("amount", ""))
        seconds = amount * UNITS[form.get("unit", "s")]
    except (ValueError, KeyError):
        return _back(form, error="advance by a number of seconds, minutes, hours or days")
    try:
        body = ClockAdvance.model_validate({"seconds": seconds})
    except ValidationError as exc:
        return _back(form, error=f"cannot advance by {form.get('amount')!r}: {_problem(exc)}")
    try:
        backend.advance(body.seconds)
    except ValueError as exc:
        return _back(form, error=str(exc))
    return _back(form, notice=f"clock advanced by {duration(body.seconds)}")


@router.post("/clock/freeze")
async def freeze(request: Request, backend: BackendDep) -> Response:
    form = await _form(request)
    backend.clock.freeze()
    return _back(form, notice="clock frozen: only advancing moves it now")


@router.post("/clock/unfreeze")
async def unfreeze(request: Request, backend: BackendDep) -> Response:
    form = await _form(request)
    backend.clock.unfreeze()
    return _back(form, notice="clock running again")


@router.post("/faults")
async def add_fault(request: Request, backend: BackendDep) -> Response:
    form = await _form(request)
    # Blank inputs mean "the default", as an omitted JSON field does for the admin API.
    fields = {k: v for k, v in form.items() if k in FaultIn.model_fields and v.strip()}
    try:
        body = FaultIn.model_validate(fields)
        backend.faults.add(**body.model_dump())
    except ValidationError as exc:
        return _back(form, error=f"fault not added: {_problem(exc)}")
    except ValueError as exc:
        return _back(form, error=f"fault not added: {exc}")
    plural = "s" if body.times > 1 else ""
    return _back(form, notice=f"queued {body.times} {body.kind} fault{plural} for {body.operation}")


@router.post("/faults/clear")
async def clear_faults(request: Request, backend: BackendDep) -> Response:
    form = await _form(request)
    backend.faults.clear(form.get("operation") or None)
    return _back(form, notice="fault queue cleared")


@router.post("/search")
async def set_search(request: Request, backend: BackendDep) -> Response:
    form = await _form(request)
    backend.search_configured = form.get("configured") == "on"
    state = "on" if backend.search_configured else "off (GET /search answers 503)"
    return _back(form, notice=f"search {state}")


@router.post("/reset")
async def reset(request: Request, backend: BackendDep) -> Response:
    form = await _form(request)
    if form.get("confirm") != "yes":
        return _back(form, error="not reset: tick the confirmation box first")
    backend.reset()
    return _back(form, notice="reset: all data, faults and the clock offset are gone")
