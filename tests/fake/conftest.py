"""Shared helpers for the fake's tests: SDK clients per role and a committed variation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from methodic import Chronicle
from methodic_fake import FakeChronicle


@pytest.fixture
def fake(methodic_fake: FakeChronicle) -> FakeChronicle:
    """The public fixture (uvicorn server, reset per test)."""
    return methodic_fake


@pytest.fixture
def researcher(fake: FakeChronicle) -> Chronicle:
    return fake.client("researcher")


@pytest.fixture
def worker(fake: FakeChronicle) -> Chronicle:
    return fake.client("worker")


@pytest.fixture
def agent(fake: FakeChronicle) -> Chronicle:
    return fake.client("agent")


@pytest.fixture
def in_process() -> Iterator[FakeChronicle]:
    """A fake with no socket (starlette TestClient)."""
    fake = FakeChronicle.in_process()
    try:
        yield fake
    finally:
        fake.stop()


def committed_variation(chronicle: Chronicle, **config: Any) -> tuple[str, str]:
    """(experiment_id, variation_id) of a fresh committed experiment with one variation."""
    exp = chronicle.experiments.create("fixture experiment")
    chronicle.experiments.commit(exp.id)
    variation = chronicle.variations.create(exp.id, config_json=config or {"lr": 0.1})
    return exp.id, variation.id
