"""Chronicle construction: env fallbacks, repr, lifecycle, upload pool, thread sharing."""

from __future__ import annotations

import functools
import threading
import time

import httpx2
import pytest

from methodic import Chronicle, ChronicleError
from methodic.namespaces import Assets, Experiments, Runs, Search, Variations

from .scripted import API_KEY, BASE_URL, EXPERIMENT, ScriptedAPI


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHRONICLE_BASE_URL", raising=False)
    monkeypatch.delenv("CHRONICLE_API_KEY", raising=False)


def test_arguments() -> None:
    with Chronicle(BASE_URL, API_KEY) as chronicle:
        assert chronicle.base_url == BASE_URL


def test_env_fallbacks(monkeypatch: pytest.MonkeyPatch, api: ScriptedAPI) -> None:
    monkeypatch.setenv("CHRONICLE_BASE_URL", "http://from-env.test")
    monkeypatch.setenv("CHRONICLE_API_KEY", "sk_agent_fromenvsecret")
    api.route("GET", "/experiments/e1", json=EXPERIMENT)
    http = httpx2.Client(transport=httpx2.MockTransport(api.handler))
    with Chronicle(http_client=http) as chronicle:
        chronicle.experiments.get("e1")
    assert str(api.last.url) == "http://from-env.test/experiments/e1"
    assert api.last.headers["Authorization"] == "Bearer sk_agent_fromenvsecret"


def test_arguments_win_over_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHRONICLE_BASE_URL", "http://from-env.test")
    monkeypatch.setenv("CHRONICLE_API_KEY", "sk_agent_fromenvsecret")
    with Chronicle(BASE_URL, API_KEY) as chronicle:
        assert chronicle.base_url == BASE_URL


def test_missing_both_names_both() -> None:
    with pytest.raises(ChronicleError) as info:
        Chronicle()
    message = str(info.value)
    for name in ("base_url", "CHRONICLE_BASE_URL", "api_key", "CHRONICLE_API_KEY"):
        assert name in message


def test_missing_key_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHRONICLE_BASE_URL", BASE_URL)
    with pytest.raises(ChronicleError, match="CHRONICLE_API_KEY") as info:
        Chronicle()
    assert "CHRONICLE_BASE_URL" not in str(info.value)


def test_surrounding_whitespace_is_stripped_from_key(api: ScriptedAPI) -> None:
    api.route("GET", "/experiments/e1", json=EXPERIMENT)
    http = httpx2.Client(transport=httpx2.MockTransport(api.handler))
    with Chronicle(BASE_URL, f"  {API_KEY}\n", http_client=http) as chronicle:
        chronicle.experiments.get("e1")
        assert "sk_worker_…" in repr(chronicle)
    assert api.last.headers["Authorization"] == f"Bearer {API_KEY}"


@pytest.mark.parametrize("key", ["sk_worker_SEC RET", "sk_worker_SEC\x00RET", "sk_worker_SÉCRET"])
def test_unsendable_key_is_refused_without_echoing_it(key: str) -> None:
    # Left to h11, this fails mid-request with the whole header in the message.
    with pytest.raises(ChronicleError, match="cannot be sent in an HTTP header") as info:
        Chronicle(BASE_URL, key)
    assert "SEC" not in str(info.value)


@pytest.mark.parametrize("url", ["chronicle.example.com", "ftp://x.test", "http://[::1"])
def test_bad_base_url(url: str) -> None:
    with pytest.raises(ChronicleError, match="base_url"):
        Chronicle(url, API_KEY)


@pytest.mark.parametrize(
    ("key", "shown"),
    [
        ("sk_worker_w1secretsecret", "sk_worker_…"),
        ("sk_agent_abcdef", "sk_agent_…"),
        ("eyJhbGciOiJSUzI1NiJ9.payload.sig", "<token>"),
        ("sk_worker_", "<token>"),
        ("sk_notatypebecauseitiswaytoolong_x", "<token>"),
    ],
)
def test_repr_shows_only_key_type(key: str, shown: str) -> None:
    with Chronicle(BASE_URL, key) as chronicle:
        text = repr(chronicle)
    assert text == f"<Chronicle base_url={BASE_URL!r} api_key={shown}>"


def test_repr_drops_userinfo_from_base_url() -> None:
    with Chronicle("http://user:pw@chronicle.test", API_KEY) as chronicle:
        assert "pw" not in repr(chronicle)


