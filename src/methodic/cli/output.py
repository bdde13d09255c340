"""How commands print: one JSON document, or aligned columns that fit the terminal.

Commands build their result as data (``Result``) and never write to stdout
themselves, except ``runs watch``, which streams lines and ends with one result.

What Chronicle sends is not trusted with the terminal: every server string in human
output goes through ``printable``, so an escape sequence in a title (a window-title
OSC, a screen clear, an OSC 52 clipboard write), a C1 control or a bidi override is
shown as ``\\x1b``-style text instead of acted on. ``--json`` stays exact, and strict:
``json_document`` writes NaN and infinities as the strings ``"NaN"``, ``"Infinity"``,
``"-Infinity"`` (jq rejects the bare words).
"""

from __future__ import annotations

import json
import math
import re
import shutil
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

__all__ = [
    "Column",
    "Result",
    "age",
    "compact",
    "fields",
    "human_bytes",
    "json_document",
    "parse_timestamp",
    "printable",
    "table",
    "terminal_width",
    "truncate",
]

ELLIPSIS = "…"
GAP = "  "


@dataclass
class Result:
    """What a command produced: ``data`` for ``--json``, ``text(width)`` for people."""

    data: Any
    text: Callable[[int], str]

    def emit(self, as_json: bool, out: TextIO | None = None) -> None:
        out = out or sys.stdout
        if as_json:
            out.write(json_document(self.data, getattr(out, "encoding", None)) + "\n")
        else:
            # Cells are escaped as they are laid out (widths stay right); this pass
            # catches any server text a command put in some other way.
            rendered = printable(self.text(terminal_width()), keep="\n")
            out.write(rendered if rendered.endswith("\n") or not rendered else rendered + "\n")


# C0 controls but tab and newline, DEL, C1 controls, bidi embeddings, overrides and
# isolates, and lone surrogates (which no encoder can write).
_UNSAFE = re.compile(
    r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def printable(text: str, *, keep: str = "") -> str:
    """``text`` with everything a terminal would act on written visibly: ``\\x1b``, ``\\u202e``.

    Characters in ``keep`` (``"\\n"`` where a line break is layout) stay as they are;
    a tab always does.
    """

    def visible(match: re.Match[str]) -> str:
        ch = match.group()
        if ch in keep:
            return ch
        code = ord(ch)
        return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"

    return _UNSAFE.sub(visible, text)


def json_document(data: Any, encoding: str | None = None) -> str:
    """``data`` as strict, exact JSON (indented), writable in ``encoding``.

    Non-finite floats become ``"NaN"``, ``"Infinity"``, ``"-Infinity"`` (the SDK's
    encoding of heartbeat progress). Text is kept as it is unless the stream cannot
    encode it (a lone surrogate, a non-UTF-8 terminal): then everything non-ASCII is a
    ``\\u`` escape, which decodes to the very same string.
    """
    try:
        text = json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False)
    except ValueError:  # a NaN or an infinity somewhere (rare: only a hostile server)
        data = _finite(data)
        text = json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False)
    try:
        text.encode(encoding or "utf-8")
    except (UnicodeEncodeError, LookupError):
        text = json.dumps(data, indent=2, ensure_ascii=True, allow_nan=False)
    return text


def _finite(value: Any) -> Any:
    from methodic._progress import non_finite_name

    if isinstance(value, float) and not math.isfinite(value):
        return non_finite_name(value)
    if isinstance(value, Mapping):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def terminal_width() -> int:
    """Columns of the terminal (``$COLUMNS`` wins; 80 when stdout is not a terminal)."""
    return max(shutil.get_terminal_size((80, 24)).columns, 20)


