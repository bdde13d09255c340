"""Guarantee: an id handed to the SDK addresses that resource, or fails clearly — never another route.

Ids come from files, CLIs and other people's code, so the SDK must treat them as
opaque. For arbitrary strings (hypothesis), and for real ids with a path suffix
appended (``"<experiment id>/lineage"``), every by-id namespace method must either
reach the resource named by exactly that string (so, for a made-up id, raise
``NotFoundError``) or refuse the id before sending (``ValueError``). Reaching a
different route — which would return another resource's body, or, for a
mutation, change something else — is a failure.

Percent-encoding alone does not give this: uvicorn, starlette and most proxies
decode ``%2F`` before routing, so ``"E/lineage"`` sent as ``E%2Flineage`` is
routed as ``/experiments/E/lineage``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from methodic import Chronicle, NotFoundError
from methodic_fake import FakeChronicle

SUFFIXES = ["lineage", "variations", "commit", "config", "checkpoint", "download-urls", "runs", "."]


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeChronicle]:
    with FakeChronicle.start() as fake:
        yield fake


@pytest.fixture(scope="module")
def chronicle(fake: FakeChronicle) -> Iterator[Chronicle]:
    with fake.client("researcher") as c:
        yield c


@pytest.fixture(scope="module")
def real_ids(chronicle: Chronicle) -> list[str]:
    exp = chronicle.experiments.create("opaque ids")
    var = chronicle.variations.create(exp.id, config_json={})
    chronicle.experiments.commit(exp.id)
    run = chronicle.runs.create(var.id)
    asset = chronicle.assets.create_inline(kind="output", name="x", content="x", run_id=run.id)
    return [exp.id, var.id, run.id, asset.id]


def _calls(c: Chronicle) -> dict[str, Callable[[str], Any]]:
    return {
        "experiments.get": c.experiments.get,
        "experiments.lineage": c.experiments.lineage,
        "experiments.commit": c.experiments.commit,
        "variations.get": c.variations.get,
        "variations.list": c.variations.list,
        "runs.get": c.runs.get,
        "runs.config": c.runs.config,
        "runs.heartbeat": c.runs.heartbeat,
        "runs.checkpoint": c.runs.checkpoint,
        "assets.get": c.assets.get,
        "assets.download_urls": c.assets.download_urls,
    }


def _assert_opaque(name: str, call: Callable[[str], Any], given_id: str) -> None:
    try:
        result = call(given_id)
    except (NotFoundError, ValueError):
        return
    except Exception as exc:
        raise AssertionError(f"{name}({given_id!r}) reached another route: {exc!r}") from exc
    raise AssertionError(f"{name}({given_id!r}) succeeded and returned {result!r}")


def test_real_id_with_a_path_suffix_reaches_nothing_else(
    chronicle: Chronicle, real_ids: list[str]
) -> None:
    failures = []
    for name, call in _calls(chronicle).items():
        for real in real_ids:
            for suffix in SUFFIXES:
                for crafted in (f"{real}/{suffix}", f"{real}/../{real}", f"x/../{real}"):
                    try:
                        _assert_opaque(name, call, crafted)
                    except AssertionError as err:
                        failures.append(str(err).splitlines()[0])
    assert not failures, f"{len(failures)} crafted ids escaped:\n" + "\n".join(failures[:15])


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(made_up=st.text(min_size=1, max_size=40))
def test_arbitrary_ids_are_not_found_or_refused(chronicle: Chronicle, made_up: str) -> None:
    for name, call in _calls(chronicle).items():
        _assert_opaque(name, call, made_up)
