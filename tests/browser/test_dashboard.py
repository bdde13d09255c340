"""The dashboard in a real browser: what a developer sees, and what its controls do.

Each test opens pages of a seeded fake (see seed.py) in headless Chromium, reads
them as a person would (by visible text and roles), and checks the fake itself
after every control. Pages update in place: a marker set on `window` before a
change must survive it, proving no full reload happened.
"""

from __future__ import annotations

import re
from typing import Any

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture skips these tests and says why
    expect = None

from methodic_fake import FakeChronicle

from .seed import World

UI = "/_fake/ui"
# The dashboard refreshes every 2 s; allow for a loaded 2-core machine.
LIVE = 15_000
if expect is not None:
    # Playwright's 5 s default is tight when the whole suite shares two cores.
    expect.set_options(timeout=10_000)


def _mark(page: Any) -> None:
    page.evaluate("window.__noReload = true")


def _not_reloaded(page: Any) -> None:
    assert page.evaluate("window.__noReload === true"), "the page reloaded"


def _run_row(page: Any, run_id: str) -> Any:
    return page.locator(f'tr[data-run-id="{run_id}"]')


def test_root_leads_to_the_experiments_overview(
    page: Any, methodic_fake: FakeChronicle, world: World
) -> None:
    page.goto(methodic_fake.base_url + "/")
    assert page.url == methodic_fake.base_url + UI + "/"
    expect(page.get_by_role("heading", name="Experiments")).to_be_visible()
    rows = page.locator("table.experiments tbody tr")
    # Newest first.
    expect(rows).to_have_count(4)
    titles = [t.strip() for t in rows.locator("td:first-child a").all_inner_texts()]
    assert titles == ["optimizer bake-off", "lr sweep, warmup", "lr sweep", "baseline"]
    sweep = page.locator(f'tr[data-experiment-id="{world.sweep}"]')
    expect(sweep.locator(".label.state-committed")).to_have_text("committed")
    expect(sweep.locator(".tag")).to_have_text(["nlp", "sweep"])
    expect(sweep.locator("td.counts")).to_contain_text("1 failed")
    expect(sweep.locator("td.counts")).to_contain_text("2 running")
    expect(sweep.locator("td.counts")).to_contain_text("1 succeeded")
    draft = page.locator(f'tr[data-experiment-id="{world.warmup}"]')
    expect(draft.locator(".label")).to_have_text("draft")


def test_experiment_page_shows_variations_runs_assets_and_lineage(
    page: Any, methodic_fake: FakeChronicle, world: World
) -> None:
    page.goto(f"{methodic_fake.base_url}{UI}/experiments/{world.sweep}")
    expect(page.get_by_role("heading", name=re.compile("lr sweep"))).to_be_visible()
    variations = page.locator("table.variations")
    expect(variations).to_contain_text("small lr")
    expect(variations).to_contain_text('{"lr": 0.003}')
    expect(page.locator("table.runs tbody tr")).to_have_count(4)
    expect(page.locator("table.assets")).to_contain_text("findings.md")
    expect(page.locator("table.assets")).to_contain_text("step-1200")

    svg = page.locator("svg.lineage")
    nodes = svg.locator("a.node")
    expect(nodes).to_have_count(3)
    current = svg.locator("a.node.current")
    expect(current).to_have_count(1)
    expect(current).to_have_attribute("data-experiment-id", world.sweep)
    expect(svg.locator("a.node.ancestor")).to_contain_text("baseline")
    expect(svg.locator("a.node.descendant")).to_contain_text("lr sweep, warmup")
    expect(svg.locator("path.edge")).to_have_count(2)


def test_following_a_lineage_link_opens_that_experiment(
    page: Any, methodic_fake: FakeChronicle, world: World
) -> None:
    page.goto(f"{methodic_fake.base_url}{UI}/experiments/{world.sweep}")
    page.locator("svg.lineage a.node.ancestor").click()
    page.wait_for_url(f"**{UI}/experiments/{world.baseline}")
    expect(page.get_by_role("heading", name=re.compile("baseline"))).to_be_visible()
    svg = page.locator("svg.lineage")
    expect(svg.locator("a.node.current")).to_have_attribute("data-experiment-id", world.baseline)
    # Every descendant generation: both children and the grandchild.
    expect(svg.locator("a.node.descendant")).to_have_count(3)
    svg.locator(f'a.node[data-experiment-id="{world.warmup}"]').click()
    page.wait_for_url(f"**{UI}/experiments/{world.warmup}")
    expect(page.locator("svg.lineage a.node.ancestor")).to_have_count(2)


