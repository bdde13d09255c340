"""How fast and how lean is the runner's upload path?

Prints, from one run against the Chronicle fake served by uvicorn on loopback (its
blobs written to a temporary data dir on disk):

* the throughput of ``Run.upload_asset`` for one file (default 1 GiB) next to a raw
  streaming ``httpx2`` PUT of the same file (1 MiB chunks, declared Content-Length)
  to a presigned URL of the same fake, and their ratio (aim >= 0.8). ``upload_asset``
  also hashes the file before registering it (the protocol needs the sha256 up
  front), so the total is printed next to the PUT phase alone; the aim is judged on
  the total. A third client, the raw PUT hashing each chunk as it goes, shows what
  the engine's second pass (its check that the bytes still match) costs;
* the client's peak RSS for a 64 MiB and a full-size upload, and for a process that
  only imports methodic and creates a ``Chronicle`` (aim: flat, under 150 MB).

Every client runs in a fresh child process (this script with ``--child``) that does
only its one job and reports its own timing and peak RSS, so the server thread
in this process never competes with the client for the GIL, and no client inherits
another's memory. The clients take turns, and medians are printed.

Run: ``.venv/bin/python bench/bench_upload.py [--size-mib N] [--rounds N] [--quick]``.
Figures are printed, never asserted: wall-clock numbers vary across machines.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from _common import client_env, drop_blobs, running_run, spawn_child

if TYPE_CHECKING:
    from methodic.tracker import ComponentFile

MIB = 1 << 20
CHUNK = MIB
COMPONENT = "model.bin"
CONTENT_TYPE = "application/octet-stream"
SMALL_MIB = 64
RSS_AIM_MB = 150


# -- children: one job each, report JSON on stdout ---------------------------------------


def _peak_rss_bytes() -> int:
    """This process's peak resident set size, in bytes.

    On Linux, ``ru_maxrss`` survives ``exec``: a child forked from this (large) parent
    starts with the parent's peak. ``VmHWM`` is the high-water mark of the child's own
    address space, which ``exec`` replaces, so it is read when there is one.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024  # "VmHWM:   12345 kB"
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # macOS: bytes, else KiB


def _report(**figures: Any) -> None:
    print(json.dumps({"rss": _peak_rss_bytes(), **figures}))


def child_baseline() -> None:
    """Import methodic and create a Chronicle, nothing else: the floor under the uploads."""
    from methodic import Chronicle

    with Chronicle():
        pass
    _report()


class _StoragePutTimer(logging.Handler):
    """Catches the transport's DEBUG line for the storage PUT: its duration, measured
    from just before the request is sent to the response (what the raw child times).
    """

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.puts: list[tuple[float, float]] = []  # (perf_counter at the end, seconds)

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args
        if not (isinstance(record.msg, str) and record.msg.startswith("storage ")):
            return
        if isinstance(args, tuple) and args[0] == "PUT" and isinstance(args[-1], float):
            self.puts.append((time.perf_counter(), args[-1] / 1000))


def child_upload(run_id: str, path: str, name: str) -> None:
    """``Run.upload_asset`` of one file, with the time of its storage PUT split off."""
    from methodic import Chronicle, Run

    timer = _StoragePutTimer()
    methodic_logger = logging.getLogger("methodic")
    methodic_logger.addHandler(timer)
    methodic_logger.setLevel(logging.DEBUG)
    methodic_logger.propagate = False  # a handful of lines; none should reach stderr

    with Chronicle() as chronicle:
        run = Run(chronicle, run_id)
        start = time.perf_counter()
        asset = run.upload_asset("output", name, {COMPONENT: path})
        end = time.perf_counter()
    if asset.state != "ready" or len(timer.puts) != 1:
        raise SystemExit(
            f"upload ended {asset.state} after {len(timer.puts)} storage PUTs; "
            "expected one PUT logged as 'storage PUT <url> -> <status> (<ms> ms)'"
        )
    [(put_end, put_seconds)] = timer.puts
    _report(
        seconds=end - start,
        size=os.path.getsize(path),
        put_seconds=put_seconds,
        before_put=put_end - put_seconds - start,  # hash, journal, POST /assets
        after_put=end - put_end,  # finalize, journal
        asset_id=asset.id,
    )


def _chunks(path: str, digest: Any) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            if digest is not None:
                digest.update(chunk)
            yield chunk


