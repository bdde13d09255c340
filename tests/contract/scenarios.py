"""Contract scenarios: plain functions that drive Chronicle through the SDK.

Each scenario becomes one cassette (``cassettes/<name>.yaml``) and runs unchanged
against every target: replayed from its cassette, a fresh ``methodic_fake``, or a
real Chronicle.  So a scenario must send the same requests on every run: fixed
titles, fixed bytes, ids taken only from responses.  The only per-run value is
``ctx.run_tag``, a random word used in idempotency keys (a real server remembers
them) and in search text (so earlier recordings' documents do not match); the
normaliser writes it into the cassette as ``run-tag``, and replay uses ``run-tag``
itself, so replayed requests are byte-for-byte the recorded ones.

Scenarios assert the behaviour they exercise (state transitions, which error
class a status maps to), so replay also proves every recorded response parses
into the SDK's types and maps to the right exception.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from methodic import Chronicle
from methodic.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ServerError,
)
from methodic.types import ComponentSpec

# A well-formed id no server will ever have issued (hex "deadbeef"; placeholders are decimal).
UNKNOWN_ID = "00000000-0000-4000-8000-0000deadbeef"
WEIGHTS = bytes(range(256)) * 8  # 2 KiB of fixed binary: recorded as a size+sha256 marker
NOTES = b"contract notes: fixed bytes, downloaded back verbatim\n"
CHECKPOINT = b"checkpoint step=100 loss=0.125\n"
WATCHDOG_SECONDS = 16 * 60  # the server reaps runs silent for more than 15 minutes


class Controls(Protocol):
    """Switches only a fake has: its clock and whether search is configured."""

    def advance(self, seconds: float) -> None: ...

    def set_search_configured(self, configured: bool) -> None: ...


@dataclass
class ScenarioContext:
    """Everything a scenario needs besides the researcher's ``Chronicle``."""

    worker: Chronicle | None
    intruder: Chronicle  # a client whose token the server does not know
    controls: Controls | None
    run_tag: str

    def key(self, label: str) -> str:
        """An idempotency key unique to this recording run."""
        return f"contract-{self.run_tag}-{label}"

    @property
    def as_worker(self) -> Chronicle:
        if self.worker is None:
            raise RuntimeError("scenario declared worker=True but no worker client was given")
        return self.worker

    @property
    def fake(self) -> Controls:
        if self.controls is None:
            raise RuntimeError("scenario declared controls=True but the target has none")
        return self.controls


ScenarioFn = Callable[[Chronicle, ScenarioContext], None]


@dataclass(frozen=True)
class Scenario:
    name: str
    run: ScenarioFn
    needs_worker: bool
    needs_controls: bool

    @property
    def description(self) -> str:
        return (self.run.__doc__ or self.name).strip().splitlines()[0]


SCENARIOS: dict[str, Scenario] = {}


def scenario(*, worker: bool = False, controls: bool = False) -> Callable[[ScenarioFn], ScenarioFn]:
    """Register a scenario; ``worker``/``controls`` name what the target must provide."""

    def register(fn: ScenarioFn) -> ScenarioFn:
        SCENARIOS[fn.__name__] = Scenario(fn.__name__, fn, worker, controls)
        return fn

    return register


E = TypeVar("E", bound=APIError)


def expect_error(error: type[E], status: int, call: Callable[[], object]) -> E:
    """Run ``call`` and return the ``error`` it must raise with ``status``."""
    try:
        call()
    except error as exc:
        if exc.status_code != status:
            raise AssertionError(f"expected status {status}, got {exc.status_code}") from exc
        return exc
    raise AssertionError(f"expected {error.__name__} ({status}), but the call succeeded")


def spec(name: str, data: bytes, content_type: str) -> ComponentSpec:
    return ComponentSpec(
        name=name,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        content_type=content_type,
    )


def download(chronicle: Chronicle, url: str) -> bytes:
    with chronicle.transport.storage_stream("GET", url) as response:
        return b"".join(response.iter_bytes())


