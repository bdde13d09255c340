"""chronicle.search: query parameters and result parsing."""

from __future__ import annotations

from methodic import Chronicle, types

from .scripted import ScriptedAPI

RESPONSE = {
    "query": "attention",
    "total": 1,
    "results": [
        {
            "type": "arxiv",
            "id": "1706.03762",
            "title": "Attention Is All You Need",
            "snippet": "…",
            "score": 3.2,
            "asset_id": "a9",
            "ranker": "bm25",
        }
    ],
}


def test_query(api: ScriptedAPI, chronicle: Chronicle) -> None:
    api.route("GET", "/search", json=RESPONSE)
    out = chronicle.search.query("attention", types=["research_report", "arxiv"], limit=5)
    assert isinstance(out, types.SearchResponse)
    assert out.total == 1 and out.results[0].asset_id == "a9"
    assert dict(api.last.url.params) == {
        "q": "attention",
        "types": "research_report,arxiv",
        "limit": "5",
    }


def test_query_defaults_and_string_types(api: ScriptedAPI, chronicle: Chronicle) -> None:
    api.route("GET", "/search", json=RESPONSE)
    chronicle.search.query("attention")
    assert dict(api.last.url.params) == {"q": "attention"}
    chronicle.search.query("attention", types="arxiv")
    assert dict(api.last.url.params) == {"q": "attention", "types": "arxiv"}