def child_raw(url: str, path: str, hashing: str) -> None:
    """The floor: a streaming httpx2 PUT of the file to a presigned URL, nothing else.

    With ``hashing == "hash"`` every chunk also goes through sha256 on its way out,
    as the engine's check that the file still matches its registered digest does.
    """
    import hashlib

    import httpx2

    size = os.path.getsize(path)
    headers = {"Content-Length": str(size), "Content-Type": CONTENT_TYPE}
    digest = hashlib.sha256() if hashing == "hash" else None
    with httpx2.Client() as client:
        start = time.perf_counter()
        response = client.put(url, content=_chunks(path, digest), headers=headers)
        seconds = time.perf_counter() - start
    response.raise_for_status()
    _report(seconds=seconds)


def run_child(argv: list[str]) -> None:
    mode, *rest = argv
    if mode == "baseline":
        child_baseline()
    elif mode == "upload":
        child_upload(*rest)
    elif mode == "raw":
        child_raw(*rest)
    else:
        raise SystemExit(f"unknown child mode {mode!r}")


# -- parent: the fake, the files, the rounds ----------------------------------------------


@dataclass
class Bench:
    """A started fake with a running run, and the environment children need."""

    fake: Any  # methodic_fake.FakeChronicle; imported lazily to keep children lean
    run_id: str
    env: dict[str, str]
    blobs: Path

    def child(self, *argv: str) -> dict[str, Any]:
        return spawn_child(__file__, self.env, *argv)


def make_file(path: Path, size_mib: int) -> None:
    block = os.urandom(16 * MIB)  # incompressible; repeating it is as good as fresh bytes
    with open(path, "wb") as f:
        for start in range(0, size_mib * MIB, len(block)):
            f.write(block[: min(len(block), size_mib * MIB - start)])
        # On disk before any timing starts: writeback of a fresh file would otherwise
        # compete with the first transfer only.
        f.flush()
        os.fsync(f.fileno())


def sdk_round(bench: Bench, path: Path, name: str) -> dict[str, Any]:
    result = bench.child("upload", bench.run_id, str(path), name)
    drop_blobs(bench.blobs, result["asset_id"])
    return result


def raw_round(
    bench: Bench, path: Path, name: str, spec: ComponentFile, hashing: bool = False
) -> dict[str, Any]:
    from methodic.types import ComponentSpec

    with bench.fake.client("worker") as worker:
        presigned = worker.assets.create(
            kind="output",
            name=name,
            components=[
                ComponentSpec(
                    name=COMPONENT, size=spec.size, sha256=spec.sha256, content_type=CONTENT_TYPE
                )
            ],
            run_id=bench.run_id,
        )
        url = presigned.upload_urls[COMPONENT]
        result = bench.child("raw", url, str(path), "hash" if hashing else "plain")
        # Proves the raw PUT stored the very bytes the SDK sends (size and sha256).
        worker.assets.finalize(presigned.asset.id)
    drop_blobs(bench.blobs, presigned.asset.id)
    return result


def mib_s(size: int, seconds: float) -> float:
    return size / MIB / seconds


def mb(n: float) -> str:
    return f"{n / 1e6:7.1f} MB"


Reports = list[dict[str, Any]]