def committed_variation(chronicle: Chronicle, ctx: ScenarioContext, title: str) -> tuple[str, str]:
    """A committed experiment with one variation: the starting point of every run."""
    exp = chronicle.experiments.create(title)
    variation = chronicle.variations.create(
        exp.id, name="baseline", config_yaml="lr: 0.001\nepochs: 2\n"
    )
    chronicle.experiments.commit(exp.id)
    return exp.id, variation.id


# -- experiments -----------------------------------------------------------------
@scenario()
def experiments_lifecycle(chronicle: Chronicle, ctx: ScenarioContext) -> None:
    """Experiment create (idempotent), get, update, commit, conclude, retract."""
    key = ctx.key("lifecycle")
    exp = chronicle.experiments.create(
        "Contract: lifecycle",
        hypothesis="warmup lowers final loss",
        description="pins the experiment state machine",
        tags=["contract"],
        idempotency_key=key,
    )
    assert exp.state == "draft"
    again = chronicle.experiments.create(
        "Contract: lifecycle",
        hypothesis="warmup lowers final loss",
        description="pins the experiment state machine",
        tags=["contract"],
        idempotency_key=key,
    )
    assert again.id == exp.id, "a repeated Idempotency-Key must return the first experiment"
    detail = chronicle.experiments.get(exp.id)
    assert detail.title == "Contract: lifecycle" and detail.variations == []
    updated = chronicle.experiments.update(exp.id, title="Contract: lifecycle (edited)", tags=["a"])
    assert updated.title == "Contract: lifecycle (edited)" and updated.tags == ["a"]
    committed = chronicle.experiments.commit(exp.id)
    assert committed.state == "committed" and committed.committed_at
    concluded = chronicle.experiments.conclude(exp.id, conclusion="warmup helped")
    assert concluded.state == "concluded" and concluded.conclusion == "warmup helped"
    retracted = chronicle.experiments.retract(exp.id, reason="data leak found")
    assert retracted.state == "retracted" and retracted.retraction_reason == "data leak found"


@scenario()
def experiments_pagination(chronicle: Chronicle, ctx: ScenarioContext) -> None:
    """Experiment list across two pages (limit + cursor), filtered by a fresh parent:
    newest first by default, oldest first with `order=asc`."""
    parent = chronicle.experiments.create("Contract: page parent")
    children = [
        chronicle.experiments.create(f"Contract: page child {n}", parent_ids=[parent.id])
        for n in (1, 2, 3)
    ]
    first = chronicle.experiments.list(parent_id=parent.id, limit=2)
    assert len(first.items) == 2 and first.next_cursor
    second = chronicle.experiments.list(parent_id=parent.id, limit=2, cursor=first.next_cursor)
    assert len(second.items) == 1 and second.next_cursor is None
    assert [e.id for e in [*first.items, *second.items]] == [c.id for c in children[::-1]]
    oldest = chronicle.experiments.list(parent_id=parent.id, limit=2, order="asc")
    rest = chronicle.experiments.list(
        parent_id=parent.id, limit=2, order="asc", cursor=oldest.next_cursor
    )
    assert [e.id for e in [*oldest.items, *rest.items]] == [c.id for c in children]
    drafts = chronicle.experiments.list(parent_id=parent.id, state="draft", tag="none-such")
    assert drafts.items == []


@scenario()
def experiments_errors(chronicle: Chronicle, ctx: ScenarioContext) -> None:
    """Experiment 404 (unknown id, unknown parent), 422 (limit too large), 409 (state)."""
    expect_error(NotFoundError, 404, lambda: chronicle.experiments.get(UNKNOWN_ID))
    expect_error(
        NotFoundError,
        404,
        lambda: chronicle.experiments.create("Contract: orphan", parent_ids=[UNKNOWN_ID]),
    )
    expect_error(BadRequestError, 422, lambda: chronicle.experiments.list(limit=1000))
    exp = chronicle.experiments.create("Contract: conflicts")
    expect_error(
        ConflictError, 409, lambda: chronicle.experiments.conclude(exp.id, conclusion="too soon")
    )
    chronicle.experiments.commit(exp.id)
    expect_error(ConflictError, 409, lambda: chronicle.experiments.commit(exp.id))
    expect_error(ConflictError, 409, lambda: chronicle.experiments.update(exp.id, title="late"))


