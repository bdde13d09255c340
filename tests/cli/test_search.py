"""`methodic search QUERY`: ranked hits with snippets; 503 when search is not configured."""

from __future__ import annotations

from methodic import Chronicle
from methodic_fake.harness import FakeChronicle

from .conftest import CLI, World

REPORT = "# Warmup and loss spikes\nA 500-step warmup removed the loss spikes entirely."


def test_hits_with_snippets_and_json(cli: CLI, researcher: Chronicle, world: World) -> None:
    doc = researcher.assets.create_inline(
        kind="research_report", name="warmup-findings", content=REPORT, experiment_id=world.exp_id
    )
    out = cli("search", "loss spikes").ok().out
    lines = out.splitlines()
    assert lines[0] == "1 hit(s) for 'loss spikes'"
    assert lines[2].startswith("1. warmup-findings  (score ")
    assert lines[3].split() == ["research_report", doc.id, "experiment", world.exp_id]
    assert "spikes" in lines[4]
    narrow = cli("search", "loss spikes", env={"COLUMNS": "60"}).ok().out.splitlines()
    assert narrow[3:5] == [f"   research_report {doc.id}", f"   experiment {world.exp_id}"]

    data = cli("--json", "search", "loss spikes", "--type", "research_report").ok().json()
    assert data["total"] == 1
    [hit] = data["results"]
    assert hit["type"] == "research_report"
    assert doc.id in (hit["id"], hit["asset_id"])


def test_no_hits_says_what_search_indexes(cli: CLI, researcher: Chronicle, world: World) -> None:
    # An output asset's text is not indexed: finding nothing must say so, not look like a bad query.
    researcher.assets.create_inline(
        kind="output", name="notes", content=REPORT, experiment_id=world.exp_id
    )
    assert cli("search", "loss spikes").ok().out == (
        "no hits for 'loss spikes': search indexes ready research_report assets (by title "
        "and text) and ready arxiv assets (by title and metadata.abstract); nothing else\n"
    )
    assert cli("--json", "search", "loss spikes").ok().json()["total"] == 0
    assert "ready research_report" in cli("search", "--help").ok().out
    assert "invalid choice" in cli("search", "x", "--type", "pdf").failed(2)


def test_unconfigured_search_is_the_503_message(cli: CLI, fake: FakeChronicle) -> None:
    fake.search_configured = False
    assert cli("search", "warmup").failed() == "server error: search is not configured"
    assert cli("search", "warmup", "--json").failed() == "server error: search is not configured"