def truncate(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, ending in an ellipsis when cut."""
    if len(text) <= width:
        return text
    return text[: max(width - 1, 0)] + ELLIPSIS if width > 0 else ""


@dataclass(frozen=True)
class Column:
    """A table column.

    ``flex`` columns (free text) shrink, down to ``min_width``, with an ellipsis;
    ``optional`` columns are dropped, rightmost first, when shrinking is not enough.
    Ids and timestamps are neither: they are shown whole or not at all.
    """

    header: str
    value: Callable[[Any], Any]
    flex: bool = False
    optional: bool = False
    min_width: int = 8


COMFORTABLE = 24
"""Free text shrinks to this width before optional columns are dropped."""


def table(rows: Sequence[Any], columns: Sequence[Column], width: int, *, empty: str) -> str:
    """Rows as aligned columns fitting ``width``; ``empty`` when there are none."""
    if not rows:
        return empty
    cols = list(columns)
    cells = {c.header: [_cell(c.value(row)) for row in rows] for c in cols}

    def natural(c: Column) -> int:
        return max([len(c.header), *(len(v) for v in cells[c.header])])

    while True:
        widths = {c.header: natural(c) for c in cols}
        # Free text first gives way down to a readable width; then optional columns
        # go, rightmost first; only then does free text shrink to its minimum.
        if _shrink(cols, widths, width, lambda c: COMFORTABLE):
            break
        droppable = [c for c in cols if c.optional]
        if droppable:
            cols.remove(droppable[-1])
            continue
        _shrink(cols, widths, width, lambda c: c.min_width)
        break  # only ids and timestamps left: the terminal wraps what still overflows

    lines = []
    for i in range(-1, len(rows)):
        parts = []
        for c in cols:
            text = c.header.upper() if i < 0 else cells[c.header][i]
            parts.append(truncate(text, widths[c.header]).ljust(widths[c.header]))
        lines.append(GAP.join(parts).rstrip())
    return "\n".join(lines)


def _shrink(
    cols: Sequence[Column], widths: dict[str, int], width: int, floor: Callable[[Column], int]
) -> bool:
    """Narrow flex columns (widest first, not below ``floor``) until the row fits ``width``."""
    excess = sum(widths[c.header] for c in cols) + len(GAP) * (len(cols) - 1) - width
    for c in sorted((c for c in cols if c.flex), key=lambda c: -widths[c.header]):
        if excess <= 0:
            break
        lowest = max(min(floor(c), widths[c.header]), len(c.header), 1)
        give = min(excess, widths[c.header] - lowest)
        if give > 0:
            widths[c.header] -= give
            excess -= give
    return excess <= 0


def fields(pairs: Iterable[tuple[str, Any]], width: int) -> str:
    """``label  value`` lines, labels aligned; ``None`` values are left out."""
    shown = [(label, _cell(value)) for label, value in pairs if value is not None]
    if not shown:
        return ""
    pad = max(len(label) for label, _ in shown)
    return "\n".join(f"{label.ljust(pad)}{GAP}{value}" for label, value in shown)


def compact(value: Any) -> str:
    """A dict or list on one line (``k=v`` pairs for flat dicts), for table cells."""
    if isinstance(value, Mapping):
        if all(not isinstance(v, (Mapping, list)) for v in value.values()):
            return " ".join(f"{printable(str(k))}={_scalar(v)}" for k, v in value.items())
        return printable(json.dumps(value, separators=(",", ":"), ensure_ascii=False))
    if isinstance(value, list):
        return ",".join(_cell(v) for v in value)
    return _cell(value)


def human_bytes(n: int) -> str:
    """``1536`` -> ``1.5 KiB``; exact below 1 KiB."""
    if n < 1024:
        return f"{n} B"
    size = float(n)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        size /= 1024
        if size < 1024 or unit == "TiB":
            return f"{size:.1f} {unit}"
    raise AssertionError("unreachable")


def parse_timestamp(value: str) -> datetime | None:
    """An RFC 3339 timestamp from the wire as an aware datetime (None if unreadable)."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def age(timestamp: str | None, now: datetime | None = None) -> str | None:
    """How long ago ``timestamp`` was, by this machine's clock: ``4s``, ``3m12s``, ``2h05m``."""
    if timestamp is None:
        return None
    then = parse_timestamp(timestamp)
    if then is None:
        return None
    seconds = int(((now or datetime.now(UTC)) - then).total_seconds())
    return duration(max(seconds, 0))


def duration(seconds: int) -> str:
    """Whole seconds as ``4s``, ``3m12s``, ``2h05m`` or ``3d04h``."""
    if seconds < 60:
        return f"{seconds}s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        return printable(" ".join(value.split()))
    return json.dumps(value)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, (Mapping, list)):
        return compact(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    # One line per row: a newline in a title would break the columns.
    return printable(" ".join(value.split())) if isinstance(value, str) else str(value)
