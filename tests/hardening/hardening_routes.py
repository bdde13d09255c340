"""The fake's route table, flattened: the source the generated auth and fuzz tests use.

Generating those tests from the app itself (rather than a hand-kept list) means a
route added tomorrow is covered tomorrow. FastAPI >= 0.16x keeps included routers
as nested ``_IncludedRouter`` entries in ``app.routes``; they are walked through
their ``effective_route_contexts()`` so the full path (with any include prefix) is
what we see.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

# Paths that are not Chronicle's REST API: FastAPI's docs, the presigned object store
# (authorised by URL signature, tested separately) and the fake's loopback admin API.
NON_CHRONICLE_PREFIXES = ("/openapi", "/docs", "/redoc", "/_storage", "/_fake")
# `/` only redirects to the dashboard (/_fake/ui/), behind the admin API's guard.
NON_CHRONICLE_PATHS = ("/",)
_PARAM = re.compile(r"{([^}:]+)(?::[^}]*)?}")


@dataclass(frozen=True)
class RouteInfo:
    method: str
    path: str
    name: str

    @property
    def params(self) -> list[str]:
        return _PARAM.findall(self.path)

    def fill(self, values: dict[str, str]) -> str:
        """The path with each ``{param}`` replaced by ``values[param]``."""
        return _PARAM.sub(lambda m: values[m.group(1)], self.path)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def _walk(routes: Any) -> Iterator[tuple[str, Any]]:
    for route in routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is not None:
            for ctx in contexts():
                yield ctx.path, ctx.original_route
        else:
            yield route.path, route


def all_routes(app: Any) -> list[RouteInfo]:
    """Every (method, path, name) the app serves, HEAD excluded (it mirrors GET)."""
    found = []
    for path, route in _walk(app.routes):
        for method in sorted(getattr(route, "methods", None) or ()):
            if method != "HEAD":
                found.append(RouteInfo(method, path, getattr(route, "name", "") or ""))
    return found


def chronicle_routes(app: Any) -> list[RouteInfo]:
    """Routes of the Chronicle REST API proper (bearer-token authenticated)."""
    return [
        r
        for r in all_routes(app)
        if not r.path.startswith(NON_CHRONICLE_PREFIXES) and r.path not in NON_CHRONICLE_PATHS
    ]
