"""chronicle.experiments: every method's request and response parsing."""

from __future__ import annotations

import pytest

from methodic import Chronicle, ChronicleError, ResponseValidationError, types

from .scripted import API_KEY, EXPERIMENT, VARIATION, ScriptedAPI, body_of


def _page(*ids: str, cursor: str | None = None) -> dict[str, object]:
    return {"items": [{**EXPERIMENT, "id": i} for i in ids], "next_cursor": cursor}


def test_create_minimal(api: ScriptedAPI, chronicle: Chronicle) -> None:
    api.route("POST", "/experiments", status=201, json={**EXPERIMENT, "future_field": 1})
    exp = chronicle.experiments.create("lr sweep")
    assert isinstance(exp, types.Experiment) and exp.id == "e1"
    assert body_of(api.last) == {"title": "lr sweep"}
    assert "idempotency-key" not in api.last.headers
    assert api.last.headers["Authorization"] == f"Bearer {API_KEY}"


def test_create_full_with_idempotency_key(api: ScriptedAPI, chronicle: Chronicle) -> None:
    api.route("POST", "/experiments", status=201, json=EXPERIMENT)
    chronicle.experiments.create(
        "lr sweep",
        hypothesis="h",
        description="d",
        parent_ids=("p1", "p2"),
        tags=["a"],
        idempotency_key="key-1",
    )
    assert body_of(api.last) == {
        "title": "lr sweep",
        "hypothesis": "h",
        "description": "d",
        "parent_ids": ["p1", "p2"],
        "tags": ["a"],
    }
    assert api.last.headers["Idempotency-Key"] == "key-1"


def test_get_returns_detail(api: ScriptedAPI, chronicle: Chronicle) -> None:
    api.route(
        "GET",
        "/experiments/e1",
        json={**EXPERIMENT, "variations": [VARIATION], "run_counts": {"running": 1}},
    )
    detail = chronicle.experiments.get("e1")
    assert isinstance(detail, types.ExperimentDetail)
    assert detail.variations[0] == types.Variation.from_dict(VARIATION)
    assert detail.run_counts == {"running": 1}
    assert api.last.method == "GET" and api.last.content == b""


def test_list_sends_filters_and_returns_one_page(api: ScriptedAPI, chronicle: Chronicle) -> None:
    api.route("GET", "/experiments", json=_page("e1", "e2", cursor="c2"))
    page = chronicle.experiments.list(state="committed", tag="nlp", parent_id="p1", limit=2)
    assert [e.id for e in page.items] == ["e1", "e2"]
    assert page.next_cursor == "c2"
    assert dict(api.last.url.params) == {
        "state": "committed",
        "tag": "nlp",
        "parent_id": "p1",
        "limit": "2",
    }
    chronicle.experiments.list(cursor="c2")
    assert dict(api.last.url.params) == {"cursor": "c2"}


def test_iterating_a_list_walks_cursors_lazily(api: ScriptedAPI, chronicle: Chronicle) -> None:
    pages = {None: _page("e1", "e2", cursor="c2"), "c2": _page("e3", cursor=None)}

    def reply(request):  # type: ignore[no-untyped-def]
        import httpx2

        return httpx2.Response(200, json=pages[request.url.params.get("cursor")])

    api.route("GET", "/experiments", reply=reply)
    page = chronicle.experiments.list(state="draft", limit=2)
    assert len(api.requests) == 1  # list() fetches the first page only
    walker = iter(page)
    assert [next(walker).id, next(walker).id] == ["e1", "e2"]
    assert len(api.requests) == 1  # the next page is fetched when the first runs out
    assert [e.id for e in walker] == ["e3"]
    assert [dict(r.url.params) for r in api.requests] == [
        {"state": "draft", "limit": "2"},
        {"state": "draft", "limit": "2", "cursor": "c2"},
    ]
    # A second walk starts over (the first page is kept, later ones are fetched again).
    assert [e.id for e in page] == ["e1", "e2", "e3"]
    assert len(api.requests) == 3


