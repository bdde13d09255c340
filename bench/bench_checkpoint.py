"""How fast does a multi-file checkpoint go up and come back down?

Prints, from one run against the Chronicle fake served by uvicorn on loopback (its
blobs written to a temporary data dir on disk), for a checkpoint of ``--components``
files of ``--size-mib`` MiB each (default 8 x 64 MiB):

* **upload**: ``Run.upload_asset`` of the whole checkpoint (sha256 of every file,
  journal, ``POST /assets``, the parallel storage PUTs, finalize) next to raw
  ``httpx2`` PUTs of the same files to presigned URLs of the same fake, as many at once
  as the SDK sends (``MAX_PARALLEL_COMPONENTS``); aim: raw time / SDK time >= 0.9;
* **download**: ``download_asset`` of the stored checkpoint (download URLs, parallel
  streaming GETs with the size cap and sha256 of every byte, rename) next to
  raw ``httpx2`` streaming GETs of the same presigned URLs into files, as many at once
  as the SDK fetches (``MAX_PARALLEL_DOWNLOADS``); aim: raw time / SDK time >= 0.9.
  A third client, the raw GETs hashing each chunk as it arrives, shows how much of
  the difference is the sha256 that no verifying client can skip.

Every client runs in a fresh child process (this script with ``--child``) that does
only its one job and reports its own timing, so the server thread in this process
never competes with a client for the GIL. The clients take turns, rotating who goes
first; per-round ratios (a round's clients run back to back) and their median are
printed.

Run: ``.venv/bin/python bench/bench_checkpoint.py [--size-mib N] [--components N]
[--rounds N]``; ``--size-mib 8`` is a quick smoke run. Figures are printed, never
asserted: wall-clock numbers vary across machines.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import client_env, drop_blobs, running_run, spawn_child

MIB = 1 << 20
CHUNK = MIB
CONTENT_TYPE = "application/octet-stream"


# -- children: one job each, report JSON on stdout ---------------------------------------


def _raw_client() -> Any:
    """The baseline's HTTP client: the one place this script imports httpx2."""
    import httpx2

    return httpx2.Client(timeout=120)


def _report(**figures: Any) -> None:
    print(json.dumps(figures))


