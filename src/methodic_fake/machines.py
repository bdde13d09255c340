"""The state machines, as data: which action is legal from which state.

Keeping them as tables means docs/api.md, the domain and the tests read the same
facts, and an illegal transition always produces the same 409 detail, naming the
current state and the states the action needs.
"""

from __future__ import annotations

from dataclasses import dataclass

from methodic_fake.errors import Conflict, FakeError


@dataclass(frozen=True)
class Transition:
    """Legal source states of an action and the state it leads to."""

    sources: frozenset[str]
    target: str | None  # None: the action does not change the state


def _t(sources: str, target: str | None) -> Transition:
    return Transition(frozenset(sources.split("|")), target)


EXPERIMENT: dict[str, Transition] = {
    "update": _t("draft", None),
    "commit": _t("draft", "committed"),
    "conclude": _t("committed", "concluded"),
    "retract": _t("committed|concluded", "retracted"),
    "create a variation for": _t("draft|committed", None),
    "create a run for": _t("committed", None),
}

RUN: dict[str, Transition] = {
    "start": _t("pending", "running"),
    "heartbeat": _t("running", None),
    "succeed": _t("running", "succeeded"),
    "fail": _t("pending|running", "failed"),
}

ASSET: dict[str, Transition] = {
    "finalize": _t("pending", "ready"),
    "upload to": _t("pending", None),
    "get upload URLs for": _t("pending", None),
    "download": _t("ready", None),
}

MACHINES: dict[str, dict[str, Transition]] = {
    "experiment": EXPERIMENT,
    "run": RUN,
    "asset": ASSET,
}


def apply(
    kind: str,
    action: str,
    resource_id: str,
    current: str,
    note: str = "",
    *,
    error: type[FakeError] = Conflict,
) -> str:
    """Return the state after `action`, or raise `error` (409) naming the current state.

    Storage passes `error=Forbidden`: it answers 403, as a bucket would.

    >>> apply("run", "start", "r1", "pending")
    'running'
    """
    transition = MACHINES[kind][action]
    if current not in transition.sources:
        allowed = " or ".join(sorted(transition.sources))
        raise error(
            f"cannot {action} {kind} {resource_id}: it is {current}{note} (needs {allowed})"
        )
    return transition.target or current
