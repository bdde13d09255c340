"""A stored asset is never active content on the dashboard's origin (issue 19, finding 3).

Storage shares its origin with the dashboard, `/_fake/keys` and `/_fake/ui/reset` (the
admin guard admits same-origin requests). A worker key — the least trusted principal —
may store an HTML or SVG asset on a run; a researcher who opens its presigned download
URL in a browser must not run its script there: it would read the researcher token
and could wipe the fake. Headless Chromium opens such URLs; the script must not run,
so `/_fake/keys` is never requested and nothing is reset. Downloads are attachments,
and should a browser render one anyway (the test strips `Content-Disposition` on the
way), the sandbox CSP still keeps the script from running.
"""

from __future__ import annotations

from typing import Any

import pytest

from methodic_fake import FakeChronicle

SCRIPT = (
    "fetch('/_fake/keys').then(r => r.text()).then(keys => {"
    " document.title = 'PWNED ' + keys;"
    " fetch('/_fake/ui/reset', {method: 'POST', body: 'confirm=yes',"
    " headers: {'Content-Type': 'application/x-www-form-urlencoded'}});"
    "})"
)
PAYLOADS = {
    "html": (
        "text/html",
        f"<html><head><title>report</title></head><body><script>{SCRIPT}</script></body></html>",
    ),
    "svg": (
        "image/svg+xml",
        f'<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100"><title>plot</title><script>{SCRIPT}</script></svg>',
    ),
}


def _hostile_asset_url(fake: FakeChronicle, content_type: str, content: str) -> tuple[str, str]:
    """A worker's inline asset on a run, and its presigned download URL; plus an
    experiment id to check nothing was reset."""
    researcher = fake.client("researcher")
    exp = researcher.experiments.create("keep me")
    researcher.experiments.commit(exp.id)
    variation = researcher.variations.create(exp.id, config={"lr": 0.1})
    run = researcher.runs.create(variation.id)
    worker = fake.client("worker")
    asset = worker.assets.create_inline(
        kind="output", name="report", content=content, content_type=content_type, run_id=run.id
    )
    [url] = researcher.assets.download_urls(asset.id).values()
    return url, exp.id


def _requested(page: Any) -> list[str]:
    seen: list[str] = []
    page.context.on("request", lambda request: seen.append(request.url))
    return seen


@pytest.mark.parametrize("kind", PAYLOADS)
def test_opening_a_stored_page_downloads_it_instead_of_running_it(
    page: Any, methodic_fake: FakeChronicle, kind: str
) -> None:
    url, exp_id = _hostile_asset_url(methodic_fake, *PAYLOADS[kind])
    seen = _requested(page)
    with page.expect_download() as download:
        try:
            page.goto(url)
        except Exception as err:  # Chromium aborts the navigation that became a download
            assert "ERR_ABORTED" in str(err) or "Download is starting" in str(err), err
    assert download.value.suggested_filename == "content"
    page.wait_for_timeout(500)  # time for a script, were one running
    assert not [u for u in seen if "/_fake/keys" in u or "/_fake/ui/reset" in u]
    assert methodic_fake.client("researcher").experiments.get(exp_id).title == "keep me"


@pytest.mark.parametrize("kind", PAYLOADS)
def test_a_stored_page_rendered_anyway_cannot_run_script(
    page: Any, methodic_fake: FakeChronicle, kind: str
) -> None:
    url, exp_id = _hostile_asset_url(methodic_fake, *PAYLOADS[kind])

    def render_inline(route: Any) -> None:
        # What a browser that ignored Content-Disposition would do: render it.
        response = route.fetch()
        headers = {k: v for k, v in response.headers.items() if k != "content-disposition"}
        route.fulfill(response=response, headers=headers)

    page.route(url, render_inline)
    seen = _requested(page)
    page.goto(url)
    page.wait_for_timeout(500)
    assert not page.title().startswith("PWNED")
    assert not [u for u in seen if "/_fake/keys" in u or "/_fake/ui/reset" in u]
    assert methodic_fake.client("researcher").experiments.get(exp_id).title == "keep me"
    # Chromium's full-page screenshot (the fixture's, at teardown) hangs on a bare SVG
    # document; leave one it can take.
    page.goto("about:blank")
