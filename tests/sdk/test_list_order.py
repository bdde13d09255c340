"""Every list takes `order`: sent as given (and on every later page), left to the server's
default (newest first) when not given."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx2
import pytest

from methodic import Chronicle, Experiment, Variation

from .scripted import EXPERIMENT, ScriptedAPI

LISTS: dict[str, tuple[str, Callable[..., Any]]] = {
    "experiments": ("/experiments", lambda c, **kw: c.experiments.list(**kw)),
    "variations": ("/experiments/e1/variations", lambda c, **kw: c.variations.list("e1", **kw)),
    "runs": ("/runs", lambda c, **kw: c.runs.list(**kw)),
    "assets": ("/assets", lambda c, **kw: c.assets.list(**kw)),
    "experiment handle": (
        "/experiments/e1/variations",
        lambda c, **kw: Experiment(c, "e1").variations.list(**kw),
    ),
    "variation handle": ("/runs", lambda c, **kw: Variation(c, "v1").runs.list(**kw)),
}


@pytest.mark.parametrize("name", LISTS)
def test_order_is_sent_on_every_page_and_only_when_given(
    api: ScriptedAPI, chronicle: Chronicle, name: str
) -> None:
    path, call = LISTS[name]
    pages = {
        None: {"items": [], "next_cursor": "c2"},
        "c2": {"items": [], "next_cursor": None},
    }
    api.route(
        "GET",
        path,
        reply=lambda request: httpx2.Response(200, json=pages[request.url.params.get("cursor")]),
    )
    list(call(chronicle, order="asc"))
    assert [r.url.params.get("order") for r in api.requests] == ["asc", "asc"]
    call(chronicle)
    assert "order" not in api.last.url.params  # the server's default: newest first


def test_a_page_keeps_the_order_it_was_listed_in(api: ScriptedAPI, chronicle: Chronicle) -> None:
    items = [{**EXPERIMENT, "id": f"e{i}"} for i in range(3)]
    api.route("GET", "/experiments", json={"items": items, "next_cursor": None})
    assert [e.id for e in chronicle.experiments.list(order="desc")] == ["e0", "e1", "e2"]
