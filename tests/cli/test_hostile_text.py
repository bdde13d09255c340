"""What a server sends can't take over the terminal or break the CLI (issue 19, findings 6, 7, 12, 13).

Strings from Chronicle — titles, tags, failure messages, error details — may hold
terminal escape sequences (a window-title OSC, a screen clear, an OSC 52 clipboard
write), C1 controls, DEL or bidi overrides. Human output shows them visibly escaped
(``\\x1b``), never raw; ``--json`` keeps them exact. ``--json`` is strict JSON even
when a (hostile) server sends ``NaN``, a lone surrogate never turns into a usage
error, and the API key stays hidden however ``--api-key`` was spelled.

Everything runs as a real ``methodic`` subprocess: against the fake for what the fake
stores, and against a tiny stdlib server for what only a hostile server would send.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from methodic import Chronicle

from .conftest import CLI

OSC_TITLE = "\x1b]0;owned\x07"
CLEAR = "\x1b[2J"
CLIPBOARD = "\x1b]52;c;ZWNobyBwd25lZA==\x07"  # OSC 52: write the clipboard
C1_CSI = "\x9b31m"
BIDI = "\u202eevil\u202c"
HOSTILE = f"lr{OSC_TITLE}sweep{CLEAR}{CLIPBOARD}{C1_CSI}\x7f{BIDI}"
# Anything a terminal would act on: C0 but \t and \n, DEL, C1, bidi controls.
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _clean(text: str) -> None:
    assert not RAW.search(text), f"raw control characters reached the terminal: {text!r}"


@pytest.fixture
def hostile(researcher: Chronicle, worker: Chronicle) -> dict[str, str]:
    parent = researcher.experiments.create(f"parent {HOSTILE}")
    researcher.experiments.commit(parent.id)
    exp = researcher.experiments.create(HOSTILE, tags=[f"t{CLEAR}", "ok"], parent_ids=[parent.id])
    researcher.experiments.commit(exp.id)
    variation = researcher.variations.create(exp.id, config={"lr": 0.1}, name=f"v{OSC_TITLE}")
    run = researcher.runs.create(variation.id)
    worker.runs.start(run.id)
    worker.runs.heartbeat(run.id, progress={f"k{CLEAR}": f"v{CLIPBOARD}"})
    worker.runs.fail(run.id, reason="crash", message=f"boom {OSC_TITLE}{C1_CSI}")
    return {"exp": exp.id, "run": run.id}


def test_human_output_escapes_what_a_terminal_would_act_on(
    cli: CLI, hostile: dict[str, str]
) -> None:
    outputs = [
        cli("experiments", "list").ok().out,
        cli("experiments", "show", hostile["exp"]).ok().out,
        cli("runs", "show", hostile["run"]).ok().out,
        cli("runs", "list").ok().out,
        cli("lineage", hostile["exp"]).ok().out,
        # Issue 20's output: oldest first, variation names, a watch of a finished run
        # (its status line, server-clock ages and summary).
        cli("experiments", "list", "--order", "asc").ok().out,
        cli("variations", "list", hostile["exp"]).ok().out,
        cli("runs", "watch", hostile["run"], "--interval", "0.05").ok().out,
    ]
    for out in outputs:
        _clean(out)
    show = outputs[1]
    assert "\\x1b]0;owned\\x07" in show and "\\x9b31m" in show and "\\u202e" in show
    assert "\\x1b]52;c;" in outputs[2] and "boom \\x1b]0;owned" in outputs[2]
    assert "v\\x1b]0;owned\\x07" in outputs[6]  # the variation's name
    assert "boom \\x1b]0;owned" in outputs[7]  # the watch's summary line


def test_json_keeps_the_exact_strings(cli: CLI, hostile: dict[str, str]) -> None:
    assert cli("--json", "experiments", "show", hostile["exp"]).ok().json()["title"] == HOSTILE
    run = cli("--json", "runs", "show", hostile["run"]).ok().json()
    assert run["failure_message"] == f"boom {OSC_TITLE}{C1_CSI}"


def test_an_error_line_is_escaped_too(cli: CLI) -> None:
    line = cli("runs", "show", f"nope{OSC_TITLE}{CLEAR}").failed()
    _clean(line)
    assert line.startswith("not found: ") and "\\x1b]0;owned\\x07" in line


# -- what only a hostile server sends ----------------------------------------------

RUN = {
    "id": "r1",
    "variation_id": "v1",
    "experiment_id": "e1",
    "state": "running",
    "created_at": "2026-01-01T00:00:00.000000Z",
}


class _Hostile(BaseHTTPRequestHandler):
    bodies: dict[str, bytes]

    def do_GET(self) -> None:
        body = self.bodies.get(self.path.split("?")[0], b'{"detail": "no"}')
        self.send_response(200 if self.path.split("?")[0] in self.bodies else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, dict[str, bytes]]]:
    bodies: dict[str, bytes] = {}
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), type("H", (_Hostile,), {"bodies": bodies}))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", bodies
    finally:
        httpd.shutdown()
        httpd.server_close()


def _strict(text: str) -> Any:
    def refuse(constant: str) -> None:
        raise ValueError(f"not strict JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


def test_json_output_is_strict_even_when_the_server_sends_nan(
    cli: CLI, server: tuple[str, dict[str, bytes]]
) -> None:
    url, bodies = server
    progress = b'{"loss": NaN, "best": Infinity, "worst": -Infinity, "step": 3}'
    bodies["/runs/r1"] = json.dumps(RUN).encode()[:-1] + b', "progress": ' + progress + b"}"
    done = cli("--json", "--base-url", url, "runs", "show", "r1").ok()
    assert _strict(done.out)["progress"] == {
        "loss": "NaN",
        "best": "Infinity",
        "worst": "-Infinity",
        "step": 3,
    }


@pytest.mark.parametrize("as_json", [False, True], ids=["human", "json"])
def test_a_lone_surrogate_is_not_a_usage_error(
    cli: CLI, server: tuple[str, dict[str, bytes]], as_json: bool
) -> None:
    url, bodies = server
    failed = {**RUN, "state": "failed", "failure_reason": "crash"}
    bodies["/runs/r1"] = json.dumps({**failed, "failure_message": "half \ud800 a pair"}).encode()
    done = cli(*(["--json"] if as_json else []), "--base-url", url, "runs", "show", "r1").ok()
    if as_json:
        assert done.json()["failure_message"] == "half \ud800 a pair"  # still exact
    else:
        assert "half \\ud800 a pair" in done.out


@pytest.mark.parametrize("spelling", ["--api", "--api-k", "--api-ke", "--a"])
@pytest.mark.parametrize("joined", [False, True], ids=["separate", "equals"])
def test_the_key_stays_hidden_however_the_option_is_spelled(
    cli: CLI, spelling: str, joined: bool
) -> None:
    key = "sk_agent_abbreviatedcanary0123456789"
    option = [f"{spelling}={key}"] if joined else [spelling, key]
    done = cli(*option, "experiments", "list")
    # An abbreviation is no option: a usage error, whose message quotes the key
    # ("unrecognized arguments", or the key taken for a command) — redacted.
    assert done.code == 2, done.err
    assert "methodic: error: " in done.err and "<redacted>" in done.err
    assert key not in done.out + done.err
