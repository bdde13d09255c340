"""Fixtures of the docs-as-tests suite: one fake for all pages, reset for each page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from methodic_fake.harness import FakeChronicle, SessionFakeView

from .blocks import python_blocks
from .pages import PageRun


class Pages:
    """The page being run; a block of another page (or out of order) starts afresh.

    Pages run top to bottom, so each block normally continues the page's run. When
    pytest runs a block on its own (`-k`, a rerun, another xdist worker), the page is
    reset and the test replays its earlier blocks first (`PageRun.replay_to`).
    """

    def __init__(self, fake: FakeChronicle, tmp: pytest.TempPathFactory) -> None:
        self.fake = fake
        self.tmp = tmp
        self.current: PageRun | None = None

    def at(self, path: Path, index: int) -> PageRun:
        page = self.current
        if page is not None and page.path == path and page.done == index:
            return page
        self.close()
        self.fake.reset()
        view = SessionFakeView(self.fake)
        page = PageRun(path, python_blocks(path), view, self.tmp.mktemp(path.name))
        self.current = page
        return page

    def close(self) -> None:
        if self.current is not None:
            self.current.close()
            self.current = None


@pytest.fixture(scope="session")
def docs_pages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pages]:
    # A fake of its own: a block that uses the `methodic_fake` fixture resets the
    # plugin's session server, which must not wipe the page's state.
    with FakeChronicle.start() as fake:
        pages = Pages(fake, tmp_path_factory)
        try:
            yield pages
        finally:
            pages.close()
