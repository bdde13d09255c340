"""Full-text search over research reports and arxiv assets; 503 when unconfigured."""

from __future__ import annotations

import pytest

from methodic import BadRequestError, Chronicle, ServerError
from methodic_fake import FakeChronicle


@pytest.fixture
def corpus(researcher: Chronicle) -> dict[str, str]:
    exp = researcher.experiments.create("t")
    made = {
        "warmup": researcher.assets.create_inline(
            kind="research_report",
            name="Learning rate warmup",
            experiment_id=exp.id,
            content=(
                "We compare linear warmup against no warmup. Warmup of the learning rate "
                "stabilises early training; without warmup the loss diverges at step 300. "
                + "Filler text about unrelated things. "
                * 30
            ),
        ).id,
        "optim": researcher.assets.create_inline(
            kind="research_report",
            name="Optimizer notes",
            experiment_id=exp.id,
            content="Adam with a cosine schedule; the learning rate peaks at 3e-4.",
        ).id,
        "arxiv": researcher.assets.create_inline(
            kind="arxiv",
            name="1706.03762",
            experiment_id=exp.id,
            content="",
            metadata={
                "arxiv_id": "1706.03762",
                "title": "Attention Is All You Need",
                "abstract": "The Transformer uses warmup of the learning rate followed by decay.",
            },
        ).id,
        "env": researcher.assets.create_inline(
            kind="environment", name="warmup env", experiment_id=exp.id, content="warmup warmup"
        ).id,
    }
    pending = researcher.assets.create(
        kind="research_report",
        name="pending warmup",
        experiment_id=exp.id,
        components=[{"name": "content", "size": 1, "sha256": "0" * 64}],
    )
    made["pending"] = pending.asset.id
    return made


def test_ranking_prefers_the_document_about_the_query(
    researcher: Chronicle, corpus: dict[str, str]
) -> None:
    response = researcher.search.query("warmup")
    assert response.query == "warmup"
    ids = [r.asset_id for r in response.results]
    # Only ready research reports and arxiv assets are indexed.
    assert set(ids) == {corpus["warmup"], corpus["arxiv"]}
    assert ids[0] == corpus["warmup"]  # title + body match beats an abstract mention
    assert response.results[0].score > response.results[1].score > 0
    assert response.total == 2


def test_result_fields_and_snippets(researcher: Chronicle, corpus: dict[str, str]) -> None:
    [paper] = researcher.search.query("transformer").results
    assert (paper.type, paper.id, paper.title) == (
        "arxiv",
        "1706.03762",
        "Attention Is All You Need",
    )
    assert paper.snippet is not None and "Transformer" in paper.snippet
    [report] = researcher.search.query("diverges").results
    assert report.type == "research_report" and report.id == corpus["warmup"]
    assert report.snippet is not None and "diverges" in report.snippet
    assert len(report.snippet) <= 170
    assert report.experiment_id is not None


def test_types_filter_and_limit(researcher: Chronicle, corpus: dict[str, str]) -> None:
    assert [r.type for r in researcher.search.query("learning rate", types=["arxiv"]).results] == [
        "arxiv"
    ]
    docs = researcher.search.query("learning rate", types=["research_report"])
    assert {r.type for r in docs.results} == {"research_report"} and docs.total == 2
    limited = researcher.search.query("learning rate", limit=1)
    assert len(limited.results) == 1 and limited.total == 3
    with pytest.raises(BadRequestError):
        researcher.search.query("x", types=["papers"])


def test_a_hits_type_is_the_kind_of_its_asset(
    researcher: Chronicle, corpus: dict[str, str]
) -> None:
    # One name everywhere: the kind an asset is created with is the type it is found as.
    for hit in researcher.search.query("learning rate warmup").results:
        assert hit.asset_id is not None
        assert hit.type == researcher.assets.get(hit.asset_id).kind
    with pytest.raises(BadRequestError) as info:
        researcher.search.query("x", types=["research_doc"])
    assert info.value.message == (
        "unknown search types research_doc: search indexes ready assets of the kinds "
        "research_report, arxiv, and a hit's type is its asset's kind"
    )


def test_no_match_and_stopwords(researcher: Chronicle, corpus: dict[str, str]) -> None:
    assert researcher.search.query("zebra").total == 0
    assert researcher.search.query("the of and").total == 0


def test_503_when_not_configured(fake: FakeChronicle, researcher: Chronicle) -> None:
    fake.search_configured = False
    with pytest.raises(ServerError) as info:
        researcher.search.query("warmup")
    assert info.value.status_code == 503
    assert info.value.body == {"detail": "search is not configured"}
    fake.search_configured = True
    assert researcher.search.query("warmup").total == 0


def test_fresh_fake_has_search_on_after_reset(fake: FakeChronicle) -> None:
    # The previous test turned search off; the per-test reset turns it back on.
    assert fake.search_configured is True