def test_runs_page_shows_states_heartbeats_and_watchdog_countdown(
    page: Any, methodic_fake: FakeChronicle, world: World
) -> None:
    page.goto(f"{methodic_fake.base_url}{UI}/runs")
    silent = _run_row(page, world.silent_run)
    expect(silent.locator("td.state")).to_have_text("running")
    expect(silent.locator("td.heartbeat")).to_have_text(re.compile(r"^\d+s ago$"))
    # 15 minutes from the last heartbeat, on the fake's clock.
    expect(silent.locator("td.deadline")).to_have_text(re.compile(r"fails in 1[45]m \d\ds"))
    busy = _run_row(page, world.busy_run)
    expect(busy).to_contain_text('"step": 1200')
    failed = _run_row(page, world.failed_run)
    expect(failed.locator("td.state")).to_contain_text("failed (crash)")
    expect(failed.locator("td.state")).to_contain_text("CUDA out of memory")
    expect(failed.locator("td.deadline")).to_have_text("—")
    expect(_run_row(page, world.succeeded_run).locator("td.state")).to_have_text("succeeded")

    page.locator(f'tr[data-run-id="{world.silent_run}"] a').first.click()
    page.wait_for_url(f"**{UI}/runs/{world.silent_run}")
    expect(page.locator("pre.environment")).to_contain_text('"host": "gpu-7"')
    expect(page.locator("dd.deadline")).to_contain_text("unless it heartbeats")


def test_advance_15_min_turns_a_silent_run_failed_in_place(
    page: Any, methodic_fake: FakeChronicle, world: World
) -> None:
    page.goto(f"{methodic_fake.base_url}{UI}/runs")
    state = _run_row(page, world.silent_run).locator("td.state")
    expect(state).to_have_text("running")
    _mark(page)
    page.get_by_role("button", name="advance 15 min").click()
    expect(state).to_contain_text("failed (heartbeat_timeout)", timeout=LIVE)
    expect(page.locator("#flash")).to_contain_text("clock advanced by 15m 00s")
    _not_reloaded(page)
    assert methodic_fake.clock.offset == 900
    worker = methodic_fake.client("worker")
    assert worker.runs.get(world.silent_run).failure_reason == "heartbeat_timeout"


def test_page_follows_changes_made_elsewhere(
    page: Any, methodic_fake: FakeChronicle, world: World
) -> None:
    page.goto(f"{methodic_fake.base_url}{UI}/runs/{world.busy_run}")
    expect(page.locator("pre.progress")).to_contain_text('"step": 1200')
    _mark(page)
    worker = methodic_fake.client("worker")
    worker.runs.heartbeat(world.busy_run, progress={"step": 1300, "loss": 2.2})
    expect(page.locator("pre.progress")).to_contain_text('"step": 1300', timeout=LIVE)
    worker.runs.succeed(world.busy_run)
    expect(page.locator("h1 .state")).to_have_text("succeeded", timeout=LIVE)
    _not_reloaded(page)


def test_assets_show_components_and_what_storage_holds(
    page: Any, methodic_fake: FakeChronicle, world: World
) -> None:
    page.goto(f"{methodic_fake.base_url}{UI}/assets")
    rows = page.locator("table.assets tbody tr")
    expect(rows).to_have_count(3)
    pending = page.locator(f'tr[data-asset-id="{world.pending_asset}"]')
    expect(pending).to_contain_text("checkpoint")
    expect(pending.locator(".label")).to_have_text("pending")
    expect(pending).to_contain_text("1 / 2")
    pending.locator("a").first.click()
    page.wait_for_url(f"**{UI}/assets/{world.pending_asset}")
    model = page.locator('tr[data-component="model.bin"]')
    expect(model).to_contain_text("2.0 KiB")
    expect(model.locator("code.sha")).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
    expect(model.locator("td.storage")).to_have_text("held, matches")
    optimizer = page.locator('tr[data-component="optimizer.bin"]')
    expect(optimizer.locator("td.storage")).to_have_text("not uploaded yet")


def test_search_box_finds_research_docs_and_arxiv_papers(
    page: Any, methodic_fake: FakeChronicle, world: World
) -> None:
    page.goto(f"{methodic_fake.base_url}{UI}/")
    box = page.get_by_role("searchbox", name="Search research_report and arxiv assets")
    box.fill("warmup")
    box.press("Enter")
    page.wait_for_url(re.compile(r".*/search\?q=warmup$"))
    results = page.locator("ol.results li")
    expect(results).to_have_count(2)
    expect(page.locator("ol.results")).to_contain_text("Warmup findings")
    expect(page.locator("ol.results")).to_contain_text("Attention Is All You Need")
    expect(page.locator("ol.results .tag")).to_have_text(["research_report", "arxiv"])
    page.get_by_role("link", name="Attention Is All You Need").click()
    page.wait_for_url(f"**{UI}/assets/{world.paper}")