@scenario()
def experiments_lineage(chronicle: Chronicle, ctx: ScenarioContext) -> None:
    """Lineage walks: both directions, ancestors with a depth, descendants, and 404."""
    root = chronicle.experiments.create("Contract: lineage root")
    middle = chronicle.experiments.create("Contract: lineage middle", parent_ids=[root.id])
    leaf = chronicle.experiments.create("Contract: lineage leaf", parent_ids=[middle.id])
    both = chronicle.experiments.lineage(middle.id, direction="both")
    assert both.root_id == middle.id
    assert {n.id for n in both.nodes} == {root.id, middle.id, leaf.id}
    assert {(e.parent_id, e.child_id) for e in both.edges} == {
        (root.id, middle.id),
        (middle.id, leaf.id),
    }
    near = chronicle.experiments.lineage(leaf.id, direction="ancestors", depth=1)
    assert {n.id for n in near.nodes} == {leaf.id, middle.id}
    down = chronicle.experiments.lineage(root.id, direction="descendants")
    assert {n.relation for n in down.nodes} == {"root", "descendant"}
    expect_error(NotFoundError, 404, lambda: chronicle.experiments.lineage(UNKNOWN_ID))


# -- variations ------------------------------------------------------------------
@scenario()
def variations(chronicle: Chronicle, ctx: ScenarioContext) -> None:
    """Variation create (YAML and JSON), get, list, 400 bad YAML, 404, 409 once concluded."""
    exp = chronicle.experiments.create("Contract: variations")
    from_yaml = chronicle.variations.create(
        exp.id,
        name="yaml",
        config_yaml="model: tiny\nlr: 0.01\nlayers: [1, 2]\n",
        accelerate_config_json={"mixed_precision": "bf16"},
        launch_config={"gpus": 1},
    )
    assert from_yaml.config_json == {"model": "tiny", "lr": 0.01, "layers": [1, 2]}
    chronicle.experiments.commit(exp.id)
    from_json = chronicle.variations.create(exp.id, name="json", config_json={"lr": 0.1})
    assert chronicle.variations.get(from_json.id).config_json == {"lr": 0.1}
    listed = chronicle.variations.list(exp.id)
    assert [v.id for v in listed.items] == [from_json.id, from_yaml.id]  # newest first
    expect_error(
        BadRequestError,
        400,
        lambda: chronicle.variations.create(exp.id, config_yaml="lr: [unclosed\n"),
    )
    expect_error(
        BadRequestError, 400, lambda: chronicle.variations.create(exp.id, config_yaml="- a list\n")
    )
    expect_error(NotFoundError, 404, lambda: chronicle.variations.get(UNKNOWN_ID))
    chronicle.experiments.conclude(exp.id, conclusion="enough variations")
    expect_error(
        ConflictError, 409, lambda: chronicle.variations.create(exp.id, config_json={"lr": 1})
    )