def _load(job: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(Path(job).read_text())
    return data


def child_upload(job: str) -> None:
    """``Run.upload_asset`` of the whole checkpoint."""
    from methodic import Chronicle, Run

    spec = _load(job)
    with Chronicle() as chronicle:
        run = Run(chronicle, spec["run_id"])
        start = time.perf_counter()
        asset = run.upload_asset("checkpoint", spec["name"], spec["files"])
        seconds = time.perf_counter() - start
    if asset.state != "ready":
        raise SystemExit(f"upload ended {asset.state}")
    _report(seconds=seconds, asset_id=asset.id)


def _chunks(path: str) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            yield chunk


def child_raw_put(job: str) -> None:
    """The floor: parallel streaming PUTs of the files to presigned URLs, nothing else."""
    spec = _load(job)
    jobs: list[tuple[str, str]] = [(spec["urls"][name], path) for name, path in spec["files"]]

    with _raw_client() as client:

        def put(item: tuple[str, str]) -> None:
            url, path = item
            headers = {"Content-Length": str(os.path.getsize(path)), "Content-Type": CONTENT_TYPE}
            client.put(url, content=_chunks(path), headers=headers).raise_for_status()

        with ThreadPoolExecutor(spec["workers"]) as pool:
            start = time.perf_counter()
            list(pool.map(put, jobs))
            seconds = time.perf_counter() - start
    _report(seconds=seconds)


def child_download(job: str) -> None:
    """``download_asset`` of the stored checkpoint into a fresh directory."""
    from methodic import Chronicle
    from methodic.downloads import download_asset

    spec = _load(job)
    with Chronicle() as chronicle:
        asset = chronicle.assets.get(spec["asset_id"])
        chronicle.transport.http_client  # noqa: B018 - built before the clock, as the raw one
        start = time.perf_counter()
        paths = download_asset(chronicle, asset, spec["dest"])
        seconds = time.perf_counter() - start
    _report(seconds=seconds, files=len(paths))


def child_raw_get(job: str) -> None:
    """The floor: parallel streaming GETs of presigned URLs into files, nothing else.

    With ``"hash": true`` every chunk also goes through sha256 on its way to disk, the
    one piece of work a verifying client cannot skip, to show what is left besides it.
    """
    spec = _load(job)
    dest = Path(spec["dest"])
    dest.mkdir(parents=True, exist_ok=True)

    with _raw_client() as client:

        def get(item: tuple[str, str]) -> None:
            name, url = item
            digest = hashlib.sha256() if spec["hash"] else None
            with client.stream("GET", url) as response, open(dest / name, "wb") as out:
                response.raise_for_status()
                for chunk in response.iter_bytes():
                    if digest is not None:
                        digest.update(chunk)
                    out.write(chunk)

        with ThreadPoolExecutor(spec["workers"]) as pool:
            start = time.perf_counter()
            list(pool.map(get, spec["urls"].items()))
            seconds = time.perf_counter() - start
    _report(seconds=seconds)


CHILDREN: dict[str, Callable[[str], None]] = {
    "upload": child_upload,
    "raw-put": child_raw_put,
    "download": child_download,
    "raw-get": child_raw_get,
}


# -- parent: the fake, the files, the rounds ----------------------------------------------


@dataclass
class Bench:
    """A started fake with a running run, and the environment children need."""

    fake: Any  # methodic_fake.FakeChronicle; imported lazily to keep children lean
    run_id: str
    env: dict[str, str]
    work: Path
    blobs: Path

    def child(self, mode: str, job: dict[str, Any]) -> dict[str, Any]:
        job_file = self.work / "job.json"
        job_file.write_text(json.dumps(job))
        return spawn_child(__file__, self.env, mode, str(job_file))


def make_files(directory: Path, count: int, size_mib: int) -> dict[str, str]:
    directory.mkdir(parents=True, exist_ok=True)
    files = {}
    for i in range(count):
        path = directory / f"shard-{i:02d}.bin"
        with open(path, "wb") as f:
            for _ in range(size_mib):
                f.write(os.urandom(MIB))  # incompressible
            f.flush()
            os.fsync(f.fileno())  # on disk before any timing starts
        files[path.name] = str(path)
    return files


def upload_rounds(bench: Bench, files: dict[str, str], rounds: int) -> tuple[list[float], ...]:
    from methodic.types import ComponentSpec
    from methodic.uploads import MAX_PARALLEL_COMPONENTS, describe_file

    specs = [describe_file(name, path) for name, path in files.items()]  # warms the cache

    def sdk(label: str) -> float:
        result = bench.child("upload", {"run_id": bench.run_id, "name": label, "files": files})
        drop_blobs(bench.blobs, result["asset_id"])
        return float(result["seconds"])

    def raw(label: str) -> float:
        with bench.fake.client("worker") as worker:
            presigned = worker.assets.create(
                kind="checkpoint",
                name=label,
                run_id=bench.run_id,
                components=[
                    ComponentSpec(name=s.name, size=s.size, sha256=s.sha256) for s in specs
                ],
            )
            job = {
                "urls": presigned.upload_urls,
                "files": list(files.items()),
                "workers": MAX_PARALLEL_COMPONENTS,
            }
            result = bench.child("raw-put", job)
            worker.assets.finalize(presigned.asset.id)  # proves the same bytes were stored
        drop_blobs(bench.blobs, presigned.asset.id)
        return float(result["seconds"])

    return _alternate(rounds, sdk, raw)


def download_rounds(bench: Bench, files: dict[str, str], rounds: int) -> tuple[list[float], ...]:
    from methodic.downloads import MAX_PARALLEL_DOWNLOADS

    with bench.fake.client("worker") as worker:
        from methodic import Run

        asset = Run(worker, bench.run_id).upload_asset("checkpoint", "stored", files)
        urls = worker.assets.download_urls(asset.id)
    dest = bench.work / "down"

    def sdk(label: str) -> float:
        result = bench.child("download", {"asset_id": asset.id, "dest": str(dest)})
        shutil.rmtree(dest)
        return float(result["seconds"])

    def raw(hashing: bool) -> Callable[[str], float]:
        def run(label: str) -> float:
            job = {
                "urls": urls,
                "dest": str(dest),
                "workers": MAX_PARALLEL_DOWNLOADS,
                "hash": hashing,
            }
            result = bench.child("raw-get", job)
            shutil.rmtree(dest)
            return float(result["seconds"])

        return run

    return _alternate(rounds, sdk, raw(False), raw(True))


def _alternate(rounds: int, *clients: Callable[[str], float]) -> tuple[list[float], ...]:
    """Each client's seconds per round; who goes first rotates, so drift hits all alike."""
    seconds: list[list[float]] = [[] for _ in clients]
    for i in range(rounds):
        for j in range(len(clients)):
            k = (i + j) % len(clients)
            seconds[k].append(clients[k](f"client{k}-{i}"))
    return tuple(seconds)


def _print(
    what: str, size: int, sdk_s: list[float], raw_s: list[float], baseline: str = "raw"
) -> None:
    ratios = [r / s for s, r in zip(sdk_s, raw_s, strict=True)]
    sdk_m, raw_m = statistics.median(sdk_s), statistics.median(raw_s)
    rounds = " ".join(f"{r:.2f}" for r in ratios)
    print(f"  {what:<9} SDK {size / MIB / sdk_m:7.1f} MiB/s ({sdk_m:.2f} s)   ", end="")
    print(f"{baseline} {size / MIB / raw_m:7.1f} MiB/s ({raw_m:.2f} s)")
    print(f"  {'':<9} ratio {baseline}/SDK {statistics.median(ratios):6.3f}   (rounds: {rounds})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size-mib", type=int, default=64, help="size of each component")
    parser.add_argument("--components", type=int, default=8, help="files in the checkpoint")
    parser.add_argument("--rounds", type=int, default=3, help="timed transfers per client")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        CHILDREN[args.child[0]](args.child[1])
        return
    if min(args.size_mib, args.components, args.rounds) <= 0:
        parser.error("--size-mib, --components and --rounds must be positive")

    from methodic.downloads import MAX_PARALLEL_DOWNLOADS
    from methodic.uploads import MAX_PARALLEL_COMPONENTS
    from methodic_fake import FakeChronicle

    with (
        tempfile.TemporaryDirectory(prefix="methodic-bench-checkpoint-") as tmp,
        FakeChronicle.start(data_dir=Path(tmp) / "fake") as fake,
    ):
        work = Path(tmp)
        run_id = running_run(fake, "checkpoint bench")
        env = client_env(fake, work)
        bench = Bench(fake, run_id, env, work, work / "fake" / "blobs")
        files = make_files(work / "src", args.components, args.size_mib)
        size = args.components * args.size_mib * MIB
        started = time.perf_counter()
        up = upload_rounds(bench, files, args.rounds)
        down = download_rounds(bench, files, args.rounds)
        print(
            f"checkpoint of {args.components} x {args.size_mib} MiB, median of {args.rounds} "
            f"rounds (fresh client process each); aim: ratio raw/SDK >= 0.9"
        )
        print(
            f"upload: SDK = sha256 + journal + POST /assets + {MAX_PARALLEL_COMPONENTS} PUTs "
            "at once + finalize; raw = the PUTs alone"
        )
        _print("upload", size, *up)
        print(
            f"download: SDK = {MAX_PARALLEL_DOWNLOADS} GETs at once, size cap, sha256, rename; "
            "raw = the GETs into files"
        )
        sdk_down, raw_down, raw_hash_down = down
        _print("download", size, sdk_down, raw_down)
        _print("", size, sdk_down, raw_hash_down, baseline="raw+sha256")
        print(f"  ({time.perf_counter() - started:.0f} s of transfers)")


if __name__ == "__main__":
    main()
