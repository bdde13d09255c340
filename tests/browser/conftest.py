"""Headless Chromium against the fake's dashboard, driven by Playwright.

The browser is Debian's `chromium` (`.ci/run` installs it when missing); Playwright
only drives it, so `playwright install` (a download) is never needed. Where no
browser can be had these tests skip, and the run's summary says so in one line.

Screenshots of every browser test land in `test-artifacts/browser/` (git-ignored;
`METHODIC_TEST_ARTIFACTS` moves it).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from methodic_fake import FakeChronicle

from .seed import World, seed

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(
    os.environ.get("METHODIC_TEST_ARTIFACTS", Path(__file__).parents[2] / "test-artifacts")
)


def chromium_path() -> str | None:
    """Debian's Chromium, or Chrome (GitHub's runners), or $METHODIC_CHROMIUM; else None."""
    names = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
    for candidate in (os.environ.get("METHODIC_CHROMIUM"), *names):
        if candidate and (found := shutil.which(candidate)):
            return found
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("browser tests skipped: playwright is not installed (pip install -e '.[dev]')")
    path = chromium_path()
    if path is None:
        pytest.skip("browser tests skipped: no Chromium (apt-get install chromium; .ci/run does)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def world(methodic_fake: FakeChronicle) -> World:
    """The session's fake (reset for this test), seeded through the SDK."""
    return seed(methodic_fake)


def _is_local(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("data", "about", "blob") or parts.hostname in ("127.0.0.1", "::1")


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh page that records every request; the test fails if one leaves loopback.

    Non-local requests are also aborted, so a CDN reference can never load from
    the network by accident (it would show as a blank page and a failed test).
    """
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    requested: list[str] = []
    context.on("request", lambda r: requested.append(r.url))
    context.route(
        re.compile(r"^(?!https?://(127\.0\.0\.1|\[::1\])[:/]).*"),
        lambda route: route.abort() if not _is_local(route.request.url) else route.continue_(),
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield page
    finally:
        ARTIFACTS.joinpath("browser").mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        try:
            page.screenshot(path=str(ARTIFACTS / "browser" / f"{name}.png"), full_page=True)
        finally:
            context.close()
    outside = [url for url in requested if not _is_local(url)]
    assert not outside, f"the page requested non-loopback URLs: {outside}"
    assert not errors, f"JavaScript errors on the page: {errors}"