# -- runs ------------------------------------------------------------------------
@scenario(worker=True)
def runs_lifecycle(chronicle: Chronicle, ctx: ScenarioContext) -> None:
    """Run create (idempotent), config, start, heartbeat, succeed, get, list, run_counts."""
    worker = ctx.as_worker
    exp_id, variation_id = committed_variation(chronicle, ctx, "Contract: run lifecycle")
    run = chronicle.runs.create(variation_id, idempotency_key=ctx.key("run-lifecycle"))
    assert run.state == "pending"
    again = chronicle.runs.create(variation_id, idempotency_key=ctx.key("run-lifecycle"))
    assert again.id == run.id
    config = worker.runs.config(run.id)
    assert config.config_json == {"lr": 0.001, "epochs": 2}
    started = worker.runs.start(run.id, environment={"python": "3.12", "gpus": 0})
    assert started.state == "running" and started.started_at
    beat = worker.runs.heartbeat(run.id, progress={"step": 10, "phase": "train"})
    assert beat.progress == {"step": 10, "phase": "train"}
    done = worker.runs.succeed(run.id)
    assert done.state == "succeeded" and done.finished_at
    assert chronicle.runs.get(run.id).state == "succeeded"
    by_variation = chronicle.runs.list(variation_id=variation_id)
    assert [r.id for r in by_variation.items] == [run.id]
    by_state = chronicle.runs.list(experiment_id=exp_id, state="succeeded")
    assert [r.id for r in by_state.items] == [run.id]
    assert chronicle.experiments.get(exp_id).run_counts.get("succeeded") == 1


@scenario(worker=True)
def runs_failures(chronicle: Chronicle, ctx: ScenarioContext) -> None:
    """Run fail (abandoned, crash), 409 transitions, 422 unknown reason, 404 unknown run."""
    worker = ctx.as_worker
    draft = chronicle.experiments.create("Contract: run on draft")
    draft_variation = chronicle.variations.create(draft.id, config_json={"lr": 1})
    expect_error(ConflictError, 409, lambda: chronicle.runs.create(draft_variation.id))
    exp_id, variation_id = committed_variation(chronicle, ctx, "Contract: run failures")
    abandoned = chronicle.runs.create(variation_id)
    expect_error(
        ConflictError, 409, lambda: chronicle.experiments.conclude(exp_id, conclusion="early")
    )
    failed = worker.runs.fail(abandoned.id, reason="abandoned")
    assert failed.state == "failed" and failed.failure_reason == "abandoned"
    expect_error(ConflictError, 409, lambda: worker.runs.start(abandoned.id))
    crashed = chronicle.runs.create(variation_id)
    worker.runs.start(crashed.id)
    # A reason the server does not know: the SDK passes it through, the server says 422.
    unknown_reason: Any = "bored"
    expect_error(BadRequestError, 422, lambda: worker.runs.fail(crashed.id, reason=unknown_reason))
    result = worker.runs.fail(crashed.id, reason="crash", message="CUDA out of memory")
    assert result.failure_reason == "crash" and result.failure_message == "CUDA out of memory"
    expect_error(ConflictError, 409, lambda: worker.runs.succeed(crashed.id))
    expect_error(NotFoundError, 404, lambda: worker.runs.get(UNKNOWN_ID))


@scenario(worker=True, controls=True)
def runs_watchdog(chronicle: Chronicle, ctx: ScenarioContext) -> None:
    """Heartbeat watchdog: a run silent for 15 minutes fails with heartbeat_timeout."""
    worker = ctx.as_worker
    _, variation_id = committed_variation(chronicle, ctx, "Contract: watchdog")
    run = chronicle.runs.create(variation_id)
    worker.runs.start(run.id)
    worker.runs.heartbeat(run.id, progress={"step": 1})
    ctx.fake.advance(WATCHDOG_SECONDS)
    reaped = chronicle.runs.get(run.id)
    assert reaped.state == "failed" and reaped.failure_reason == "heartbeat_timeout"
    expect_error(ConflictError, 409, lambda: worker.runs.heartbeat(run.id))


