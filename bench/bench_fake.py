"""Benchmark the fake's harness: per-test fixture overhead and server cold start.

    python bench/bench_fake.py

Prints figures and ratios (no pass/fail): the `methodic_fake` fixture's per-test
cost (median setup + teardown of the per-test part: reset and environment), next to
an empty test's; and the cold start of `FakeChronicle.start()` in a fresh process,
next to starting a bare one-route FastAPI app under uvicorn the same way.
Aims: per-test overhead under 2 ms, cold start under 1 s.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

import pytest

TESTS = 300
COLD_RUNS = 5

TEST_FILE = textwrap.dedent(
    """
    import pytest

    @pytest.mark.parametrize("i", range({n}))
    def test_with_fixture(i, methodic_fake):
        pass

    @pytest.mark.parametrize("i", range({n}))
    def test_without_fixture(i):
        pass
    """
)

COLD_FAKE = textwrap.dedent(
    """
    import time
    t0 = time.perf_counter()
    from methodic_fake import FakeChronicle
    fake = FakeChronicle.start()
    print(time.perf_counter() - t0)
    fake.stop()
    """
)

COLD_BARE = textwrap.dedent(
    """
    import time
    t0 = time.perf_counter()
    import socket, threading
    import uvicorn
    from fastapi import FastAPI
    app = FastAPI()

    @app.get("/ping")
    async def ping():
        return {"ok": True}

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.001)
    print(time.perf_counter() - t0)
    server.should_exit = True
    thread.join()
    """
)


class _Durations:
    """pytest plugin: setup + teardown seconds per test, by test function name."""

    def __init__(self) -> None:
        self.per_test: dict[str, float] = {}

    def pytest_runtest_logreport(self, report: Any) -> None:
        if report.when in ("setup", "teardown"):
            self.per_test[report.nodeid] = self.per_test.get(report.nodeid, 0.0) + report.duration


def fixture_overhead() -> tuple[float, float, float]:
    """(median with fixture, median without, first test with fixture) in seconds."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "test_overhead.py"
        path.write_text(TEST_FILE.format(n=TESTS))
        durations = _Durations()
        code = pytest.main(
            [str(path), "-q", "-p", "no:cacheprovider", "-p", "no:randomly", "--rootdir", tmp],
            plugins=[durations],
        )
        if code != 0:
            raise SystemExit(f"benchmark tests failed (exit {code})")
    with_fixture = [v for k, v in durations.per_test.items() if "test_with_fixture" in k]
    without = [v for k, v in durations.per_test.items() if "test_without_fixture" in k]
    # The first test with the fixture also starts the session's server.
    return statistics.median(with_fixture[1:]), statistics.median(without), with_fixture[0]


def cold_start(script: str) -> float:
    """Median seconds from a fresh interpreter to a serving server (imports included)."""
    samples = []
    for _ in range(COLD_RUNS):
        out = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, check=True
        )
        samples.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(samples)


def main() -> None:
    with_fixture, without, first = fixture_overhead()
    fake_cold = cold_start(COLD_FAKE)
    bare_cold = cold_start(COLD_BARE)
    overhead = with_fixture - without
    print()
    print("methodic_fake fixture")
    print(
        f"  per-test setup+teardown, with fixture:    {with_fixture * 1e3:8.3f} ms (median of {TESTS - 1})"
    )
    print(
        f"  per-test setup+teardown, without fixture: {without * 1e3:8.3f} ms (median of {TESTS})"
    )
    print(f"  fixture's per-test overhead:              {overhead * 1e3:8.3f} ms (aim < 2 ms)")
    print(f"  first test (includes server start):       {first * 1e3:8.1f} ms")
    print("server cold start (fresh interpreter, imports included)")
    print(
        f"  FakeChronicle.start():                    {fake_cold * 1e3:8.1f} ms (median of {COLD_RUNS}, aim < 1 s)"
    )
    print(
        f"  bare FastAPI app under uvicorn:           {bare_cold * 1e3:8.1f} ms (median of {COLD_RUNS})"
    )
    print(f"  ratio fake / bare:                        {fake_cold / bare_cold:8.2f}x")


if __name__ == "__main__":
    main()
