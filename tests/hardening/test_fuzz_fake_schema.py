"""Guarantee: the fake survives fuzzing of every Chronicle route, as every principal.

schemathesis reads the fake's own OpenAPI document (in-process ASGI, no socket) and
generates requests for every operation in it, as researcher, agent and worker on
the in-memory store and as researcher on the SQLite store the dev server uses.
Cases come from four sources in equal measure: ids it makes up or ids of real
objects seeded beforehand (so handlers get past their 404 and into the state
machines), with valid (positive) or schema-violating (negative) data. Every
response must:

- not be a 5xx;
- conform to the declared schema: status code declared, content type declared, body
  valid against the declared response schema;
- if 4xx, carry FastAPI's ``{"detail": ...}`` with a non-empty message;
- if 2xx, decode into the matching ``methodic.types`` class (the client's own view
  of the contract, which holds even where the OpenAPI document is loose);
- carry an ``x-request-id``.

``METHODIC_FUZZ_EXAMPLES`` sets hypothesis' ``max_examples`` per operation, source and
principal/store; ``make test`` uses the small default, ``make fuzz`` a large one. The
number of cases actually sent is printed in the "hardening figures" summary.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from hardening_routes import chronicle_routes
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import checks as st_checks
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode

from methodic import types as mtypes
from methodic_fake import FakeChronicle

EXAMPLES = int(os.environ.get("METHODIC_FUZZ_EXAMPLES", "10"))
PRINCIPALS = ("researcher", "agent", "worker")

# What a 2xx body of each operation must decode into (route name -> reader).
Reader = Callable[[Any], Any]


def _page(item: type[Any]) -> Reader:
    return lambda body: mtypes.Page.from_dict(body, item)


def _urls(key: str) -> Reader:
    def read(body: Any) -> Any:
        assert isinstance(body, dict) and isinstance(body.get(key), dict), body
        assert all(isinstance(v, str) and v for v in body[key].values()), body
        return body

    return read


def _asset_create(body: Any) -> Any:
    # Presigned creation answers {asset, upload_urls}; inline creation the asset itself.
    if isinstance(body, dict) and "upload_urls" in body:
        return mtypes.PresignedAsset.from_dict(body)
    return mtypes.Asset.from_dict(body)


READERS: dict[str, Reader] = {
    "experiments.create": mtypes.Experiment.from_dict,
    "experiments.list": _page(mtypes.Experiment),
    "experiments.get": mtypes.ExperimentDetail.from_dict,
    "experiments.update": mtypes.Experiment.from_dict,
    "experiments.commit": mtypes.Experiment.from_dict,
    "experiments.conclude": mtypes.Experiment.from_dict,
    "experiments.retract": mtypes.Experiment.from_dict,
    "experiments.lineage": mtypes.LineageResponse.from_dict,
    "variations.create": mtypes.Variation.from_dict,
    "variations.list": _page(mtypes.Variation),
    "variations.get": mtypes.Variation.from_dict,
    "runs.create": mtypes.Run.from_dict,
    "runs.list": _page(mtypes.Run),
    "runs.get": mtypes.Run.from_dict,
    "runs.config": mtypes.VariationConfig.from_dict,
    "runs.start": mtypes.Run.from_dict,
    "runs.heartbeat": mtypes.Run.from_dict,
    "runs.succeed": mtypes.Run.from_dict,
    "runs.fail": mtypes.Run.from_dict,
    "runs.checkpoint": mtypes.Asset.from_dict,
    "assets.create": _asset_create,
    "assets.list": _page(mtypes.Asset),
    "assets.get": mtypes.Asset.from_dict,
    "assets.finalize": mtypes.Asset.from_dict,
    "assets.upload_urls": _urls("upload_urls"),
    "assets.download_urls": _urls("urls"),
    "search.query": mtypes.SearchResponse.from_dict,
}


def _route_names(app: Any) -> dict[tuple[str, str], str]:
    """(METHOD, path template) -> route name, from the app's own route table."""
    return {(r.method, r.path): r.name for r in chronicle_routes(app)}


# -- extra checks (schemathesis check functions) -----------------------------------------


def check_detail_on_4xx(ctx: Any, response: Any, case: Any) -> None:
    if not 400 <= response.status_code < 500:
        return
    body = response.json()
    assert isinstance(body, dict) and "detail" in body, f"4xx without detail: {response.text!r}"
    detail = body["detail"]
    if response.status_code == 422 and isinstance(detail, list):
        assert detail, "422 with an empty problem list"
        for problem in detail:
            assert {"loc", "msg", "type"} <= set(problem), problem
            assert problem["msg"], problem
    else:
        assert isinstance(detail, str) and detail.strip(), f"unhelpful detail: {detail!r}"


def check_request_id(ctx: Any, response: Any, case: Any) -> None:
    assert response.headers.get("x-request-id"), "response without x-request-id"


def _sdk_reader_check(route_names: dict[tuple[str, str], str]) -> Callable[..., None]:
    def check_sdk_can_read_2xx(ctx: Any, response: Any, case: Any) -> None:
        if not 200 <= response.status_code < 300:
            return
        name = route_names[(case.operation.method.upper(), case.operation.path)]
        READERS[name](response.json())

    return check_sdk_can_read_2xx


def _checks() -> list[Any]:
    names = [
        "not_a_server_error",
        "content_type_conformance",
        "response_schema_conformance",
        "response_headers_conformance",
    ]
    return [getattr(st_checks, name) for name in names]


# -- fixtures ------------------------------------------------------------------------------