@scenario(worker=True)
def runs_checkpoint(chronicle: Chronicle, ctx: ScenarioContext) -> None:
    """Checkpoint lookup: 404 before any; then the run itself (a restart) and a run resuming
    from it find its checkpoint, and a sibling run without resume_from_run_id does not."""
    worker = ctx.as_worker
    _, variation_id = committed_variation(chronicle, ctx, "Contract: checkpoint")
    first = chronicle.runs.create(variation_id)
    worker.runs.start(first.id)
    expect_error(NotFoundError, 404, lambda: worker.runs.checkpoint(first.id))
    created = worker.assets.create(
        kind="checkpoint",
        name="step-100",
        run_id=first.id,
        components=[spec("state", CHECKPOINT, "application/octet-stream")],
        metadata={"step": 100},
        idempotency_key=ctx.key("checkpoint"),
    )
    worker.transport.storage_request("PUT", created.upload_urls["state"], content=CHECKPOINT)
    worker.assets.finalize(created.asset.id)
    assert worker.runs.checkpoint(first.id).id == created.asset.id
    worker.runs.succeed(first.id)
    sibling = chronicle.runs.create(variation_id)
    expect_error(NotFoundError, 404, lambda: worker.runs.checkpoint(sibling.id))
    resumed = chronicle.runs.create(variation_id, resume_from_run_id=first.id)
    assert resumed.resume_from_run_id == first.id
    found = worker.runs.checkpoint(resumed.id)
    assert found.id == created.asset.id and found.state == "ready"
    urls = worker.assets.download_urls(found.id)
    assert download(worker, urls["state"]) == CHECKPOINT


# -- assets ----------------------------------------------------------------------
@scenario()
def assets_presigned_upload(chronicle: Chronicle, ctx: ScenarioContext) -> None:
    """Presign, storage PUT, fresh upload URLs, finalize, get, list, download URLs + GET."""
    exp = chronicle.experiments.create("Contract: presigned upload")
    created = chronicle.assets.create(
        kind="output",
        name="model",
        experiment_id=exp.id,
        metadata={"framework": "none"},
        components=[
            spec("weights.bin", WEIGHTS, "application/octet-stream"),
            spec("notes.txt", NOTES, "text/plain"),
        ],
        idempotency_key=ctx.key("presigned"),
    )
    assert created.asset.state == "pending"
    assert set(created.upload_urls) == {"weights.bin", "notes.txt"}
    chronicle.transport.storage_request("PUT", created.upload_urls["weights.bin"], content=WEIGHTS)
    remaining = chronicle.assets.upload_urls(created.asset.id)
    assert set(remaining) == {"notes.txt"}
    chronicle.transport.storage_request("PUT", remaining["notes.txt"], content=NOTES)
    ready = chronicle.assets.finalize(created.asset.id)
    assert ready.state == "ready" and ready.finalized_at
    assert all(c.uploaded for c in ready.components)
    assert chronicle.assets.get(ready.id).state == "ready"
    listed = chronicle.assets.list(experiment_id=exp.id, kind="output")
    assert [a.id for a in listed.items] == [ready.id]
    urls = chronicle.assets.download_urls(ready.id)
    assert set(urls) == {"weights.bin", "notes.txt"}
    assert download(chronicle, urls["notes.txt"]) == NOTES
    expect_error(ConflictError, 409, lambda: chronicle.assets.upload_urls(ready.id))


@scenario()
def assets_errors(chronicle: Chronicle, ctx: ScenarioContext) -> None:
    """Asset 400 duplicate components, 404 unknown asset/owner, 409 finalize/download early."""
    exp = chronicle.experiments.create("Contract: asset errors")
    notes = spec("notes.txt", NOTES, "text/plain")
    expect_error(
        BadRequestError,
        400,
        lambda: chronicle.assets.create(
            kind="output", name="dup", experiment_id=exp.id, components=[notes, notes]
        ),
    )
    expect_error(
        NotFoundError,
        404,
        lambda: chronicle.assets.create(
            kind="output", name="orphan", run_id=UNKNOWN_ID, components=[notes]
        ),
    )
    expect_error(NotFoundError, 404, lambda: chronicle.assets.get(UNKNOWN_ID))
    pending = chronicle.assets.create(
        kind="output", name="never uploaded", experiment_id=exp.id, components=[notes]
    )
    expect_error(ConflictError, 409, lambda: chronicle.assets.finalize(pending.asset.id))
    expect_error(ConflictError, 409, lambda: chronicle.assets.download_urls(pending.asset.id))


