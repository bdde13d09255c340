"""FakeChronicle harnesses and the pytest fixture's contract."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx2
import pytest

from methodic import Chronicle
from methodic_fake import FakeChronicle, create_app


def test_fixture_points_bare_chronicle_at_the_fake(fake: FakeChronicle) -> None:
    assert os.environ["CHRONICLE_BASE_URL"] == fake.base_url
    assert os.environ["CHRONICLE_API_KEY"] == fake.worker_key
    with Chronicle() as chronicle:
        assert chronicle.experiments.list().items == []


def test_reset_forgets_everything_a_test_can_change(fake: FakeChronicle) -> None:
    """What the fixture runs before each test, checked within one test (no order dependence)."""
    researcher = fake.client()
    first = researcher.experiments.create("left behind", idempotency_key="k")
    fake.faults.add("runs.get", "status", status=500)
    fake.advance(hours=3)
    fake.freeze()
    fake.search_configured = False

    fake.reset()

    assert researcher.experiments.list().items == []
    assert fake.backend.registry.idempotency == {}
    # The same key now creates afresh instead of replaying the forgotten experiment.
    assert researcher.experiments.create("new", idempotency_key="k").id != first.id
    assert fake.faults.pending() == []
    assert fake.clock.offset == 0 and not fake.clock.frozen
    assert abs(fake.now() - time.time()) < 60
    assert fake.search_configured is True


def test_the_fixture_restores_the_environment(tmp_path: Path) -> None:
    """CHRONICLE_* variables point at the fake during a test and are restored after it."""
    (tmp_path / "test_env.py").write_text(
        textwrap.dedent(
            """
            import os

            def test_inside(methodic_fake):
                assert os.environ["CHRONICLE_BASE_URL"] == methodic_fake.base_url
                assert os.environ["CHRONICLE_API_KEY"] == methodic_fake.worker_key

            def test_after():
                assert os.environ.get("CHRONICLE_BASE_URL") == "http://before.invalid"
                assert "CHRONICLE_API_KEY" not in os.environ
            """
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHRONICLE_")}
    env["CHRONICLE_BASE_URL"] = "http://before.invalid"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            "test_env.py",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def test_start_is_a_context_manager_on_a_free_port() -> None:
    with FakeChronicle.start() as first, FakeChronicle.start() as second:
        assert first.base_url != second.base_url
        assert first.base_url.startswith("http://127.0.0.1:")
        first.client().experiments.create("only in first")
        # Two fakes in one process share nothing: data, keys or signing secrets.
        assert second.client().experiments.list().items == []
        assert first.worker_key != second.worker_key
        url = first.base_url
    with pytest.raises(httpx2.ConnectError):
        httpx2.get(url + "/experiments", timeout=2)


def test_in_process_uses_the_test_client() -> None:
    with FakeChronicle.in_process() as fake:
        assert fake.base_url == "http://testserver"
        chronicle = fake.client("agent")
        exp = chronicle.experiments.create("no socket")
        assert fake.client("worker").experiments.get(exp.id).title == "no socket"
        fake.reset()
        assert chronicle.experiments.list().items == []


def test_in_process_runs_on_httpx2_with_no_warning() -> None:
    # starlette's TestClient prefers httpx2 and deprecates httpx; the harness filters no
    # warning, so any warning (starlette's, or a ResourceWarning) fails this child.
    code = textwrap.dedent(
        """
        import sys
        import httpx2
        from methodic_fake import FakeChronicle

        fake = FakeChronicle.in_process()
        raw = fake.http()
        assert isinstance(raw, httpx2.Client), type(raw).__mro__
        assert isinstance(fake.client().transport.http_client, httpx2.Client)
        assert fake.client().experiments.list().items == []
        fake.stop()
        assert not [m for m in sys.modules if m.split(".")[0] in ("httpx", "httpcore")]
        """
    )
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr


def test_create_app_is_independent_per_call() -> None:
    first, second = create_app(), create_app()
    assert first.state.backend is not second.state.backend


def test_reset_is_cheap(fake: FakeChronicle) -> None:
    fake.client().experiments.create("x")
    samples = []
    for _ in range(50):
        start = time.perf_counter()
        fake.reset()
        samples.append(time.perf_counter() - start)
    # Not a wall-clock assertion on the machine: a sanity bound 50x above the aim.
    assert sorted(samples)[25] < 0.1


def test_startup_failure_is_a_clear_error() -> None:
    with FakeChronicle.start() as running:
        port = int(running.base_url.rsplit(":", 1)[1])
        with pytest.raises(OSError):
            FakeChronicle.start(port=port)


def test_plugin_and_package_import_without_fastapi() -> None:
    code = (
        "import sys, methodic_fake, methodic_fake.pytest_plugin;"
        "heavy = [m for m in ('fastapi', 'uvicorn', 'starlette', 'pydantic') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_advance_accepts_units(fake: FakeChronicle) -> None:
    before = fake.clock.offset
    fake.advance(seconds=1, minutes=2, hours=3)
    assert fake.clock.offset - before == 1 + 120 + 3 * 3600
    with pytest.raises(ValueError):
        fake.advance(seconds=-5)


def test_server_that_dies_during_startup_raises_instead_of_hanging() -> None:
    from methodic_fake.server import ServerThread

    server = ServerThread(create_app())
    server._sock.close()  # uvicorn cannot serve a closed socket
    with pytest.raises(RuntimeError, match="exited during startup"):
        server.start(timeout=5)


def test_stopping_removes_the_temp_blob_dir() -> None:
    fake = FakeChronicle.in_process()
    exp = fake.client().experiments.create("t")
    fake.client().assets.create_inline(kind="output", name="o", content="x", experiment_id=exp.id)
    root = fake.backend.blobs.root
    assert root.exists()
    fake.stop()
    assert not root.exists()


def test_a_stopped_fake_refuses_new_clients() -> None:
    fake = FakeChronicle.start()
    fake.stop()
    # Still a server fake: it must not fall back to an in-process client while
    # CHRONICLE_BASE_URL would point at the dead port.
    assert not fake.in_process_mode
    with pytest.raises(RuntimeError, match="stopped"):
        fake.client()
    with pytest.raises(RuntimeError, match="stopped"):
        fake.http()
    fake.stop()  # stopping twice is harmless


def test_a_stopped_in_process_fake_refuses_new_clients() -> None:
    fake = FakeChronicle.in_process()
    fake.stop()
    assert fake.in_process_mode
    with pytest.raises(RuntimeError, match="stopped"):
        fake.client("worker")


def test_the_fixture_value_cannot_stop_the_session_server(fake: FakeChronicle) -> None:
    with pytest.raises(RuntimeError, match="session"):
        fake.stop()
    with pytest.raises(RuntimeError, match="session"), fake:
        pass  # pragma: no cover - entering already fails
    # The server is still the one the environment points at, reached over a socket.
    assert not fake.in_process_mode
    assert fake.client().experiments.create("still up").title == "still up"
    with Chronicle() as chronicle:
        assert len(chronicle.experiments.list().items) == 1
