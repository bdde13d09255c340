"""Notebook display: every researcher-facing object renders, escapes, and sends nothing.

Against the real fake (in-process), with every request the client sends counted, so
"display never sends a request" is measured rather than assumed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from IPython.lib.pretty import pretty

from methodic import Chronicle, Experiment, Run, Variation, types
from methodic_fake import FakeChronicle

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@dataclass
class World:
    fake: FakeChronicle
    researcher: Chronicle
    sent: list[str] = field(default_factory=list)
    ids: dict[str, str] = field(default_factory=dict)


@pytest.fixture
def world() -> Iterator[World]:
    with FakeChronicle.in_process() as fake:
        researcher = fake.client("researcher")
        w = World(fake, researcher)
        base = researcher.experiments.create("baseline", tags=[HOSTILE])
        researcher.experiments.commit(base.id)
        exp = researcher.experiments.create(
            HOSTILE, hypothesis=HOSTILE, parent_ids=[base.id], tags=["sweep"]
        )
        researcher.experiments.commit(exp.id)
        variation = researcher.variations.create(exp.id, config={"lr": 0.1, "note": HOSTILE})
        run = researcher.runs.create(variation.id)
        worker = fake.client("worker")
        worker.runs.start(run.id, environment={"host": HOSTILE})
        worker.runs.heartbeat(run.id, progress={"step": 3, "loss": 0.25, "msg": HOSTILE})
        asset = researcher.assets.create_inline(
            kind="research_report",
            name=HOSTILE,
            content="warmup stabilises training " + HOSTILE,
            experiment_id=exp.id,
            metadata={"why": HOSTILE},
        )
        w.ids = {
            "base": base.id,
            "exp": exp.id,
            "variation": variation.id,
            "run": run.id,
            "asset": asset.id,
        }
        # From here on, every request this client sends is recorded.
        http = researcher.transport.http_client
        http.event_hooks = {"request": [lambda r: w.sent.append(f"{r.method} {r.url.path}")]}
        yield w


def _assert_safe(markup: str) -> None:
    """No hostile markup survived: only its escaped text is there."""
    assert "<script" not in markup and "<img" not in markup
    assert "onerror=alert" not in markup or "&lt;img src=x onerror=alert(1)&gt;" in markup


def _responses(w: World) -> dict[str, Any]:
    r = w.researcher
    ids = w.ids
    return {
        "experiment": r.experiments.list(tag="sweep").items[0],
        "detail": r.experiments.get(ids["exp"]),
        "variation": r.variations.get(ids["variation"]),
        "run": r.runs.get(ids["run"]),
        "asset": r.assets.get(ids["asset"]),
        "search": r.search.query("warmup"),
        "lineage": r.experiments.lineage(ids["exp"]),
        "page": r.runs.list(),
        "experiments page": r.experiments.list(limit=1),
    }


def test_every_response_renders_escaped_html_without_a_request(world: World) -> None:
    objects = _responses(world)
    assert objects["search"].results, "the search fixture found nothing"
    before = list(world.sent)
    for name, obj in objects.items():
        markup = obj._repr_html_()
        assert markup.startswith("<div"), name
        _assert_safe(markup)
        assert "&lt;script&gt;alert(" in markup, name  # shown, as text
        repr(obj), pretty(obj)
    assert world.sent == before


def test_a_table_row_per_item_and_how_to_get_more(world: World) -> None:
    r = world.researcher
    first = r.experiments.list(limit=1)
    markup = first._repr_html_()
    assert markup.count("<tr>") == 2  # the header and one experiment
    assert "more on the server" in markup and ".next_page()" in markup
    assert ".to_pandas()" in markup
    last = r.experiments.list()
    assert "the last page" in last._repr_html_()
    empty = r.runs.list(state="failed")
    assert "no items" in empty._repr_html_()
    offline = types.Page.from_dict({"items": [], "next_cursor": "c9"}, types.Run)
    assert "cannot fetch" in offline._repr_html_()


def test_the_run_table_shows_state_and_progress(world: World) -> None:
    markup = world.researcher.runs.list()._repr_html_()
    headers = re.findall(r"<th [^>]*>([^<]*)</th>", markup)
    assert headers == [
        "id",
        "variation_id",
        "state",
        "failure_reason",
        "progress",
        "last_heartbeat_at",
    ]
    assert ">running</span>" in markup
    assert "&quot;loss&quot;: 0.25" in markup  # compact JSON, escaped


def test_lineage_html_holds_the_svg_picture(world: World) -> None:
    lineage = world.researcher.experiments.lineage(world.ids["exp"])
    markup = lineage._repr_html_()
    assert lineage.to_svg() in markup
    assert "2 experiments, 1 link" in markup


def test_handles_show_their_cache_and_say_when_they_have_none(world: World) -> None:
    r = world.researcher
    exp, var, run = (
        Experiment(r, world.ids["exp"]),
        Variation(r, world.ids["variation"]),
        Run(r, world.ids["run"]),
    )
    for handle in (exp, var, run):
        assert repr(handle).endswith("(not fetched)>")
        assert "not fetched yet" in handle._repr_html_()
        assert pretty(handle).endswith("(not fetched)>")
    assert world.sent == []

    assert exp.state == "committed" and run.state == "running" and var.name is None
    fetched = len(world.sent)
    assert repr(exp) == f"<Experiment id={exp.id!r} title={HOSTILE!r} state='committed'>"
    assert repr(run) == f"<Run id={run.id!r} state='running'>"
    for handle in (exp, var, run):
        markup = handle._repr_html_()
        assert "cached: the last response" in markup
        _assert_safe(markup)
        assert f"cached:\n  {type(handle._peek()).__name__}(" in pretty(handle)
    assert len(world.sent) == fetched  # displaying the cache fetched nothing


def test_a_page_of_handles_is_a_table_of_their_cached_data(world: World) -> None:
    exp = Experiment(world.researcher, world.ids["exp"])
    page = exp.variations.list()
    sent = len(world.sent)
    markup = page._repr_html_()
    assert "Page of 1 Variation" in markup and "config_json" in markup
    _assert_safe(markup)
    assert len(world.sent) == sent
    assert repr(exp.variations) == f"<variations of Experiment {exp.id!r}: iterate, or .list()>"


def test_reprs_leave_unset_fields_out_and_hide_upload_urls(world: World) -> None:
    r = world.researcher
    run = r.runs.get(world.ids["run"])
    text = repr(run)
    assert text.startswith(f"Run(id={run.id!r}, variation_id=")
    assert "finished_at" not in text and "failure_reason" not in text
    assert "progress={'step': 3" in text
    presigned = r.assets.create(
        kind="checkpoint",
        name="ckpt",
        run_id=run.id,
        components=[{"name": "model.bin", "size": 1, "sha256": "0" * 64}],
    )
    for shown in (repr(presigned), pretty(presigned), presigned._repr_html_()):
        assert "signature" not in shown and "upload_urls" not in shown
    page = r.experiments.list()
    assert repr(page).startswith("Page([Experiment(") and "next_cursor=None" in repr(page)
    many = types.Page([run] * 5, "c2")
    assert repr(many).endswith(", ... 2 more], next_cursor='c2')")
    assert pretty(many).startswith("Page of 5 Runs; next_cursor 'c2' (this page cannot fetch it)")
