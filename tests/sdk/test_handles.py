"""Experiment and Variation handles: lazy fetch, caching, invalidation, chaining."""

from __future__ import annotations

import dataclasses
import threading

import httpx2
import pytest

from methodic import Chronicle, ConflictError, Experiment, Run, Variation, types

from .scripted import EXPERIMENT, RUN, VARIATION, ScriptedAPI, body_of

DETAIL = {**EXPERIMENT, "variations": [VARIATION], "run_counts": {"pending": 1}}


@pytest.fixture(autouse=True)
def _routes(api: ScriptedAPI) -> None:
    state = {"exp": dict(DETAIL)}

    def commit(_req: httpx2.Request) -> httpx2.Response:
        state["exp"] = {**state["exp"], "state": "committed", "committed_at": "t1"}
        return httpx2.Response(200, json=state["exp"])

    api.route("GET", "/experiments/e1", reply=lambda _r: httpx2.Response(200, json=state["exp"]))
    api.route("POST", "/experiments/e1/commit", reply=commit)
    api.route("POST", "/experiments/e1/variations", status=201, json={**VARIATION, "id": "v2"})
    api.route("GET", "/variations/v1", json={**VARIATION, "name": "low"})
    api.route("POST", "/variations/v1/runs", status=201, json=RUN)


def test_construct_from_id_sends_nothing(api: ScriptedAPI, chronicle: Chronicle) -> None:
    exp = Experiment(chronicle, "e1")
    assert exp.id == "e1"
    assert repr(exp) == "<Experiment id='e1' (not fetched)>"
    assert api.requests == []


def test_first_read_fetches_then_caches(api: ScriptedAPI, chronicle: Chronicle) -> None:
    exp = Experiment(chronicle, "e1")
    assert exp.state == "draft"
    assert exp.title == "lr sweep" and exp.run_counts == {"pending": 1}
    assert api.count("GET", "/experiments/e1") == 1
    assert repr(exp) == "<Experiment id='e1' title='lr sweep' state='draft'>"


def _expected(field: dataclasses.Field[object], wire: dict[str, object]) -> object:
    """What a handle attribute must return: the wire value, else the field's default."""
    if field.name in wire:
        return wire[field.name]
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return field.default


def test_every_dataclass_field_is_an_attribute(api: ScriptedAPI, chronicle: Chronicle) -> None:
    cases = [
        (Experiment(chronicle, "e1"), types.ExperimentDetail, DETAIL),
        (Run(chronicle, types.Run.from_dict(RUN)), types.Run, RUN),
        (Variation(chronicle, "v1"), types.Variation, {**VARIATION, "name": "low"}),
    ]
    for handle, model, wire in cases:
        for f in dataclasses.fields(model):
            if f.name == "variations":  # on a handle, the sub-namespace (.create, .list)
                continue
            assert getattr(handle, f.name) == _expected(f, wire), (model.__name__, f.name)


def test_mutation_invalidates_and_chains(api: ScriptedAPI, chronicle: Chronicle) -> None:
    exp = Experiment(chronicle, "e1")
    assert exp.committed_at is None
    variation = exp.commit().variations.create(config_yaml="lr: 0.1")
    assert isinstance(variation, Variation) and variation.id == "v2"
    assert body_of(api.last) == {"config_yaml": "lr: 0.1"}
    assert api.count("GET", "/experiments/e1") == 1  # nothing re-read yet
    assert exp.committed_at == "t1"
    assert exp.state == "committed"
    assert api.count("GET", "/experiments/e1") == 2  # exactly one re-fetch
    assert api.count("POST", "/experiments/e1/commit") == 1


def test_failed_mutation_also_invalidates(api: ScriptedAPI, chronicle: Chronicle) -> None:
    api.route("POST", "/experiments/e1/retract", status=409, json={"detail": "draft"})
    exp = Experiment(chronicle, "e1")
    _ = exp.state
    with pytest.raises(ConflictError):
        exp.retract("why")
    _ = exp.state
    assert api.count("GET", "/experiments/e1") == 2


def test_other_mutations_return_self(api: ScriptedAPI, chronicle: Chronicle) -> None:
    api.route("PATCH", "/experiments/e1", json=EXPERIMENT)
    api.route("POST", "/experiments/e1/conclude", json=EXPERIMENT)
    api.route("POST", "/experiments/e1/retract", json=EXPERIMENT)
    exp = Experiment(chronicle, "e1")
    assert exp.update(title="n") is exp
    assert body_of(api.last) == {"title": "n"}
    assert exp.conclude("done") is exp
    assert body_of(api.last) == {"conclusion": "done"}
    assert exp.retract("bug") is exp
    assert body_of(api.last) == {"reason": "bug"}
    assert exp.refresh() is exp


def test_built_from_dataclass_needs_no_fetch(api: ScriptedAPI, chronicle: Chronicle) -> None:
    exp = Experiment(chronicle, types.Experiment.from_dict(EXPERIMENT))
    assert exp.state == "draft"
    assert api.requests == []
    # run_counts only exists on the detail response, so that one read fetches.
    assert exp.run_counts == {"pending": 1}
    assert api.count("GET", "/experiments/e1") == 1
    assert isinstance(exp.data, types.ExperimentDetail)