def test_walking_page_by_page(api: ScriptedAPI, chronicle: Chronicle) -> None:
    pages = {None: _page("e1", "e2", cursor="c2"), "c2": _page("e3", cursor=None)}

    def reply(request):  # type: ignore[no-untyped-def]
        import httpx2

        return httpx2.Response(200, json=pages[request.url.params.get("cursor")])

    api.route("GET", "/experiments", reply=reply)
    first = chronicle.experiments.list()
    assert first.has_next_page()
    second = first.next_page()
    assert [e.id for e in second.items] == ["e3"] and second.next_cursor is None
    assert not second.has_next_page()
    with pytest.raises(ChronicleError, match="last page"):
        second.next_page()
    assert [[e.id for e in p.items] for p in first.iter_pages()] == [["e1", "e2"], ["e3"]]
    assert first.to_dict()["next_cursor"] == "c2"


def test_list_refuses_a_server_that_repeats_a_cursor(
    api: ScriptedAPI, chronicle: Chronicle
) -> None:
    # A buggy server or proxy answering the same cursor again would otherwise make
    # iteration loop forever, yielding the same items.
    pages = {None: _page("e1", cursor="c1"), "c1": _page("e2", cursor="c1")}

    def reply(request):  # type: ignore[no-untyped-def]
        import httpx2

        return httpx2.Response(200, json=pages[request.url.params.get("cursor")])

    api.route("GET", "/experiments", reply=reply)
    seen = []
    with pytest.raises(ResponseValidationError, match="repeated cursor"):
        for exp in chronicle.experiments.list():
            seen.append(exp.id)
    assert seen == ["e1", "e2"]
    assert len(api.requests) == 2


def test_update_sends_only_given_fields(api: ScriptedAPI, chronicle: Chronicle) -> None:
    api.route("PATCH", "/experiments/e1", json={**EXPERIMENT, "title": "new"})
    exp = chronicle.experiments.update("e1", title="new", tags=["x"])
    assert exp.title == "new"
    assert body_of(api.last) == {"title": "new", "tags": ["x"]}


def test_commit(api: ScriptedAPI, chronicle: Chronicle) -> None:
    api.route("POST", "/experiments/e1/commit", json={**EXPERIMENT, "state": "committed"})
    assert chronicle.experiments.commit("e1").state == "committed"
    assert api.last.content == b""


def test_conclude(api: ScriptedAPI, chronicle: Chronicle) -> None:
    done = {**EXPERIMENT, "state": "concluded", "conclusion": "lr matters"}
    api.route("POST", "/experiments/e1/conclude", json=done)
    assert chronicle.experiments.conclude("e1", conclusion="lr matters").conclusion == "lr matters"
    assert body_of(api.last) == {"conclusion": "lr matters"}


def test_retract(api: ScriptedAPI, chronicle: Chronicle) -> None:
    gone = {**EXPERIMENT, "state": "retracted", "retraction_reason": "bug"}
    api.route("POST", "/experiments/e1/retract", json=gone)
    assert chronicle.experiments.retract("e1", reason="bug").state == "retracted"
    assert body_of(api.last) == {"reason": "bug"}


def test_lineage(api: ScriptedAPI, chronicle: Chronicle) -> None:
    api.route(
        "GET",
        "/experiments/e1/lineage",
        json={
            "root_id": "e1",
            "nodes": [
                {"id": "e1", "title": "t", "state": "draft", "relation": "root", "depth": 0},
                {"id": "p", "title": "p", "state": "concluded", "relation": "ancestor", "depth": 1},
            ],
            "edges": [{"parent_id": "p", "child_id": "e1"}],
        },
    )
    lineage = chronicle.experiments.lineage("e1", direction="ancestors", depth=3)
    assert lineage.root_id == "e1"
    assert [n.relation for n in lineage.nodes] == ["root", "ancestor"]
    assert lineage.edges == [types.LineageEdge("p", "e1")]
    assert dict(api.last.url.params) == {"direction": "ancestors", "depth": "3"}
    chronicle.experiments.lineage("e1")
    assert dict(api.last.url.params) == {"direction": "both"}
