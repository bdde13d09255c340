"""FastAPI dependencies shared by the route modules."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from methodic_fake.auth import Principal
from methodic_fake.backend import Backend


def get_backend(request: Request) -> Backend:
    backend: Backend = request.app.state.backend
    return backend


# Declares the bearer scheme in OpenAPI only; authentication itself is ours (the
# scheme's own errors would not carry our details), hence auto_error=False.
_bearer_scheme = HTTPBearer(auto_error=False, description="Auth0 access token or sk_ API key")


def get_principal(
    request: Request,
    _declared: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer_scheme)],
) -> Principal:
    """401 unless the request carries a bearer token this fake issued."""
    return get_backend(request).authenticate(request.headers.get("authorization"))


def base_url(request: Request) -> str:
    """Where this request reached us: presigned URLs point back at the same origin."""
    return str(request.base_url)


BackendDep = Annotated[Backend, Depends(get_backend)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
IdempotencyKey = Annotated[
    str | None, Header(alias="Idempotency-Key", min_length=1, max_length=255)
]