def test_refresh_drops_cache(api: ScriptedAPI, chronicle: Chronicle) -> None:
    exp = Experiment(chronicle, "e1")
    _ = exp.state
    _ = exp.refresh().state
    assert api.count("GET", "/experiments/e1") == 2


def test_caches_are_per_handle(api: ScriptedAPI, chronicle: Chronicle) -> None:
    a, b = Experiment(chronicle, "e1"), Experiment(chronicle, "e1")
    _ = a.state, b.state
    assert api.count("GET", "/experiments/e1") == 2
    assert a == b and hash(a) == hash(b)
    assert a != Variation(chronicle, "e1")


def test_a_fetch_overtaken_by_a_mutation_is_not_cached(
    api: ScriptedAPI, chronicle: Chronicle
) -> None:
    # Thread A's GET is answered with pre-commit data, but only after the main
    # thread's commit invalidated the cache: that stale answer must not be kept.
    exp = Experiment(chronicle, "e1")
    in_get, release = threading.Event(), threading.Event()
    snapshot = dict(DETAIL)

    def slow_get(_req: httpx2.Request) -> httpx2.Response:
        in_get.set()
        release.wait(5)
        return httpx2.Response(200, json=snapshot)

    api.route("GET", "/experiments/e1", reply=slow_get)
    seen: list[str] = []
    reader = threading.Thread(target=lambda: seen.append(exp.state))
    reader.start()
    assert in_get.wait(5)
    exp.commit()
    release.set()
    reader.join(5)
    assert seen == ["draft"]  # A saw what its own request returned...
    api.route(
        "GET",
        "/experiments/e1",
        reply=lambda _r: httpx2.Response(200, json={**DETAIL, "state": "committed"}),
    )
    assert exp.state == "committed"  # ...but the cache was not poisoned by it


def test_concurrent_first_reads_are_consistent(api: ScriptedAPI, chronicle: Chronicle) -> None:
    exp = Experiment(chronicle, "e1")
    seen: list[str] = []
    threads = [threading.Thread(target=lambda: seen.append(exp.state)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == ["draft"] * 8
    _ = exp.state
    assert api.count("GET", "/experiments/e1") <= 8


def test_constructor_rejects_wrong_types(chronicle: Chronicle) -> None:
    with pytest.raises(TypeError, match="Experiment"):
        Experiment(chronicle, types.Variation.from_dict(VARIATION))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Experiment(chronicle, "")


def test_experiment_create_and_lineage(api: ScriptedAPI, chronicle: Chronicle) -> None:
    api.route("POST", "/experiments", status=201, json=EXPERIMENT)
    api.route(
        "GET",
        "/experiments/e1/lineage",
        json={"root_id": "e1", "nodes": [], "edges": []},
    )
    exp = Experiment.create(chronicle, "lr sweep", tags=["a"], idempotency_key="k")
    assert api.last.headers["Idempotency-Key"] == "k"
    assert exp.state == "draft" and api.count("GET", "/experiments/e1") == 0
    lineage = exp.lineage(direction="descendants", depth=1)
    assert isinstance(lineage, types.LineageResponse)
    assert dict(api.last.url.params) == {"direction": "descendants", "depth": "1"}


def test_variation_handles_from_experiment(api: ScriptedAPI, chronicle: Chronicle) -> None:
    page = {"items": [VARIATION, {**VARIATION, "id": "v2"}], "next_cursor": None}
    api.route("GET", "/experiments/e1/variations", json=page)
    exp = Experiment(chronicle, "e1")
    listed = exp.variations.list(limit=10)
    assert [v.id for v in listed] == ["v1", "v2"]
    assert all(isinstance(v, Variation) for v in listed)
    assert [v.id for v in exp.variations] == ["v1", "v2"]
    assert listed.items[0].experiment_id == "e1"  # served from the listed data
    assert api.count("GET", "/variations/v1") == 0


def test_variation_handle(api: ScriptedAPI, chronicle: Chronicle) -> None:
    v = Variation(chronicle, "v1")
    assert repr(v) == "<Variation id='v1' (not fetched)>"
    assert v.name == "low" and v.config_json == {}
    assert repr(v) == "<Variation id='v1' name='low'>"
    assert v.experiment == Experiment(chronicle, "e1")
    run = v.runs.create(idempotency_key="k2")
    assert isinstance(run, Run) and run.id == "r1" and run.state == "pending"
    assert api.last.headers["Idempotency-Key"] == "k2"
    assert api.count("GET", "/runs/r1") == 0


def test_variation_runs_list_and_iter(api: ScriptedAPI, chronicle: Chronicle) -> None:
    api.route("GET", "/runs", json={"items": [RUN], "next_cursor": None})
    v = Variation(chronicle, "v1")
    assert [r.id for r in v.runs.list()] == ["r1"]
    assert [r.id for r in v.runs] == ["r1"]
    assert dict(api.last.url.params) == {"variation_id": "v1"}


def test_to_dict_reads_the_cache(api: ScriptedAPI, chronicle: Chronicle) -> None:
    exp = Experiment(chronicle, "e1")
    assert exp.to_dict()["run_counts"] == {"pending": 1}
