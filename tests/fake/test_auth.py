"""Bearer auth and principal permissions."""

from __future__ import annotations

import pytest

from methodic import AuthenticationError, Chronicle, PermissionDeniedError
from methodic_fake import FakeChronicle
from methodic_fake.auth import KeyRing, mint_api_key, parse_api_key

from .conftest import committed_variation


@pytest.mark.parametrize(
    ("header", "detail"),
    [
        (None, "missing bearer token"),
        ("Basic dXNlcjpwYXNz", "malformed Authorization header: expected 'Bearer <token>'"),
        ("Bearer", "malformed Authorization header: expected 'Bearer <token>'"),
        ("Bearer a b", "malformed Authorization header: expected 'Bearer <token>'"),
        ("Bearer sk_worker_0123456789abNOTTHESECRET", "invalid API key"),
        ("Bearer eyJh.eyJz.c2ln", "invalid access token"),
        ("Bearer hunter2", "malformed bearer token: expected an access token or an sk_ key"),
    ],
)
def test_401_bodies(fake: FakeChronicle, header: str | None, detail: str) -> None:
    headers = {"Authorization": header} if header else {}
    response = fake.http(None).get("/experiments", headers=headers)
    assert response.status_code == 401
    assert response.json() == {"detail": detail}
    assert response.headers["www-authenticate"] == "Bearer"


def test_sdk_raises_authentication_error(fake: FakeChronicle) -> None:
    wrong = mint_api_key("agent")
    with (
        Chronicle(base_url=fake.base_url, api_key=wrong) as chronicle,
        pytest.raises(AuthenticationError),
    ):
        chronicle.experiments.list()


def test_every_chronicle_route_needs_a_token(fake: FakeChronicle) -> None:
    http = fake.http(None)
    calls = [
        ("GET", "/experiments"),
        ("POST", "/experiments"),
        ("GET", "/experiments/x"),
        ("PATCH", "/experiments/x"),
        ("POST", "/experiments/x/commit"),
        ("POST", "/experiments/x/conclude"),
        ("POST", "/experiments/x/retract"),
        ("GET", "/experiments/x/lineage"),
        ("POST", "/experiments/x/variations"),
        ("GET", "/experiments/x/variations"),
        ("GET", "/variations/x"),
        ("POST", "/variations/x/runs"),
        ("GET", "/runs"),
        ("GET", "/runs/x"),
        ("GET", "/runs/x/config"),
        ("POST", "/runs/x/start"),
        ("POST", "/runs/x/heartbeat"),
        ("POST", "/runs/x/succeed"),
        ("POST", "/runs/x/fail"),
        ("GET", "/runs/x/checkpoint"),
        ("POST", "/assets"),
        ("GET", "/assets"),
        ("GET", "/assets/x"),
        ("PUT", "/assets/x/finalize"),
        ("POST", "/assets/x/upload-urls"),
        ("GET", "/assets/x/download-urls"),
        ("GET", "/search?q=x"),
    ]
    for method, path in calls:
        response = http.request(method, path)
        assert response.status_code == 401, (method, path, response.status_code)


def test_worker_may_not_do_researcher_mutations(fake: FakeChronicle) -> None:
    researcher, worker = fake.client("researcher"), fake.client("worker")
    exp_id, variation_id = committed_variation(researcher)
    draft = researcher.experiments.create("draft")
    forbidden = [
        lambda: worker.experiments.create("x"),
        lambda: worker.experiments.update(draft.id, title="x"),
        lambda: worker.experiments.commit(draft.id),
        lambda: worker.experiments.conclude(exp_id, conclusion="x"),
        lambda: worker.experiments.retract(exp_id, reason="x"),
        lambda: worker.variations.create(draft.id, config_json={}),
        lambda: worker.runs.create(variation_id),
        lambda: worker.assets.create_inline(kind="research_report", name="r", content="c"),
    ]
    for call in forbidden:
        with pytest.raises(PermissionDeniedError) as info:
            call()
        assert info.value.body["detail"].startswith("a worker key may ")
    # ...and nothing changed.
    assert researcher.experiments.get(draft.id).state == "draft"


def test_worker_may_read_and_drive_runs(fake: FakeChronicle) -> None:
    researcher, worker = fake.client("researcher"), fake.client("worker")
    exp_id, variation_id = committed_variation(researcher)
    run = researcher.runs.create(variation_id)
    assert worker.experiments.get(exp_id).id == exp_id
    assert len(worker.experiments.list().items) == 1
    assert worker.variations.get(variation_id).id == variation_id
    assert worker.experiments.lineage(exp_id).root_id == exp_id
    assert worker.runs.config(run.id).run_id == run.id
    worker.runs.start(run.id)
    worker.runs.heartbeat(run.id)
    worker.assets.create_inline(kind="output", name="o", content="c", run_id=run.id)
    assert worker.runs.succeed(run.id).state == "succeeded"
    assert worker.search.query("anything").total == 0


def test_agent_may_do_what_a_researcher_may(fake: FakeChronicle) -> None:
    agent = fake.client("agent")
    exp_id, variation_id = committed_variation(agent)
    run = agent.runs.create(variation_id)
    agent.runs.fail(run.id, reason="abandoned")
    assert agent.experiments.conclude(exp_id, conclusion="c").state == "concluded"


def test_key_shapes(fake: FakeChronicle) -> None:
    assert fake.researcher_token.count(".") == 2
    assert parse_api_key(fake.agent_key) is not None and fake.agent_key.startswith("sk_agent_")
    assert parse_api_key(fake.worker_key) is not None and fake.worker_key.startswith("sk_worker_")
    assert fake.worker_key not in repr(fake)


def test_configured_keys_and_type_confusion() -> None:
    worker = mint_api_key("worker")
    ring = KeyRing(["eyJa.eyJb.c2ln"], [], [worker])
    assert ring.authenticate(f"Bearer {worker}").role == "worker"
    # The same id+secret presented as an agent key is not an agent key.
    forged = worker.replace("sk_worker_", "sk_agent_")
    with pytest.raises(Exception, match="invalid API key"):
        ring.authenticate(f"Bearer {forged}")
    with FakeChronicle.in_process(keys={"worker": worker}) as fake:
        assert fake.worker_key == worker
        assert fake.client("worker").experiments.list().items == []
