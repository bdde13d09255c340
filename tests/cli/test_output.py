"""The formatting helpers: tables that fit, ages, sizes, the built-in progress bar."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from methodic.cli.output import Column, age, compact, duration, human_bytes, table
from methodic.cli.progress import TextBar

ID = "6f1c2a9e-0d4b-4c1e-9a53-3b8f7e2d1c00"
COLUMNS = (
    Column("id", lambda r: r.id),
    Column("title", lambda r: r.title, flex=True),
    Column("tags", lambda r: r.tags, flex=True, optional=True),
    Column("created", lambda r: r.created, optional=True),
)
ROWS = [
    SimpleNamespace(
        id=ID,
        title="a fairly long title about warmup",
        tags=["a", "b"],
        created="2026-11-30T13:22:35.562749Z",
    ),
    SimpleNamespace(id=ID, title="short", tags=[], created="2026-11-30T13:22:35.562749Z"),
]


def test_wide_terminal_shows_everything_aligned() -> None:
    lines = table(ROWS, COLUMNS, 200, empty="none").splitlines()
    assert lines[0].split() == ["ID", "TITLE", "TAGS", "CREATED"]
    assert lines[1].index("2026") == lines[2].index("2026") == lines[0].index("CREATED")
    assert "a fairly long title about warmup" in lines[1]


def test_narrowing_shrinks_text_then_drops_optional_columns_never_ids() -> None:
    # Title shrinks to a readable width first, and only then does `created` go.
    lines = table(ROWS, COLUMNS, 100, empty="none").splitlines()
    assert all(len(line) <= 100 for line in lines)
    assert "CREATED" in lines[0]
    assert lines[1].split("  ")[1].endswith("…")
    lines = table(ROWS, COLUMNS, 60, empty="none").splitlines()
    assert lines[0].split() == ["ID", "TITLE"]
    assert all(len(line) <= 60 and line.startswith(("ID", ID)) for line in lines)
    # Narrower than the id itself: the id is still whole (the terminal wraps).
    assert table(ROWS, COLUMNS, 20, empty="none").splitlines()[1].startswith(ID)
    assert table([], COLUMNS, 80, empty="no rows") == "no rows"


def test_ages_sizes_and_compact_values() -> None:
    now = datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC)
    then = (now - timedelta(minutes=3, seconds=12)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert age(then, now) == "3m12s"
    assert age("2026-11-30T12:00:05Z", now) == "0s"  # a clock ahead of ours: not negative
    assert age(None) is None and age("yesterday") is None
    assert [duration(s) for s in (4, 3600 + 300, 3 * 86400 + 4 * 3600)] == ["4s", "1h05m", "3d04h"]
    assert [human_bytes(n) for n in (512, 1536, 5 * 1024**3)] == ["512 B", "1.5 KiB", "5.0 GiB"]
    assert compact({"step": 3, "loss": 0.25, "phase": "eval"}) == "step=3 loss=0.25 phase=eval"
    assert compact({"nested": {"a": 1}}) == '{"nested":{"a":1}}'


def test_text_bar_redraws_in_place_and_ends_with_a_newline() -> None:
    out = io.StringIO()
    bar = TextBar("checkpoint/step-3", out)
    for done in (0, 512, 512, 1024):
        bar(done, 1024)
    drawn = out.getvalue()
    assert drawn.count("\r") == 3  # the repeated 50% is not redrawn
    assert drawn.endswith("100%  1.0 KiB / 1.0 KiB\n")


def test_printable_escapes_what_a_terminal_would_act_on() -> None:
    from methodic.cli.output import printable

    hostile = "a\x1b]0;t\x07b\x9b1m\x7f\u202eR\u2066\ud800\x00\tc\nd"
    assert printable(hostile, keep="\n") == (
        "a\\x1b]0;t\\x07b\\x9b1m\\x7f\\u202eR\\u2066\\ud800\\x00\tc\nd"
    )
    assert printable("line\nbreak") == "line\\x0abreak"  # in a cell, not layout
    assert printable("plain ünïcode ✓ 日本 …") == "plain ünïcode ✓ 日本 …"
    assert printable(printable(hostile)) == printable(hostile)  # idempotent


def test_json_documents_are_strict_and_exact() -> None:
    import json

    from methodic.cli.output import json_document

    data = {"loss": float("nan"), "hi": float("inf"), "lo": float("-inf"), "t": "\ud800x"}
    text = json_document(data, "utf-8")
    assert json.loads(text) == {"loss": "NaN", "hi": "Infinity", "lo": "-Infinity", "t": "\ud800x"}
    assert "\\ud800" in text  # the surrogate written as an escape: the stream can take it
    assert json.loads(json_document({"t": "été"}, "ascii")) == {"t": "été"}