@scenario()
def assets_inline(chronicle: Chronicle, ctx: ScenarioContext) -> None:
    """Inline assets (text and JSON mapping) are ready at once; get and list by kind."""
    exp = chronicle.experiments.create("Contract: inline assets")
    report = chronicle.assets.create_inline(
        kind="research_report",
        name="summary.md",
        content="# Summary\n\nWarmup helped.\n",
        content_type="text/markdown",
        experiment_id=exp.id,
        metadata={"author": "contract"},
    )
    assert report.state == "ready" and [c.name for c in report.components] == ["content"]
    env = chronicle.assets.create_inline(
        kind="environment",
        name="env.json",
        content={"python": "3.12", "packages": {"torch": "2.5"}},
        experiment_id=exp.id,
        idempotency_key=ctx.key("inline-env"),
    )
    assert env.state == "ready"
    assert chronicle.assets.get(report.id).kind == "research_report"
    reports = chronicle.assets.list(experiment_id=exp.id, kind="research_report")
    assert [a.id for a in reports.items] == [report.id]


# -- search ----------------------------------------------------------------------
@scenario()
def search_results(chronicle: Chronicle, ctx: ScenarioContext) -> None:
    """Search over a research report and an arxiv asset."""
    # The query is this run's tag, a word only these two documents' titles contain,
    # so a long-lived server's documents from earlier recordings stay out of the
    # results.  It lives in metadata, never in content: the server hashes content,
    # and a per-run hash would churn the cassette.
    word = ctx.run_tag
    exp = chronicle.experiments.create("Contract: search")
    chronicle.assets.create_inline(
        kind="research_report",
        name="zeppelin-report.md",
        content="Zeppelin warmup schedules reduce loss spikes in small transformers.",
        content_type="text/markdown",
        experiment_id=exp.id,
        metadata={"title": f"Zeppelin warmup report {word}"},
    )
    chronicle.assets.create_inline(
        kind="arxiv",
        name="2401.00001",
        content="Zeppelin: warmup schedules revisited.",
        metadata={
            "title": f"Zeppelin warmup schedules {word}",
            "abstract": "We revisit zeppelin warmup schedules for small transformers.",
        },
    )
    found = chronicle.search.query(word, types=["research_report", "arxiv"], limit=10)
    assert found.query == word
    assert sorted(r.type for r in found.results) == ["arxiv", "research_report"]
    arxiv_only = chronicle.search.query(word, types="arxiv", limit=10)
    assert [r.type for r in arxiv_only.results] == ["arxiv"]


@scenario(controls=True)
def search_unconfigured(chronicle: Chronicle, ctx: ScenarioContext) -> None:
    """Search answers 503 when the server has no search backend (ServerError)."""
    ctx.fake.set_search_configured(False)
    try:
        error = expect_error(ServerError, 503, lambda: chronicle.search.query("anything"))
        assert error.message
    finally:
        ctx.fake.set_search_configured(True)


# -- auth ------------------------------------------------------------------------
@scenario(worker=True)
def auth_errors(chronicle: Chronicle, ctx: ScenarioContext) -> None:
    """401 for an unknown token, 403 for a worker mutation, and what a worker may read."""
    expect_error(AuthenticationError, 401, lambda: ctx.intruder.experiments.list(limit=1))
    expect_error(
        PermissionDeniedError, 403, lambda: ctx.as_worker.experiments.create("Contract: nope")
    )
    exp = chronicle.experiments.create("Contract: readable by workers")
    assert ctx.as_worker.experiments.get(exp.id).id == exp.id
    expect_error(PermissionDeniedError, 403, lambda: ctx.as_worker.experiments.commit(exp.id))
