"""Guarantee: the dev server loses no acknowledged write, even to SIGKILL.

``methodic-fake serve --data-dir D`` is started as a real subprocess. A client
thread streams writes at it (create an experiment, add a variation, commit) and
records each write the server acknowledged. Mid-stream the server is killed with
SIGKILL (no shutdown handler runs), restarted on the same data dir, and every
acknowledged write must be there, with the same keys still valid. This repeats
for several kill cycles; writes that were in flight when the kill landed may or
may not exist (the client never heard), but nothing acknowledged may vanish.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from devserver import DevServer, serve_argv

from methodic import APIConnectionError, Chronicle, ChronicleError, NotFoundError

KILLS = 3
WRITES_BEFORE_KILL = 25  # acknowledged writes to wait for in each cycle


class Writer(threading.Thread):
    """Streams writes until the server dies; remembers exactly what was acknowledged."""

    def __init__(self, chronicle: Chronicle, cycle: int) -> None:
        super().__init__(daemon=True)
        self.c = chronicle
        self.cycle = cycle
        self.acked_experiments: dict[str, str] = {}  # id -> title
        self.acked_variations: dict[str, str] = {}  # variation id -> experiment id
        self.acked_commits: set[str] = set()
        self.acked = threading.Semaphore(0)
        self.stopped: BaseException | None = None

    def run(self) -> None:
        i = 0
        try:
            while True:
                title = f"cycle {self.cycle} write {i}"
                exp = self.c.experiments.create(title)
                self.acked_experiments[exp.id] = title
                self.acked.release()
                if i % 3 == 0:
                    var = self.c.variations.create(exp.id, config_json={"i": i})
                    self.acked_variations[var.id] = exp.id
                    self.c.experiments.commit(exp.id)
                    self.acked_commits.add(exp.id)
                    self.acked.release()
                i += 1
        except (APIConnectionError, ChronicleError) as exc:  # the kill, as the client sees it
            self.stopped = exc


def _verify(chronicle: Chronicle, writers: list[Writer]) -> int:
    checked = 0
    for w in writers:
        for exp_id, title in w.acked_experiments.items():
            try:
                detail = chronicle.experiments.get(exp_id)
            except NotFoundError:
                raise AssertionError(f"acknowledged experiment {exp_id} ({title}) lost") from None
            assert detail.title == title
            if exp_id in w.acked_commits:
                assert detail.state == "committed", f"acknowledged commit of {exp_id} lost"
            checked += 1
        for var_id, exp_id in w.acked_variations.items():
            assert chronicle.variations.get(var_id).experiment_id == exp_id
            checked += 1
    return checked


def test_acknowledged_writes_survive_sigkill(tmp_path: Path, figures: Any) -> None:
    data_dir = tmp_path / "fake-data"
    writers: list[Writer] = []
    server = DevServer(serve_argv(data_dir))
    first_token = server.token
    try:
        for cycle in range(KILLS):
            chronicle = Chronicle(base_url=server.base_url, api_key=server.token, timeout=10)
            writer = Writer(chronicle, cycle)
            writer.start()
            for _ in range(WRITES_BEFORE_KILL):
                assert writer.acked.acquire(timeout=30), f"cycle {cycle}: writes stalled"
            server.kill()  # while the writer is still mid-stream
            writer.join(timeout=30)
            assert not writer.is_alive()
            assert writer.stopped is not None, "writer never noticed the kill"
            chronicle.close()
            writers.append(writer)

            server = DevServer(serve_argv(data_dir))
            assert server.token == first_token, "keys must survive a restart"
            with Chronicle(base_url=server.base_url, api_key=server.token, timeout=10) as check:
                checked = _verify(check, writers)
        total_acked = sum(len(w.acked_experiments) for w in writers)
        assert total_acked >= KILLS * WRITES_BEFORE_KILL // 2
    finally:
        server.stop()
    figures.set("durability: SIGKILLs survived", KILLS)
    figures.set("durability: acknowledged writes verified", checked)
