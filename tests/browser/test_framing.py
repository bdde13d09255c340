"""No site can frame the dashboard (issue 19, finding 8).

Framed invisibly under a decoy button, one click on "advance 1 h" reaps every
running run and two reset the fake. Chromium loads a page of another origin that
frames the dashboard; the frame must stay empty, and the dashboard's controls out
of reach. (Every page's headers, without a browser: test_dashboard_http.py.)
"""

from __future__ import annotations

from typing import Any

from methodic_fake import FakeChronicle

from .seed import World

UI = "/_fake/ui"


def test_another_site_cannot_frame_the_dashboard(
    page: Any, methodic_fake: FakeChronicle, world: World
) -> None:
    target = methodic_fake.base_url + UI + "/controls"
    blocked: list[str] = []
    page.on("console", lambda message: blocked.append(message.text))
    page.set_content(f'<h1>win a prize</h1><iframe id="decoy" src="{target}"></iframe>')
    page.wait_for_timeout(1000)
    [frame] = [f for f in page.frames if f is not page.main_frame]
    # Chromium shows its own error page in a refused frame: none of the dashboard.
    assert frame.locator("form").count() == 0
    assert "Controls" not in frame.content()
    assert any("frame-ancestors" in text for text in blocked), blocked


def test_the_dashboard_still_opens_on_its_own(
    page: Any, methodic_fake: FakeChronicle, world: World
) -> None:
    page.goto(methodic_fake.base_url + UI + "/controls")
    assert page.locator("form").count() > 0