class Seeded:
    """Real objects in the fake, so fuzzed requests can reach past the 404s."""

    def __init__(self, fake: FakeChronicle) -> None:
        c = fake.client("researcher")
        parent = c.experiments.create("fuzz parent", tags=["fuzz"])
        draft = c.experiments.create("fuzz draft", parent_ids=[parent.id])
        committed = c.experiments.create("fuzz committed")
        variation = c.variations.create(committed.id, config_json={"lr": 0.1})
        c.experiments.commit(committed.id)
        run = c.runs.create(variation.id)
        c.runs.start(run.id)
        body = b"fuzz"
        presigned = c.assets.create(
            kind="checkpoint",
            name="fuzz ckpt",
            run_id=run.id,
            components=[
                {"name": "model.bin", "size": len(body), "sha256": hashlib.sha256(body).hexdigest()}
            ],
        )
        report = c.assets.create_inline(
            kind="research_report", name="fuzz report", content="fuzzing notes"
        )
        self.ids: dict[str, list[str]] = {
            "experiment_id": [parent.id, draft.id, committed.id],
            "variation_id": [variation.id],
            "run_id": [run.id],
            "asset_id": [presigned.asset.id, report.id],
        }

    def path_parameters(self, operation: Any) -> st.SearchStrategy[dict[str, str]]:
        names = [p.name for p in operation.path_parameters]
        return st.fixed_dictionaries({n: st.sampled_from(self.ids[n]) for n in names})


@pytest.fixture(scope="module")
def fakes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, FakeChronicle]]:
    """The fake on each of its stores: in memory, and SQLite as the dev server keeps it."""
    data_dir = tmp_path_factory.mktemp("fuzz-sqlite")
    with (
        FakeChronicle.in_process() as memory,
        FakeChronicle.in_process(data_dir=data_dir) as sqlite,
    ):
        yield {"memory": memory, "sqlite": sqlite}


@pytest.fixture(scope="module")
def schemas(fakes: dict[str, FakeChronicle]) -> dict[str, Any]:
    loaded = {}
    for store, fake in fakes.items():
        schema = schemathesis.openapi.from_asgi("/openapi.json", fake.app)
        # Each case is sent with the principal's real token (see below). Left on, negative
        # generation would strip that header from half the cases, spending them on 401s
        # that test_auth_every_route.py already covers route by route.
        schema.config.generation.update(with_security_parameters=False)
        loaded[store] = schema
    return loaded


def _operations(schema: Any) -> list[Any]:
    return [result.ok() for result in schema.get_all_operations()]


def test_schema_covers_every_chronicle_route(
    fakes: dict[str, FakeChronicle], schemas: dict[str, Any]
) -> None:
    """The fuzzer only reaches what the document lists: it must list every route."""
    fake, schema = fakes["memory"], schemas["memory"]
    declared = {(op.method.upper(), op.path) for op in _operations(schema)}
    routed = _route_names(fake.app)
    assert routed, "no Chronicle routes found"
    assert set(routed) == declared
    assert set(routed.values()) == set(READERS)


@pytest.mark.parametrize(
    ("principal", "store"),
    [*((p, "memory") for p in PRINCIPALS), ("researcher", "sqlite")],
)
def test_fuzz_every_operation(
    fakes: dict[str, FakeChronicle],
    schemas: dict[str, Any],
    principal: str,
    store: str,
    figures: Any,
) -> None:
    fake, schema = fakes[store], schemas[store]
    seeded = Seeded(fake)
    auth = {"Authorization": f"Bearer {fake.token(principal)}"}
    checks = [
        *_checks(),
        check_detail_on_4xx,
        check_request_id,
        _sdk_reader_check(_route_names(fake.app)),
    ]
    sent = 0
    statuses: dict[int, int] = {}
    # Undeclared statuses are gathered rather than raised at once, so one run
    # reports every gap in the document instead of the first one hypothesis meets.
    undeclared: set[str] = set()

    for operation in _operations(schema):
        strategies = [
            operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
            seeded.path_parameters(operation).flatmap(
                lambda ids, op=operation: op.as_strategy(
                    generation_mode=GenerationMode.POSITIVE, path_parameters=ids
                )
            ),
            operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
            seeded.path_parameters(operation).flatmap(
                lambda ids, op=operation: op.as_strategy(
                    generation_mode=GenerationMode.NEGATIVE, path_parameters=ids
                )
            ),
        ]

        @settings(
            max_examples=EXAMPLES * len(strategies),
            deadline=None,
            database=None,
            phases=[Phase.generate, Phase.shrink],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=st.one_of(strategies))
        def run(case: Any) -> None:
            nonlocal sent
            response = case.call(headers=auth)
            sent += 1
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            case.validate_response(response, checks=checks, headers=auth)
            try:
                case.validate_response(response, checks=[st_checks.status_code_conformance])
            except FailureGroup:
                undeclared.add(f"{case.operation.label} -> {response.status_code}")

        run()

    figures.add("fuzz cases sent", sent)
    figures.add(f"fuzz cases sent as {principal} ({store} store)", sent)
    print(
        f"fuzzed {sent} cases as {principal} ({store}): statuses {dict(sorted(statuses.items()))}"
    )
    assert sent >= len(_operations(schema)) * EXAMPLES
    # The fuzz must get past authentication and validation, or it proves little.
    assert any(200 <= s < 300 for s in statuses), statuses
    assert not undeclared, "statuses the OpenAPI document does not declare:\n" + "\n".join(
        sorted(undeclared)
    )
