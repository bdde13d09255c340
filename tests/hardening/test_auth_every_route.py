"""Guarantee: no one gets in where they don't belong, on any route, including tomorrow's.

The cases are generated from the app's own route table (``hardening_routes``), so a
route added to the fake is covered without anyone remembering to add it here:

- every Chronicle route answers 401 (with a detail that does not echo the token,
  and a ``WWW-Authenticate`` challenge) to a missing, malformed or unknown token,
  including a real key whose type prefix was swapped to claim more privilege;
- a worker key gets 403 on every mutation except the documented allow-list below,
  and the same request then succeeds for a researcher (so the 403 is about the
  role, not a broken request); nothing changes on a refusal;
- a worker may read every GET route;
- allow-listed worker mutations still refuse assets that are not attached to a run.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from hardening_routes import RouteInfo, chronicle_routes

from methodic_fake import FakeChronicle

# Worker keys belong to training runners. docs/api.md ("Principals") lets them drive
# their own run and publish its outputs; everything else that writes is researcher-only.
WORKER_ALLOWED_MUTATIONS = {
    "runs.start": "a runner starts the run it was given",
    "runs.heartbeat": "a runner reports liveness and progress",
    "runs.succeed": "a runner reports success",
    "runs.fail": "a runner reports a crash or abandonment",
    "assets.create": "a runner publishes outputs attached to its run (non-run assets: 403)",
    "assets.upload_urls": "a runner refreshes expired URLs for its run's upload (non-run: 403)",
    "assets.finalize": "a runner finalizes its run's upload (non-run: 403)",
}
MUTATING = {"POST", "PUT", "PATCH", "DELETE"}


def _client(fake: FakeChronicle) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    return TestClient(fake.app, base_url=fake.base_url, raise_server_exceptions=False)


class World:
    """Real objects for every path parameter, so a refusal is never a disguised 404."""

    def __init__(self, fake: FakeChronicle) -> None:
        c = fake.client("researcher")
        draft = c.experiments.create("auth draft")
        committed = c.experiments.create("auth committed")
        variation = c.variations.create(committed.id, config_json={"lr": 1})
        c.experiments.commit(committed.id)
        quiet = c.experiments.create("auth closable")
        c.experiments.commit(quiet.id)
        run = c.runs.create(variation.id)
        c.runs.start(run.id)
        pending = c.runs.create(variation.id)
        data = b"auth"
        run_asset = c.assets.create(
            kind="checkpoint",
            name="auth ckpt",
            run_id=run.id,
            components=[
                {"name": "w", "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            ],
        )
        c.transport.storage_request("PUT", run_asset.upload_urls["w"], content=data)
        exp_asset = c.assets.create(
            kind="output",
            name="auth exp asset",
            experiment_id=committed.id,
            components=[
                {"name": "w", "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            ],
        )
        c.transport.storage_request("PUT", exp_asset.upload_urls["w"], content=data)
        self.draft, self.committed, self.closable = draft.id, committed.id, quiet.id
        self.variation, self.run, self.pending_run = variation.id, run.id, pending.id
        self.run_asset, self.exp_asset = run_asset.asset.id, exp_asset.asset.id

    def ids_for(self, route: RouteInfo) -> dict[str, str]:
        ids = {
            "experiment_id": self.committed,
            "variation_id": self.variation,
            "run_id": self.run,
            "asset_id": self.run_asset,
        }
        # Routes whose success needs an object in a particular state.
        if route.name in ("experiments.update", "experiments.commit", "variations.create"):
            ids["experiment_id"] = self.draft
        if route.name in ("experiments.conclude", "experiments.retract"):
            ids["experiment_id"] = self.closable
        if route.name == "runs.start":
            ids["run_id"] = self.pending_run
        return ids

    def body_for(self, route: RouteInfo) -> Any:
        """A body the researcher control request succeeds with; {} for routes without one."""
        bodies: dict[str, Any] = {
            "experiments.create": {"title": "made by someone"},
            "experiments.update": {"title": "renamed"},
            "experiments.conclude": {"conclusion": "done"},
            "experiments.retract": {"reason": "wrong"},
            "variations.create": {"config_json": {"lr": 2}},
            "runs.fail": {"reason": "crash"},
            "assets.create": {
                "kind": "output",
                "name": "inline",
                "content": "hello",
                "run_id": self.run,
            },
        }
        return bodies.get(route.name, {})


def snapshot(http: Any, token: str) -> str:
    headers = {"Authorization": f"Bearer {token}"}
    state = {}
    for path in ("/experiments", "/runs", "/assets"):
        state[path] = http.get(path, params={"limit": 200}, headers=headers).json()
    return json.dumps(state, sort_keys=True)


@pytest.fixture(scope="module")
def module_fake() -> Iterator[FakeChronicle]:
    with FakeChronicle.in_process() as fake:
        yield fake


@pytest.fixture(scope="module")
def routes(module_fake: FakeChronicle) -> list[RouteInfo]:
    found = chronicle_routes(module_fake.app)
    # A guard on the generator: if route discovery broke, every test below would
    # pass vacuously. These are the routes docs/api.md promises today.
    names = {r.name for r in found}
    assert len(found) >= 27, found
    assert {"experiments.create", "runs.heartbeat", "assets.finalize", "search.query"} <= names
    return found


def _bad_credentials(fake: FakeChronicle) -> dict[str, str | None]:
    worker, agent, researcher = fake.worker_key, fake.agent_key, fake.researcher_token
    key_id_end = len("sk_worker_") + 12
    return {
        "missing": None,
        "empty": "",
        "scheme only": "Bearer",
        "scheme and space": "Bearer ",
        "basic auth": "Basic dXNlcjpwYXNzd29yZA==",
        "token without scheme": worker,
        "other scheme": f"Token {worker}",
        "two tokens": f"Bearer {worker} {agent}",
        "key plus a char": f"Bearer {worker}x",
        "key minus a char": f"Bearer {worker[:-1]}",
        "right key id, wrong secret": f"Bearer {worker[:key_id_end]}{'A' * (len(worker) - key_id_end)}",
        "worker key posing as agent": "Bearer " + worker.replace("sk_worker_", "sk_agent_", 1),
        "unknown key type": "Bearer " + worker.replace("sk_worker_", "sk_admin_", 1),
        "bare prefix": "Bearer sk_worker_",
        "researcher token tampered": f"Bearer {researcher[:-2]}{'AA' if not researcher.endswith('AA') else 'BB'}",
        "forged jwt": "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.",
    }


def test_every_route_rejects_bad_credentials_with_401(
    module_fake: FakeChronicle, routes: list[RouteInfo], figures: Any
) -> None:
    fake = module_fake
    world = World(fake)
    http = _client(fake)
    before = snapshot(http, fake.researcher_token)
    checked = 0
    for route in routes:
        url = route.fill(world.ids_for(route))
        body = world.body_for(route) if route.method in MUTATING else None
        for label, header in _bad_credentials(fake).items():
            headers = {} if header is None else {"Authorization": header}
            response = http.request(route.method, url, json=body, headers=headers)
            where = f"{route} with {label}"
            assert response.status_code == 401, (
                f"{where}: {response.status_code} {response.text[:200]}"
            )
            detail = response.json()["detail"]
            assert isinstance(detail, str) and detail, where
            assert response.headers.get("www-authenticate", "").lower().startswith("bearer"), where
            # The refusal must not echo the credential back (into a log, a proxy, a screen).
            for secret in (fake.worker_key, fake.agent_key, fake.researcher_token):
                assert secret[12:] not in response.text, where
            checked += 1
    assert snapshot(http, fake.researcher_token) == before
    figures.add("auth: unauthenticated requests refused", checked)


def _mutations(routes: list[RouteInfo]) -> list[RouteInfo]:
    return [r for r in routes if r.method in MUTATING]


def test_allow_list_names_real_routes(routes: list[RouteInfo]) -> None:
    """A renamed route must not silently leave a stale (and so unchecked) allow-list entry."""
    assert set(WORKER_ALLOWED_MUTATIONS) <= {r.name for r in _mutations(routes)}


def test_worker_gets_403_on_every_researcher_mutation(
    routes: list[RouteInfo], figures: Any
) -> None:
    refused = 0
    for route in _mutations(routes):
        if route.name in WORKER_ALLOWED_MUTATIONS:
            continue
        # A fresh fake per route: the researcher control call below mutates state.
        with FakeChronicle.in_process() as fake:
            world = World(fake)
            http = _client(fake)
            url = route.fill(world.ids_for(route))
            body = world.body_for(route)
            before = snapshot(http, fake.researcher_token)
            as_worker = http.request(
                route.method, url, json=body, headers={"Authorization": f"Bearer {fake.worker_key}"}
            )
            assert as_worker.status_code == 403, (
                f"{route}: {as_worker.status_code} {as_worker.text[:200]}"
            )
            assert as_worker.json()["detail"], route
            assert snapshot(http, fake.researcher_token) == before, f"{route} changed state on 403"
            as_researcher = http.request(
                route.method,
                url,
                json=body,
                headers={"Authorization": f"Bearer {fake.researcher_token}"},
            )
            assert as_researcher.status_code < 300, (
                f"control request for {route} failed ({as_researcher.status_code} "
                f"{as_researcher.text[:200]}): give it a valid body/ids in World.body_for/ids_for"
            )
            refused += 1
    assert refused >= 7
    figures.add("auth: worker mutations refused (routes)", refused)


def test_worker_may_read_every_get_route(
    module_fake: FakeChronicle, routes: list[RouteInfo]
) -> None:
    fake = module_fake
    world = World(fake)
    http = _client(fake)
    for route in routes:
        if route.method != "GET":
            continue
        params = {"q": "auth"} if route.name == "search.query" else None
        response = http.get(
            route.fill(world.ids_for(route)),
            params=params,
            headers={"Authorization": f"Bearer {fake.worker_key}"},
        )
        # checkpoint: there is none yet (404); download-urls: the run asset is pending (409).
        assert response.status_code in (200, 404, 409), (
            f"{route}: {response.status_code} {response.text[:200]}"
        )
        assert response.status_code not in (401, 403)


def test_worker_allowed_mutations_still_refuse_non_run_assets(module_fake: FakeChronicle) -> None:
    fake = module_fake
    world = World(fake)
    http = _client(fake)
    worker = {"Authorization": f"Bearer {fake.worker_key}"}
    before = snapshot(http, fake.researcher_token)
    no_run = http.post(
        "/assets",
        json={"kind": "output", "name": "loose", "content": "x", "experiment_id": world.committed},
        headers=worker,
    )
    assert no_run.status_code == 403, no_run.text
    assert "run" in no_run.json()["detail"]
    for method, path in (
        ("PUT", f"/assets/{world.exp_asset}/finalize"),
        ("POST", f"/assets/{world.exp_asset}/upload-urls"),
    ):
        response = http.request(method, path, headers=worker)
        assert response.status_code == 403, f"{method} {path}: {response.text}"
        assert response.json()["detail"]
    assert snapshot(http, fake.researcher_token) == before


def test_agent_and_researcher_are_not_refused_anywhere(
    module_fake: FakeChronicle, routes: list[RouteInfo]
) -> None:
    """The other side of the allow-list: the full-power principals are never 401/403."""
    for role in ("agent", "researcher"):
        for route in _mutations(routes):
            with FakeChronicle.in_process() as fake:
                world = World(fake)
                http = _client(fake)
                response = http.request(
                    route.method,
                    route.fill(world.ids_for(route)),
                    json=world.body_for(route),
                    headers={"Authorization": f"Bearer {fake.token(role)}"},
                )
                assert response.status_code < 300, (
                    f"{role} {route}: {response.status_code} {response.text[:200]}"
                )
