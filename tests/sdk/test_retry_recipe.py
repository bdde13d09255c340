"""docs/sdk.md's retry recipe, the very block, against the fake with injected faults.

The page's own test runs the block against a healthy server; this one checks what the
text promises: it honours ``RateLimitError.retry_after``, backs off on 5xx and dropped
connections, gives up, never repeats a mutation without an idempotency key, and a
create with a key that is retried after a lost response makes no duplicate.

tenacity's waits are recorded instead of slept (its ``nap`` module's ``time``), so the
exact delays are asserted and the test takes no seconds.
"""

from __future__ import annotations

import re
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tenacity.nap

from methodic import Chronicle, ConflictError, NotFoundError, RateLimitError, ServerError
from methodic_fake import FakeChronicle

SDK_MD = Path(__file__).resolve().parents[2] / "docs" / "sdk.md"


def _recipe_source() -> str:
    text = SDK_MD.read_text(encoding="utf-8")
    blocks = re.findall(r"^```python\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL)
    [recipe] = [b for b in blocks if "def retrying(" in b]  # a runnable block, not notest
    return recipe


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []
    monkeypatch.setattr(tenacity.nap, "time", types.SimpleNamespace(sleep=slept.append))
    return slept


@pytest.fixture
def recipe(
    methodic_fake: FakeChronicle, monkeypatch: pytest.MonkeyPatch, sleeps: list[float]
) -> dict[str, Any]:
    """The block's namespace after running it once as the page does (agent key)."""
    monkeypatch.setenv("CHRONICLE_API_KEY", methodic_fake.agent_key)
    namespace: dict[str, Any] = {"__name__": "__recipe__"}
    exec(compile(_recipe_source(), str(SDK_MD), "exec"), namespace)
    namespace["chronicle"].close()
    sleeps.clear()
    return namespace


@pytest.fixture
def chronicle(methodic_fake: FakeChronicle) -> Chronicle:
    return methodic_fake.client("agent")


def _retrying(recipe: dict[str, Any]) -> Callable[..., Any]:
    fn: Callable[..., Any] = recipe["retrying"]
    return fn


def test_a_rate_limit_waits_exactly_what_the_server_asked(
    methodic_fake: FakeChronicle, recipe: dict[str, Any], chronicle: Chronicle, sleeps: list[float]
) -> None:
    exp = chronicle.experiments.create("rate limited")
    methodic_fake.faults.add("experiments.get", "status", status=429, retry_after=7, times=2)
    got = _retrying(recipe)(chronicle.experiments.get, exp.id)
    assert got.id == exp.id
    assert sleeps == [7.0, 7.0]
    assert methodic_fake.faults.pending() == []


def test_an_hour_long_retry_after_is_capped_at_a_minute(
    methodic_fake: FakeChronicle, recipe: dict[str, Any], chronicle: Chronicle, sleeps: list[float]
) -> None:
    exp = chronicle.experiments.create("patient")
    methodic_fake.faults.add("experiments.get", "status", status=429, retry_after=3600)
    _retrying(recipe)(chronicle.experiments.get, exp.id)
    assert sleeps == [60.0]


def test_server_errors_and_dropped_connections_back_off_then_give_up(
    methodic_fake: FakeChronicle, recipe: dict[str, Any], chronicle: Chronicle, sleeps: list[float]
) -> None:
    exp = chronicle.experiments.create("flaky")
    methodic_fake.faults.add("experiments.get", "status", status=503)
    methodic_fake.faults.add("experiments.get", "reset")
    assert _retrying(recipe)(chronicle.experiments.get, exp.id).id == exp.id
    # 0.5 s then 1 s, each plus up to 0.5 s of jitter
    assert len(sleeps) == 2 and 0.5 <= sleeps[0] <= 1.0 and 1.0 <= sleeps[1] <= 1.5, sleeps

    sleeps.clear()
    methodic_fake.faults.add("experiments.get", "status", status=502, times=6)
    with pytest.raises(ServerError) as info:
        _retrying(recipe)(chronicle.experiments.get, exp.id)
    assert info.value.status_code == 502
    assert len(sleeps) == 4  # five attempts in all
    assert len(methodic_fake.faults.pending()) == 1


def test_an_answer_is_not_retried(
    recipe: dict[str, Any], chronicle: Chronicle, sleeps: list[float]
) -> None:
    with pytest.raises(NotFoundError):
        _retrying(recipe)(chronicle.experiments.get, "no-such-experiment")
    assert sleeps == []


def test_a_mutation_without_a_key_runs_exactly_once(
    methodic_fake: FakeChronicle, recipe: dict[str, Any], chronicle: Chronicle, sleeps: list[float]
) -> None:
    exp = chronicle.experiments.create("commit once")
    methodic_fake.faults.add("experiments.commit", "status", status=503, times=2)
    with pytest.raises(ServerError):
        _retrying(recipe)(chronicle.experiments.commit, exp.id)
    assert sleeps == [] and len(methodic_fake.faults.pending()) == 1
    methodic_fake.faults.clear()

    # Its response lost after it happened: repeating it would have answered 409.
    methodic_fake.faults.add("experiments.commit", "reset", phase="after")
    with pytest.raises(Exception, match="failed"):
        _retrying(recipe)(chronicle.experiments.commit, exp.id)
    assert chronicle.experiments.get(exp.id).state == "committed"
    with pytest.raises(ConflictError):
        chronicle.experiments.commit(exp.id)
    with pytest.raises(RateLimitError):  # a create without a key is a mutation too
        methodic_fake.faults.add("experiments.create", "status", status=429, retry_after=1)
        _retrying(recipe)(chronicle.experiments.create, "no key")
    assert sleeps == []


def test_a_create_with_a_key_is_retried_without_a_duplicate(
    methodic_fake: FakeChronicle, recipe: dict[str, Any], chronicle: Chronicle, sleeps: list[float]
) -> None:
    tag = "retried-create"
    # Handled, then the connection dropped: the client never heard it was created.
    methodic_fake.faults.add("experiments.create", "reset", phase="after")
    methodic_fake.faults.add("experiments.create", "status", status=503)
    exp = _retrying(recipe)(
        chronicle.experiments.create, "created once", tags=[tag], idempotency_key="k-1"
    )
    assert len(sleeps) == 2
    assert [e.id for e in chronicle.experiments.list(tag=tag)] == [exp.id]
