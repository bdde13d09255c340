"""The dashboard over plain HTTP (no browser needed): its guard and its forms' edges.

The browser tests show what a person sees; these pin what a hostile page or a
sloppy form could try, in-process, so they run even where no Chromium exists.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from methodic_fake import FakeChronicle

UI = "/_fake/ui"


@pytest.fixture
def fake() -> Iterator[FakeChronicle]:
    with FakeChronicle.in_process() as fake:
        yield fake


@pytest.fixture
def http(fake: FakeChronicle) -> Any:
    return fake.http(None)


def _post(http: Any, path: str, form: dict[str, str], **headers: str) -> Any:
    return http.post(UI + path, data=form, headers=headers, follow_redirects=False)


def _message(response: Any) -> dict[str, str]:
    assert response.status_code == 303, response.text
    query = parse_qs(urlsplit(response.headers["location"]).query)
    return {k: v[0] for k, v in query.items()}


def test_root_redirects_to_the_dashboard(http: Any) -> None:
    response = http.get("/", follow_redirects=False)
    assert response.status_code == 307
    assert response.headers["location"] == UI + "/"


@pytest.mark.parametrize("path", ["/", UI + "/", UI + "/runs", UI + "/controls"])
def test_foreign_host_is_refused_like_the_admin_api(http: Any, path: str) -> None:
    # A DNS-rebinding page reaches 127.0.0.1 under its own host name.
    response = http.get(path, headers={"Host": "evil.example"})
    assert response.status_code == 403
    assert "Host" in response.json()["detail"]


def test_cross_site_form_cannot_reset_or_advance(fake: FakeChronicle, http: Any) -> None:
    researcher = fake.client("researcher")
    exp = researcher.experiments.create("keep me")
    origin = "http://evil.example"
    for path, form in [
        ("/reset", {"confirm": "yes"}),
        ("/clock/advance", {"amount": "900", "unit": "s"}),
        ("/faults", {"operation": "runs.get", "kind": "reset"}),
    ]:
        response = _post(http, path, form, Origin=origin)
        assert response.status_code == 403
        assert "Origin" in response.json()["detail"]
    assert researcher.experiments.get(exp.id).title == "keep me"
    assert fake.clock.offset == 0
    assert fake.faults.pending() == []


def test_same_origin_form_is_accepted(fake: FakeChronicle, http: Any) -> None:
    response = _post(
        http, "/clock/advance", {"amount": "2", "unit": "min"}, Origin="http://127.0.0.1:8765"
    )
    assert _message(response) == {"notice": "clock advanced by 2m 00s"}
    assert fake.clock.offset == 120


@pytest.mark.parametrize(
    ("form", "problem"),
    [
        ({"amount": "abc", "unit": "s"}, "advance by a number"),
        ({"amount": "", "unit": "s"}, "advance by a number"),
        ({"amount": "1", "unit": "fortnight"}, "advance by a number"),
        ({"amount": "-5", "unit": "s"}, "greater than or equal to 0"),
        ({"amount": "inf", "unit": "s"}, "cannot advance"),
        ({"amount": "11", "unit": "d", "next": UI + "/runs"}, None),
    ],
)
def test_advance_form_edges(
    fake: FakeChronicle, http: Any, form: dict[str, str], problem: str | None
) -> None:
    message = _message(_post(http, "/clock/advance", form))
    if problem is None:
        assert message == {"notice": "clock advanced by 11d 0h"}
        assert fake.clock.offset == 11 * 86400
    else:
        assert problem in message["error"]
        assert fake.clock.offset == 0


def test_fault_form_uses_the_admin_bounds(fake: FakeChronicle, http: Any) -> None:
    message = _message(
        _post(http, "/faults", {"operation": "runs.get", "kind": "status", "times": "0"})
    )
    assert "times" in message["error"]
    message = _message(_post(http, "/faults", {"operation": "nope", "kind": "status"}))
    assert "unknown operation" in message["error"]
    assert fake.faults.pending() == []
    blank = {"operation": "runs.get", "kind": "status", "detail": "", "retry_after": ""}
    assert "queued 1 status fault" in _message(_post(http, "/faults", blank))["notice"]
    assert fake.faults.pending() == [
        {
            "operation": "runs.get",
            "kind": "status",
            "status": 503,
            "detail": "injected 503 for runs.get",
            "retry_after": None,
        }
    ]


def test_reset_without_confirmation_changes_nothing(fake: FakeChronicle, http: Any) -> None:
    fake.client("researcher").experiments.create("keep me")
    fake.faults.add("runs.get", "reset")
    assert "confirmation" in _message(_post(http, "/reset", {}))["error"]
    assert len(fake.backend.registry.experiments) == 1
    assert len(fake.faults) == 1
    assert "reset" in _message(_post(http, "/reset", {"confirm": "yes"}))["notice"]
    assert not fake.backend.registry.experiments
    assert len(fake.faults) == 0


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "/docs", UI + "/runs?x=1", "/_fake/ui"]
)
def test_forms_only_lead_back_into_the_dashboard(http: Any, target: str) -> None:
    response = _post(http, "/clock/freeze", {"next": target})
    assert urlsplit(response.headers["location"]).path == UI + "/controls"


def test_unknown_records_are_404_with_a_detail(http: Any) -> None:
    for path in ["/experiments/nope", "/runs/nope", "/assets/nope", "/static/..%2Fpages.py"]:
        response = http.get(UI + path)
        assert response.status_code == 404
        assert response.json()["detail"]


def test_search_page_reports_when_search_is_off(fake: FakeChronicle, http: Any) -> None:
    fake.search_configured = False
    response = http.get(UI + "/search", params={"q": "warmup"})
    assert response.status_code == 200
    assert "search is not configured" in response.text


def test_variations_are_newest_first_and_an_unnamed_one_says_so(
    fake: FakeChronicle, http: Any
) -> None:
    import re

    researcher = fake.client("researcher")
    exp = researcher.experiments.create("t")
    researcher.experiments.commit(exp.id)
    researcher.variations.create(exp.id, config={"lr": 1}, name="first")
    unnamed = researcher.variations.create(exp.id, config={"lr": 2})
    researcher.runs.create(unnamed.id)
    page = http.get(f"{UI}/experiments/{exp.id}").text
    table = page.split('<table class="variations">', 1)[1].split("</table>", 1)[0]
    names = re.findall(r'<td class="name">(.*?)</td>', table)
    assert names == ['<span class="muted">(unnamed)</span>', "first"]
    runs = http.get(f"{UI}/runs").text
    assert f'<span class="muted">(unnamed)</span> <code title="{unnamed.id}">' in runs


def test_docs_assets_are_served_locally(http: Any) -> None:
    page = http.get("/docs")
    assert page.status_code == 200
    assert "cdn." not in page.text
    assert http.get("/docs/static/swagger-ui-bundle.js").status_code == 200
    assert http.get("/docs/static/swagger-ui.css").status_code == 200
    assert http.get("/openapi.json").json()["info"]["title"] == "Chronicle (methodic-fake)"


def test_dev_server_banner_names_the_dashboard_and_it_answers(tmp_path: Any) -> None:
    import queue
    import re
    import subprocess
    import sys
    import threading
    import time
    import urllib.request
    from pathlib import Path

    cli = Path(sys.executable).with_name("methodic-fake")
    proc = subprocess.Popen(
        [str(cli), "serve", "--port", "0", "--data-dir", str(tmp_path / "data")],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        lines: queue.Queue[str] = queue.Queue()
        assert proc.stdout is not None
        stdout = proc.stdout
        threading.Thread(target=lambda: [lines.put(x) for x in stdout], daemon=True).start()
        seen = ""
        deadline = time.monotonic() + 30
        while "Press Ctrl+C" not in seen and time.monotonic() < deadline:
            try:
                seen += lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
        match = re.search(r"dashboard:\s+(http://\S+)", seen)
        assert match, f"no dashboard URL in the banner:\n{seen}"
        url = match.group(1)
        assert url.endswith("/_fake/ui/")
        with urllib.request.urlopen(url, timeout=10) as response:
            assert "No experiments yet" in response.read().decode("utf-8")
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _ui_pages(fake: FakeChronicle, ids: dict[str, str]) -> list[str]:
    """Every GET page of the dashboard, from the app's own routes (a new one is covered)."""
    paths = ["/", "/docs"]
    for route in fake.app.routes:
        # FastAPI >= 0.16x nests included routers (see tests/hardening/hardening_routes.py).
        contexts = getattr(route, "effective_route_contexts", None)
        found = (
            [(c.path, c.original_route) for c in contexts()] if contexts else [(route.path, route)]
        )
        for path, inner in found:
            if path.startswith(UI) and "GET" in (getattr(inner, "methods", None) or ()):
                paths.append(path.format(**ids, name="dashboard.css"))
    return paths


def test_every_dashboard_page_refuses_to_be_framed(fake: FakeChronicle, http: Any) -> None:
    researcher = fake.client("researcher")
    exp = researcher.experiments.create("framed")
    researcher.experiments.commit(exp.id)
    variation = researcher.variations.create(exp.id, config={"lr": 0.1})
    run = researcher.runs.create(variation.id)
    asset = researcher.assets.create_inline(kind="output", name="o", content="x", run_id=run.id)
    ids = {"experiment_id": exp.id, "run_id": run.id, "asset_id": asset.id}
    pages = _ui_pages(fake, ids)
    assert len(pages) >= 10, pages
    for path in pages:
        response = http.get(path, follow_redirects=False)
        assert response.status_code in (200, 307), (path, response.status_code)
        assert response.headers["x-frame-options"] == "DENY", path
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"], path
    # Refusals and form answers too: a framed 303 or 403 page is still the dashboard's.
    refused = http.get(UI + "/", headers={"Host": "evil.example"})
    posted = _post(http, "/clock/freeze", {"next": UI + "/controls"})
    missing = http.get(UI + "/runs/no-such-run")
    for response in (refused, posted, missing):
        assert response.headers["x-frame-options"] == "DENY", response.status_code
