"""``chronicle.with_options(...)``: per-call timeout and headers on the same connection pool.

Against the fake over a real socket (the in-process client ignores timeouts), with a
hook on the shared ``httpx2.Client`` recording what each request carried.
"""

from __future__ import annotations

import pytest

from methodic import APITimeoutError, Chronicle, ChronicleError, Experiment
from methodic_fake import FakeChronicle

CANARY = "sk_worker_canary0000000secretsecret"


class Seen:
    """Every request the shared client sends: (method, url, headers)."""

    def __init__(self, chronicle: Chronicle) -> None:
        self.requests: list[tuple[str, str, dict[str, list[str]]]] = []
        http = chronicle.transport.http_client
        http.event_hooks = {"request": [self._record]}

    def _record(self, request: object) -> None:
        headers: dict[str, list[str]] = {}
        for name, value in request.headers.multi_items():  # type: ignore[attr-defined]
            headers.setdefault(name.lower(), []).append(value)
        self.requests.append((request.method, str(request.url), headers))  # type: ignore[attr-defined]

    def last(self) -> dict[str, list[str]]:
        return self.requests[-1][2]


@pytest.fixture
def researcher(methodic_fake: FakeChronicle) -> Chronicle:
    return methodic_fake.client("researcher")


def test_the_derived_client_shares_the_pool_and_the_uploads(researcher: Chronicle) -> None:
    derived = researcher.with_options(timeout=5, headers={"X-Request-Source": "nightly"})
    assert derived is not researcher
    assert derived.transport.http_client is researcher.transport.http_client
    assert derived.uploads is researcher.uploads
    assert derived.base_url == researcher.base_url
    assert derived.experiments is not researcher.experiments  # its own transport
    assert repr(derived).endswith("timeout=5 headers=['X-Request-Source']>")
    assert "nightly" not in repr(derived)  # header values stay out of reprs


def test_headers_go_on_its_calls_only_never_to_storage(
    methodic_fake: FakeChronicle, researcher: Chronicle
) -> None:
    seen = Seen(researcher)
    traced = researcher.with_options(headers={"X-Request-Source": "nightly", "User-Agent": "nb/1"})
    exp = traced.experiments.create("traced")
    assert seen.last()["x-request-source"] == ["nightly"]
    assert seen.last()["user-agent"] == ["nb/1"]  # replaced, not sent twice
    assert seen.last()["authorization"] == [f"Bearer {methodic_fake.researcher_token}"]
    researcher.experiments.get(exp.id)
    assert "x-request-source" not in seen.last()
    assert seen.last()["user-agent"][0].startswith("methodic-python/")

    # Handles built on it send through it too; a presigned PUT gets none of it.
    handle = Experiment(traced, exp.id)
    handle.commit()
    assert seen.last()["x-request-source"] == ["nightly"]
    asset = traced.assets.create_inline(kind="report", name="r", content="x", experiment_id=exp.id)
    urls = traced.assets.download_urls(asset.id)
    traced.transport.storage_request("GET", urls["content"])
    method, url, headers = seen.requests[-1]
    assert (method, "/_storage/" in url) == ("GET", True)
    assert "x-request-source" not in headers and "authorization" not in headers


def test_the_timeout_applies_to_its_calls_only(
    methodic_fake: FakeChronicle, researcher: Chronicle
) -> None:
    exp = researcher.experiments.create("slow")
    impatient = researcher.with_options(timeout=0.2)
    methodic_fake.faults.add("experiments.get", "latency", seconds=1.0)
    with pytest.raises(APITimeoutError):
        impatient.experiments.get(exp.id)
    methodic_fake.faults.clear()
    methodic_fake.faults.add("experiments.get", "latency", seconds=0.5)
    assert researcher.experiments.get(exp.id).id == exp.id  # 30 s default: waits it out
    # Stacked options keep both; None keeps what the parent had.
    both = impatient.with_options(headers={"X-Trace": "1"}).with_options(timeout=None)
    assert repr(both).endswith("timeout=0.2 headers=['X-Trace']>")
    methodic_fake.faults.add("experiments.get", "latency", seconds=1.0)
    with pytest.raises(APITimeoutError):
        both.experiments.get(exp.id)


@pytest.mark.parametrize(
    "name",
    [
        "Authorization",
        "authorization",
        "Proxy-Authorization",
        "Cookie",
        "X-Api-Key",
        "X-API-KEY",
        "Api-Key",
        "X-Auth-Token",
        "X-Amz-Security-Token",
        "X-Auth",
        "X-Client-Secret",
        "X-Password",
        "Authentication-Info",
    ],
)
def test_credential_headers_are_refused_without_echoing_them(
    researcher: Chronicle, name: str
) -> None:
    with pytest.raises(ValueError, match="could carry a credential") as info:
        researcher.with_options(headers={name: CANARY})
    assert CANARY not in str(info.value) and CANARY not in repr(info.value)


@pytest.mark.parametrize(
    ("headers", "error", "match"),
    [
        ({"Idempotency-Key": "k"}, ValueError, "pass idempotency_key= to each create"),
        ({"Host": "evil.example"}, ValueError, "base_url"),
        ({"Content-Length": "0"}, ValueError, "from the body"),
        ({"Content-Type": "text/plain"}, ValueError, "for its body"),
        ({"X-Ok": "a\r\nX-Injected: 1"}, ValueError, "line break"),
        ({"Bad Name": "v"}, ValueError, "not a valid HTTP header name"),
        ({"X-Trace": "1", "x-trace": "2"}, ValueError, "given twice"),
        ({"X-Trace": 1}, TypeError, "must be str"),
        ([("X-Trace", "1")], TypeError, "mapping"),
    ],
)
def test_other_headers_the_transport_owns_are_refused(
    researcher: Chronicle, headers: object, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        researcher.with_options(headers=headers)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("timeout", "error"),
    [
        (0, ValueError),
        (-1.0, ValueError),
        (float("nan"), ValueError),
        (float("inf"), ValueError),
        (True, TypeError),
        ("5", TypeError),
    ],
)
def test_a_timeout_must_be_positive_seconds(
    researcher: Chronicle, timeout: object, error: type[Exception]
) -> None:
    with pytest.raises(error, match="timeout"):
        researcher.with_options(timeout=timeout)  # type: ignore[arg-type]


def test_closing_a_derived_client_stops_it_alone_and_the_root_stops_all(
    methodic_fake: FakeChronicle,
) -> None:
    root = methodic_fake.client("researcher")
    exp = root.experiments.create("kept")
    with root.with_options(timeout=5) as derived:
        assert derived.experiments.get(exp.id).id == exp.id
    with pytest.raises(ChronicleError, match="closed"):
        derived.experiments.get(exp.id)
    with pytest.raises(ChronicleError, match="closed"):
        derived.uploads  # noqa: B018
    assert root.experiments.get(exp.id).id == exp.id  # the pool is still open

    other = root.with_options(headers={"X-Trace": "1"})
    root.close()
    with pytest.raises(ChronicleError, match="closed"):
        other.experiments.get(exp.id)
    with pytest.raises(ChronicleError, match="closed"):
        root.with_options(timeout=1)
