"""How much does methodic cost over raw httpx2?

Prints, from one run against a loopback uvicorn server running the Chronicle fake:

* the median per-call time of ``chronicle.experiments.get(id)`` and of a raw
  ``httpx2.Client.get(...).json()`` on the same route, and their ratio (aim <= 1.05);
* the import time of ``methodic`` and of ``httpx2`` in fresh interpreters (median of
  several runs; aim: methodic within 20 ms of httpx2, which it imports).

Run: ``.venv/bin/python bench/bench_sdk.py [--calls N] [--imports N]``. Figures are
printed, never asserted: wall-clock numbers vary across machines.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import httpx2

from methodic import Chronicle
from methodic_fake import FakeChronicle


def _time_calls(call: Callable[[], object], n: int) -> list[float]:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return samples


def bench_calls(base_url: str, token: str, experiment_id: str, calls: int) -> None:
    with Chronicle(base_url, token) as chronicle, httpx2.Client() as raw:
        url = f"{base_url}/experiments/{experiment_id}"
        headers = {"Authorization": f"Bearer {token}"}

        def sdk() -> object:
            return chronicle.experiments.get(experiment_id)

        def plain() -> object:
            response = raw.get(url, headers=headers)
            response.raise_for_status()
            return response.json()

        assert sdk().id == plain()["id"]  # type: ignore[attr-defined,index]
        _time_calls(sdk, 200)  # warm up connections, caches, the server
        _time_calls(plain, 200)
        sdk_samples: list[float] = []
        raw_samples: list[float] = []
        # Interleave small blocks so drift (other load, thermal) hits both equally.
        block = 50
        for i in range(max(1, calls // block)):
            order = [(sdk, sdk_samples), (plain, raw_samples)]
            for fn, samples in order if i % 2 == 0 else reversed(order):
                samples.extend(_time_calls(fn, block))
    sdk_ms = statistics.median(sdk_samples) * 1000
    raw_ms = statistics.median(raw_samples) * 1000
    print(f"per call, median of {len(sdk_samples)} (GET /experiments/{{id}} on loopback):")
    print(f"  chronicle.experiments.get(id)    {sdk_ms:8.3f} ms")
    print(f"  httpx2.Client.get(...).json()    {raw_ms:8.3f} ms")
    print(f"  ratio sdk / raw httpx2           {sdk_ms / raw_ms:8.3f}   (aim <= 1.05)")


def _run_timed(code: str) -> list[float]:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return [float(x) for x in out.stdout.split()]


def _import_seconds(module: str) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    return _run_timed(code)[0]


# httpx2 first, then methodic on top, in one fresh interpreter: the second figure is
# methodic's own cost, and timing both in one process cancels most machine noise.
_LAYERED = (
    "import time; t0 = time.perf_counter(); import httpx2; t1 = time.perf_counter(); "
    "import methodic; t2 = time.perf_counter(); print(t1 - t0, t2 - t1)"
)


def bench_imports(runs: int) -> None:
    _import_seconds("methodic")  # warm the filesystem cache and .pyc files
    methodic_s: list[float] = []
    httpx2_s: list[float] = []
    on_top_s: list[float] = []
    for _ in range(runs):
        methodic_s.append(_import_seconds("methodic"))
        httpx2_s.append(_import_seconds("httpx2"))
        on_top_s.append(_run_timed(_LAYERED)[1])
    m = statistics.median(methodic_s) * 1000
    h = statistics.median(httpx2_s) * 1000
    on_top = statistics.median(on_top_s) * 1000
    print(f"import time, median of {runs} fresh interpreters each:")
    print(f"  import methodic                  {m:8.1f} ms")
    print(f"  import httpx2                    {h:8.1f} ms")
    print(f"  difference                       {m - h:8.1f} ms   (aim <= 20 ms)")
    print(f"  methodic after httpx2, same proc {on_top:8.1f} ms   (methodic's own share)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000, help="timed calls per client")
    parser.add_argument("--imports", type=int, default=15, help="fresh interpreters per module")
    args = parser.parse_args()
    with FakeChronicle.start() as fake:
        with fake.client() as researcher:
            exp = researcher.experiments.create("bench", hypothesis="the SDK is thin")
            researcher.variations.create(exp.id, config={"lr": 3e-4, "layers": [1, 2, 3]})
        bench_calls(fake.base_url, fake.researcher_token, exp.id, args.calls)
    bench_imports(args.imports)


if __name__ == "__main__":
    main()