def test_namespaces_share_one_transport() -> None:
    with Chronicle(BASE_URL, API_KEY) as chronicle:
        kinds = (Experiments, Variations, Runs, Assets, Search)
        spaces: tuple[object, ...] = (chronicle.experiments, chronicle.variations)
        spaces += (chronicle.runs, chronicle.assets, chronicle.search)
        for space, kind in zip(spaces, kinds, strict=True):
            assert isinstance(space, kind)
            assert space._transport is chronicle.transport
        assert chronicle.experiments is chronicle.experiments


def test_namespaces_created_once_across_threads() -> None:
    with Chronicle(BASE_URL, API_KEY) as chronicle:
        seen: list[object] = []
        barrier = threading.Barrier(8)

        def grab() -> None:
            barrier.wait()
            seen.extend([chronicle.runs, chronicle.assets])

        threads = [threading.Thread(target=grab) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len({id(ns) for ns in seen}) == 2


def test_close_leaves_a_callers_client_open() -> None:
    http = httpx2.Client()
    Chronicle(BASE_URL, API_KEY, http_client=http).close()
    assert not http.is_closed
    http.close()


def test_context_manager_closes_its_own_client() -> None:
    with Chronicle(BASE_URL, API_KEY) as chronicle:
        http = chronicle.transport.http_client
    assert http.is_closed


def test_the_upload_manager_is_lazy_bounded_and_shut_down() -> None:
    chronicle = Chronicle(BASE_URL, API_KEY)
    assert chronicle._uploads is None
    uploads = chronicle.uploads
    assert uploads is chronicle.uploads
    names: list[str] = []
    pool = uploads._transfers
    assert pool.max_workers == 4
    pool.submit(lambda: names.append(threading.current_thread().name)).result()
    assert names[0].startswith("methodic-upload")
    chronicle.close()
    with pytest.raises(RuntimeError):
        pool.submit(print)
    with pytest.raises(ChronicleError, match="closed"):
        _ = chronicle.uploads


def test_the_upload_manager_is_created_once_across_threads() -> None:
    with Chronicle(BASE_URL, API_KEY) as chronicle:
        seen: list[object] = []
        barrier = threading.Barrier(8)

        def grab() -> None:
            barrier.wait()
            seen.append(chronicle.uploads)

        threads = [threading.Thread(target=grab) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len({id(p) for p in seen}) == 1


def test_one_client_shared_by_threads(api: ScriptedAPI, chronicle: Chronicle) -> None:
    api.route("GET", "/experiments/e1", json=EXPERIMENT)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(20):
                assert chronicle.experiments.get("e1").id == "e1"
        except BaseException as err:  # collected and asserted below
            errors.append(err)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert api.count("GET", "/experiments/e1") == 80


def test_close_waits_for_queued_background_uploads() -> None:
    # docs/sdk.md promises it: leaving `with Chronicle()` must not drop queued uploads.
    import time

    chronicle = Chronicle(BASE_URL, API_KEY, http_client=httpx2.Client())
    finished: list[int] = []
    gate = threading.Event()

    def upload(n: int) -> None:
        gate.wait(5)
        time.sleep(0.05)
        finished.append(n)

    pool = chronicle.uploads._transfers
    for n in range(6):  # more than the pool's workers: some are still queued
        pool.submit(functools.partial(upload, n))
    gate.set()
    chronicle.close()
    assert sorted(finished) == list(range(6))
    with pytest.raises(RuntimeError):
        pool.submit(functools.partial(upload, 7))


@pytest.mark.parametrize("exit_with", [KeyboardInterrupt, SystemExit])
def test_leaving_on_ctrl_c_or_exit_does_not_wait_for_uploads(
    exit_with: type[BaseException],
) -> None:
    # The process is meant to end now; the journal keeps what was not sent.
    release = threading.Event()
    started = threading.Event()
    done = threading.Event()

    def upload() -> None:
        started.set()
        release.wait(30)
        done.set()

    try:
        with pytest.raises(exit_with), Chronicle(BASE_URL, API_KEY) as chronicle:
            chronicle.uploads._transfers.submit(upload)
            assert started.wait(5)
            raise exit_with
        assert not done.is_set()  # left the block while the upload still ran
    finally:
        release.set()


def test_leaving_on_an_error_still_waits_for_uploads() -> None:
    finished: list[int] = []

    def upload() -> None:
        time.sleep(0.1)
        finished.append(1)

    with pytest.raises(ValueError), Chronicle(BASE_URL, API_KEY) as chronicle:
        chronicle.uploads._transfers.submit(upload)
        raise ValueError("a crash: its checkpoint is still worth keeping")
    assert finished == [1]