def throughput(bench: Bench, big: Path, rounds: int) -> tuple[Reports, Reports]:
    """SDK and raw uploads of ``big``, alternating; returns both children's reports."""
    from methodic.uploads import describe_file

    size = big.stat().st_size
    start = time.perf_counter()
    spec = describe_file(COMPONENT, big)  # the raw asset's sha256; warms the page cache
    hash_s = time.perf_counter() - start

    sdk: Reports = []
    raw: Reports = []
    raw_hash: Reports = []
    clients: list[tuple[str, Reports, Callable[[str], dict[str, Any]]]] = [
        ("sdk", sdk, lambda name: sdk_round(bench, big, name)),
        ("raw", raw, lambda name: raw_round(bench, big, name, spec)),
        ("raw-hash", raw_hash, lambda name: raw_round(bench, big, name, spec, hashing=True)),
    ]
    for i in range(rounds):
        # Rotate who goes first so drift (other load, writeback) hits all alike.
        for j in range(len(clients)):
            label, reports, upload = clients[(i + j) % len(clients)]
            reports.append(upload(f"{label}-{i}"))

    def median(key: str, runs: Reports) -> float:
        return statistics.median(float(r[key]) for r in runs)

    sdk_s, put_s, raw_s = median("seconds", sdk), median("put_seconds", sdk), median("seconds", raw)
    # Ratios within a round (SDK and raw back to back) cancel slow drift in the load
    # that other processes put on the machine; their median is the headline.
    totals = [r["seconds"] / s["seconds"] for s, r in zip(sdk, raw, strict=True)]
    puts = [r["seconds"] / s["put_seconds"] for s, r in zip(sdk, raw, strict=True)]
    hashed_puts = [r["seconds"] / s["put_seconds"] for s, r in zip(sdk, raw_hash, strict=True)]
    raw_hash_s = median("seconds", raw_hash)
    size_mib = size // MIB
    print(f"upload of {size_mib} MiB, median of {rounds} rounds (fresh client process each):")
    print(f"  Run.upload_asset, total          {mib_s(size, sdk_s):8.1f} MiB/s  ({sdk_s:.2f} s)")
    print(
        f"    before the PUT                 {median('before_put', sdk):8.2f} s      "
        "(sha256, journal, POST /assets)"
    )
    print(f"    storage PUT                    {mib_s(size, put_s):8.1f} MiB/s  ({put_s:.2f} s)")
    print(
        f"    after the PUT                  {median('after_put', sdk):8.2f} s      "
        "(finalize, journal)"
    )
    print(f"  raw httpx2 streaming PUT          {mib_s(size, raw_s):8.1f} MiB/s  ({raw_s:.2f} s)")
    print(
        f"  ratio total / raw                {statistics.median(totals):8.3f}   "
        f"(aim >= 0.8, judged on this; rounds: {_fmt(totals)})"
    )
    print(
        f"  ratio PUT phase / raw            {statistics.median(puts):8.3f}   "
        f"(rounds: {_fmt(puts)})"
    )
    print(
        f"  raw PUT + sha256 of each chunk   {mib_s(size, raw_hash_s):8.1f} MiB/s  "
        f"({raw_hash_s:.2f} s; the engine re-hashes while sending)"
    )
    print(
        f"  ratio PUT phase / hashing raw    {statistics.median(hashed_puts):8.3f}   "
        f"(rounds: {_fmt(hashed_puts)})"
    )
    print(f"  sha256 of the file alone         {mib_s(size, hash_s):8.1f} MiB/s  (in this process)")
    return sdk, raw


def memory(bench: Bench, work: Path, sdk: Reports, raw: Reports) -> None:
    """Peak RSS of upload children at two sizes, next to a child that only sets up."""
    small = work / "small.bin"
    make_file(small, SMALL_MIB)
    rounds = len(sdk)
    small_rss = max(sdk_round(bench, small, f"small-{i}")["rss"] for i in range(rounds))
    small.unlink()
    baseline_rss = max(bench.child("baseline")["rss"] for _ in range(rounds))
    big_rss = max(r["rss"] for r in sdk)
    big_mib = sdk[0]["size"] // MIB
    print(f"client peak RSS (VmHWM), highest of {rounds} processes each:")
    print(f"  import methodic + Chronicle()    {mb(baseline_rss)}")
    print(f"  Run.upload_asset {SMALL_MIB:5d} MiB       {mb(small_rss)}")
    print(
        f"  Run.upload_asset {big_mib:5d} MiB       {mb(big_rss)}   (aim: flat, < {RSS_AIM_MB} MB)"
    )
    print(f"  growth {SMALL_MIB} -> {big_mib} MiB            {mb(big_rss - small_rss)}")
    print(f"  raw httpx2 PUT {big_mib:5d} MiB          {mb(max(r['rss'] for r in raw))}")


def _fmt(ratios: list[float]) -> str:
    return " ".join(f"{r:.2f}" for r in ratios)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size-mib", type=int, default=1024, help="size of the big file")
    parser.add_argument("--rounds", type=int, default=3, help="timed uploads per client")
    parser.add_argument("--quick", action="store_true", help=f"smoke run: {SMALL_MIB} MiB")
    parser.add_argument("--child", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(args.child)
        return
    size_mib = SMALL_MIB if args.quick else args.size_mib
    if size_mib <= 0 or args.rounds <= 0:
        parser.error("--size-mib and --rounds must be positive")

    from methodic_fake import FakeChronicle

    with (
        tempfile.TemporaryDirectory(prefix="methodic-bench-upload-") as tmp,
        FakeChronicle.start(data_dir=Path(tmp) / "fake") as fake,
    ):
        work = Path(tmp)
        run_id = running_run(fake, "upload bench")
        env = client_env(fake, work)
        bench = Bench(fake, run_id, env, work / "fake" / "blobs")
        big = work / "big.bin"
        make_file(big, size_mib)
        sdk, raw = throughput(bench, big, args.rounds)
        big.unlink()
        memory(bench, work, sdk, raw)


if __name__ == "__main__":
    main()
