"""Guarantee: the dev server's clock never runs backwards across restarts.

``methodic-fake serve`` runs as a real process; each cycle freezes the clock,
advances it by awkward amounts (fractions of a second, hours), writes records,
reads the clock, then the server is SIGKILLed and restarted on the same data
dir. After every restart the clock reads no earlier than any time the server
ever reported (``GET /_fake/clock`` and every ``*_at`` timestamp), and its offset
is the last acknowledged one to the microsecond. A data dir written before time
was kept in integer microseconds (float seconds in the records and the saved
offset) loads with the same timestamps and offset.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from devserver import DevServer, request, serve_argv

CYCLES = 3
STEPS = (0.1, 1.000001, 3599.5, 0.000001, 86400.25)


def _stamp(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def _latest(body: Any) -> datetime:
    found = [datetime.min.replace(tzinfo=UTC)]

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, child in value.items():
                if (key == "now" or key.endswith("_at")) and isinstance(child, str):
                    found.append(_stamp(child))
                else:
                    walk(child)
        elif isinstance(value, list):
            for child in value:
                walk(child)

    walk(body)
    return max(found)


def test_clock_never_runs_backwards_across_sigkill_restarts(tmp_path: Path, figures: Any) -> None:
    data_dir = tmp_path / "data"
    latest = datetime.min.replace(tzinfo=UTC)
    offset = 0.0
    for cycle in range(CYCLES):
        dev = DevServer(serve_argv(data_dir))
        base = dev.base_url
        try:
            status, clock = request(f"{base}/_fake/clock")
            assert status == 200
            assert clock["offset_seconds"] == offset, (cycle, clock, offset)
            assert _stamp(clock["now"]) >= latest, f"cycle {cycle}: the clock ran backwards"
            status, frozen = request(f"{base}/_fake/clock/freeze", "POST")
            assert status == 200
            latest = max(latest, _latest(frozen))
            for step in STEPS:
                status, clock = request(f"{base}/_fake/clock/advance", "POST", {"seconds": step})
                assert status == 200, clock
                offset = clock["offset_seconds"]
                latest = max(latest, _latest(clock))
                status, exp = request(
                    f"{base}/experiments", "POST", {"title": f"c{cycle}"}, dev.token
                )
                assert status == 201
                status, committed = request(
                    f"{base}/experiments/{exp['id']}/commit", "POST", token=dev.token
                )
                assert status == 200
                latest = max(latest, _latest(exp), _latest(committed))
        finally:
            dev.kill()
    figures.set("dev server restarts with the clock checked for running backwards", CYCLES)


def test_a_data_dir_from_float_seconds_loads_exactly(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    dev = DevServer(serve_argv(data_dir))
    try:
        status, exp = request(f"{dev.base_url}/experiments", "POST", {"title": "old"}, dev.token)
        assert status == 201
    finally:
        assert dev.stop() == 0, dev.stderr
    # Rewrite it the way older versions stored it: float seconds everywhere.
    with sqlite3.connect(data_dir / "chronicle.sqlite3") as db:
        (body,) = db.execute("SELECT body FROM records WHERE id = ?", (exp["id"],)).fetchone()
        record = json.loads(body)
        record["created_at"] = record["updated_at"] = 1_800_000_000.123456
        db.execute("UPDATE records SET body = ? WHERE id = ?", (json.dumps(record), exp["id"]))
        db.execute("DELETE FROM meta WHERE key = 'clock_offset_us'")
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('clock_offset', '7200.5')")
    dev = DevServer(serve_argv(data_dir))
    try:
        status, got = request(f"{dev.base_url}/experiments/{exp['id']}", token=dev.token)
        assert status == 200
        assert got["created_at"] == got["updated_at"] == "2027-01-15T08:00:00.123456Z"
        status, clock = request(f"{dev.base_url}/_fake/clock")
        assert clock["offset_seconds"] == 7200.5
    finally:
        assert dev.stop() == 0, dev.stderr