def test_add_and_clear_a_fault(page: Any, methodic_fake: FakeChronicle, world: World) -> None:
    page.goto(f"{methodic_fake.base_url}{UI}/controls")
    expect(page.locator("#faults")).to_contain_text("No faults queued.")
    _mark(page)
    form = page.locator("#fault-form")
    form.locator("select[name=operation]").select_option("runs.heartbeat")
    form.locator("select[name=kind]").select_option("status")
    form.get_by_label("times", exact=True).fill("2")
    form.get_by_label("status", exact=True).fill("503")
    form.get_by_role("button", name="Add fault").click()
    expect(page.locator("table.faults tbody tr")).to_have_count(2)
    expect(page.locator("table.faults")).to_contain_text("runs.heartbeat")
    expect(page.locator("#flash")).to_contain_text("queued 2 status faults for runs.heartbeat")
    assert [f["operation"] for f in methodic_fake.faults.pending()] == ["runs.heartbeat"] * 2

    page.get_by_role("button", name="Clear all faults").click()
    expect(page.locator("#faults")).to_contain_text("No faults queued.")
    assert methodic_fake.faults.pending() == []
    _not_reloaded(page)


def test_a_fault_the_fake_refuses_is_reported_not_queued(
    page: Any, methodic_fake: FakeChronicle, world: World
) -> None:
    page.goto(f"{methodic_fake.base_url}{UI}/controls")
    form = page.locator("#fault-form")
    form.locator("select[name=operation]").select_option("runs.get")
    form.locator("select[name=kind]").select_option("truncate")
    form.get_by_role("button", name="Add fault").click()
    expect(page.locator("#flash .error")).to_contain_text("truncate faults apply to storage.put")
    assert methodic_fake.faults.pending() == []


def test_clock_freeze_advance_and_unfreeze(
    page: Any, methodic_fake: FakeChronicle, world: World
) -> None:
    page.goto(f"{methodic_fake.base_url}{UI}/controls")
    page.get_by_role("button", name="Freeze", exact=True).click()
    expect(page.locator("dd.clock-frozen")).to_contain_text("frozen")
    assert methodic_fake.clock.frozen
    advance = page.locator("#advance-form")
    advance.locator("input[name=amount]").fill("2")
    advance.get_by_label("unit").select_option("h")
    advance.get_by_role("button", name="Advance").click()
    expect(page.locator("dd.clock-offset")).to_have_text("2h 00m (7200 s)")
    assert methodic_fake.clock.offset == 7200
    page.get_by_role("button", name="Unfreeze").click()
    expect(page.locator("dd.clock-frozen")).to_have_text("yes, with real time")
    assert not methodic_fake.clock.frozen


def test_search_switch(page: Any, methodic_fake: FakeChronicle, world: World) -> None:
    page.goto(f"{methodic_fake.base_url}{UI}/controls")
    page.get_by_role("button", name="Search off").click()
    expect(page.locator("#search-status")).to_contain_text("answers 503")
    assert methodic_fake.search_configured is False
    page.goto(f"{methodic_fake.base_url}{UI}/search?q=warmup")
    expect(page.locator("#results .error")).to_contain_text("search is not configured")
    page.goto(f"{methodic_fake.base_url}{UI}/controls")
    page.get_by_role("button", name="Search on").click()
    expect(page.locator("#search-status")).to_contain_text("on")
    assert methodic_fake.search_configured is True


def test_reset_needs_its_confirmation(
    page: Any, methodic_fake: FakeChronicle, world: World
) -> None:
    page.goto(f"{methodic_fake.base_url}{UI}/controls")
    reset = page.get_by_role("button", name="Reset the fake")
    reset.click()  # the unticked confirmation box stops the form
    page.wait_for_timeout(500)
    assert world.sweep in methodic_fake.backend.registry.experiments
    page.get_by_label("yes, forget everything").check()
    reset.click()
    expect(page.locator("#flash")).to_contain_text("reset: all data")
    assert not methodic_fake.backend.registry.experiments
    page.get_by_role("link", name="Experiments").click()
    expect(page.locator("#experiments")).to_contain_text("No experiments yet")


def test_docs_render_offline(page: Any, methodic_fake: FakeChronicle) -> None:
    page.goto(methodic_fake.base_url + "/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Chronicle (methodic-fake)")
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible()
    expect(page.locator(".swagger-ui")).to_contain_text("/runs/{run_id}/heartbeat")
