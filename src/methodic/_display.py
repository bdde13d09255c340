"""What a researcher sees in a notebook or a REPL: HTML tables and readable reprs.

``methodic.types`` and the handles call into this module from their ``_repr_html_``,
``_repr_pretty_`` and ``__repr__``, importing it on first display, so ``import
methodic`` never pays for it. Like pandas and polars, a response renders as a table,
never as a wall of repr.

Two rules hold for everything here:

- **No request.** Display reads only what is already in memory: a handle shows its
  cache (and says when it has none), a page shows its own items and says how to get
  the rest.
- **Everything is escaped.** Titles, tags, configs and snippets come from the server
  and from other people; each one goes through ``html.escape``.

Works on any dataclass (no run-time import of ``methodic.types``, which imports this
module lazily).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from html import escape
from typing import Any

from methodic._lineage_svg import STATE_COLOURS  # the dashboard's, as in the lineage picture

__all__ = [
    "handle_html",
    "handle_repr",
    "lineage_html",
    "model_html",
    "model_repr",
    "page_html",
    "page_repr",
    "pretty_handle",
    "pretty_model",
    "pretty_page",
]

# Columns a table of each type shows (every field is still in `to_pandas()`).
COLUMNS = {
    "Experiment": ("id", "title", "state", "tags", "parent_ids", "created_at", "committed_at"),
    "Variation": ("id", "name", "config_json", "created_at"),
    "Run": ("id", "variation_id", "state", "failure_reason", "progress", "last_heartbeat_at"),
    "Asset": ("id", "kind", "name", "state", "components", "run_id", "experiment_id"),
    "AssetComponent": ("name", "size", "sha256", "content_type", "uploaded"),
    "SearchResult": ("type", "title", "score", "snippet", "id", "experiment_id"),
    "LineageNode": ("id", "title", "state", "relation", "depth"),
}
COLUMNS["ExperimentDetail"] = COLUMNS["Experiment"]

CELL_CHARS = 80  # a table cell's text is cut here (the full text is its tooltip)
REPR_ITEMS = 3  # a page's repr shows this many items
_TABLE = 'style="border-collapse:collapse;margin:4px 0;font-size:13px;text-align:left"'
_CELL = (
    'style="padding:3px 10px;border-bottom:1px solid #d0d7de;vertical-align:top;text-align:left"'
)
_MUTED = 'style="color:#656d76"'


# --- text -----------------------------------------------------------------------------


def shown_fields(obj: Any) -> list[tuple[str, Any]]:
    """``(name, value)`` of the fields a repr shows: the required ones, and the others
    whose value differs from their default (a run's unset timestamps are noise)."""
    shown = []
    for f in dataclasses.fields(obj):
        if not f.repr:
            continue  # a presigned asset's upload URLs are credentials
        value = getattr(obj, f.name)
        if f.default is not dataclasses.MISSING and value == f.default:
            continue
        if f.default_factory is not dataclasses.MISSING and value == f.default_factory():
            continue
        shown.append((f.name, value))
    return shown


def model_repr(obj: Any) -> str:
    """``Experiment(id='e1', title='lr sweep', state='draft', ...)``, unset fields left out."""
    fields = ", ".join(f"{name}={value!r}" for name, value in shown_fields(obj))
    return f"{type(obj).__name__}({fields})"


def pretty_model(obj: Any, p: Any, cycle: bool) -> None:
    """IPython's pretty form of a model: one field per line when it does not fit."""
    name = type(obj).__name__
    if cycle:
        p.text(f"{name}(...)")
        return
    with p.group(len(name) + 1, name + "(", ")"):
        for i, (field, value) in enumerate(shown_fields(obj)):
            if i:
                p.text(",")
                p.breakable()
            p.text(field + "=")
            p.pretty(value)


def page_repr(page: Any) -> str:
    """``Page([Experiment(...), ... 47 more], next_cursor='c2')``: a few items, then a count."""
    items = page.items
    shown = [repr(item) for item in items[:REPR_ITEMS]]
    if len(items) > REPR_ITEMS:
        shown.append(f"... {len(items) - REPR_ITEMS} more")
    return f"Page([{', '.join(shown)}], next_cursor={page.next_cursor!r})"


def pretty_page(page: Any, p: Any, cycle: bool) -> None:
    """IPython's pretty form of a page: a summary line, then one item per line."""
    if cycle:
        p.text("Page(...)")
        return
    p.text(_page_summary(page, code=False))
    with p.indent(2):
        for item in page.items:
            p.break_()
            p.pretty(item)


def handle_repr(handle: Any, fields: Iterable[str]) -> str:
    """``<Experiment id='e1' title='lr sweep' state='draft'>`` from the cache alone,
    ``<Experiment id='e1' (not fetched)>`` without one."""
    cached = handle._peek()
    head = f"<{type(handle).__name__} id={handle.id!r}"
    if cached is None:
        return head + " (not fetched)>"
    shown = "".join(
        f" {name}={getattr(cached, name)!r}" for name in fields if hasattr(cached, name)
    )
    return head + shown + ">"


def pretty_handle(handle: Any, p: Any, cycle: bool) -> None:
    """IPython's pretty form of a handle: its id, then its cached data (or that it has none)."""
    cached = handle._peek()
    head = f"<{type(handle).__name__} id={handle.id!r}"
    if cached is None or cycle:
        p.text(head + " (not fetched)>" if cached is None else head + " ...>")
        return
    with p.group(2, head + ", cached:", ">"):
        p.breakable()
        p.pretty(cached)


# --- HTML -----------------------------------------------------------------------------


def _cut(text: str, limit: int = CELL_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _state(value: str) -> str:
    colour = STATE_COLOURS.get(value, "#656d76")
    return (
        f'<span style="color:{colour};border:1px solid {colour};border-radius:9px;'
        f'padding:0 7px;font-size:12px;font-weight:600;white-space:nowrap">{escape(value)}</span>'
    )


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(", ", ": "), default=str)


def _value(name: str, value: Any, *, cell: bool) -> str:
    """One value as HTML: states as coloured labels, JSON as code, nested models as tables."""
    if value is None:
        return f"<span {_MUTED}>—</span>"
    if name in ("state", "relation") and isinstance(value, str):
        return _state(value) if name == "state" else escape(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Mapping):
        if not value:
            return f"<span {_MUTED}>{{}}</span>"
        text = _json(value)
        if cell:
            return f'<code title="{escape(text)}">{escape(_cut(text))}</code>'
        pretty = json.dumps(value, indent=2, sort_keys=True, default=str)
        return (
            f"<details><summary><code>{escape(_cut(text))}</code></summary>"
            f'<pre style="margin:2px 0">{escape(pretty)}</pre></details>'
        )
    if isinstance(value, list):
        if value and all(dataclasses.is_dataclass(v) for v in value):
            if cell:
                return f"{len(value)} {escape(type(value[0]).__name__)}"
            return _table(value)
        if not value:
            return f"<span {_MUTED}>[]</span>"
        return ", ".join(f"<code>{escape(str(v))}</code>" for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return model_html(value)
    text = str(value)
    if name == "id" or name.endswith("_id"):
        return f'<code style="white-space:nowrap">{escape(text)}</code>'
    if name.endswith("_at"):  # a timestamp: one line
        return f'<span style="white-space:nowrap">{escape(text)}</span>'
    if cell and len(text) > CELL_CHARS:
        return f'<span title="{escape(text)}">{escape(_cut(text))}</span>'
    return escape(text)


def _columns(kind: type) -> tuple[str, ...]:
    known = COLUMNS.get(kind.__name__)
    if known is not None:
        return known
    return tuple(f.name for f in dataclasses.fields(kind) if f.repr)


def _table(rows: list[Any], *, placeholders: Mapping[int, str] | None = None) -> str:
    """A table of dataclass rows (``placeholders``: row index -> text for a missing row)."""
    present = [r for r in rows if r is not None]
    if not present:
        return ""
    columns = _columns(type(present[0]))
    head = "".join(f"<th {_CELL}>{escape(c)}</th>" for c in columns)
    body = []
    for i, row in enumerate(rows):
        if row is None:
            text = (placeholders or {}).get(i, "")
            body.append(f'<tr><td {_CELL} colspan="{len(columns)}">{text}</td></tr>')
            continue
        cells = "".join(
            f"<td {_CELL}>{_value(c, getattr(row, c, None), cell=True)}</td>" for c in columns
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table {_TABLE}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _box(title: str, body: str, note: str = "") -> str:
    footer = f'<div style="color:#656d76;font-size:12px">{note}</div>' if note else ""
    return (
        f'<div class="methodic" style="font-size:13px">'
        f"<div><strong>{title}</strong></div>{body}{footer}</div>"
    )


def model_html(obj: Any, *, title: str | None = None, note: str = "") -> str:
    """A model as a two-column table of its set fields (nested lists as tables)."""
    kind = type(obj).__name__
    rows = []
    unset = []
    for f in dataclasses.fields(obj):
        if not f.repr:
            continue
        value = getattr(obj, f.name)
        if value is None or (isinstance(value, list | dict) and not value):
            unset.append(f.name)
            continue
        rows.append(
            f"<tr><th {_CELL}>{escape(f.name)}</th>"
            f"<td {_CELL}>{_value(f.name, value, cell=False)}</td></tr>"
        )
    if unset:
        shown = ", ".join(escape(name) for name in unset)
        note = f"{note} · not set: {shown}" if note else f"not set: {shown}"
    body = f"<table {_TABLE}><tbody>{''.join(rows)}</tbody></table>"
    return _box(title or escape(kind), body, note)


def handle_html(handle: Any) -> str:
    """A handle: its cached data, or a line saying nothing was fetched (and how to)."""
    kind = type(handle).__name__
    cached = handle._peek()
    head = f"{escape(kind)} handle <code>{escape(handle.id)}</code>"
    if cached is None:
        return _box(
            head,
            f"<div {_MUTED}>not fetched yet: display never sends a request; "
            f"reading an attribute (or <code>.data</code>) fetches it</div>",
        )
    return model_html(
        cached,
        title=head,
        note="cached: the last response this handle received (a mutation through it "
        "re-fetches on the next read; <code>.refresh()</code> for changes made elsewhere)",
    )


def _page_summary(page: Any, *, code: bool = True) -> str:
    items = page.items
    kinds = {type(_row(item)).__name__ for item in items if _row(item) is not None}
    what = f"{len(items)} {kinds.pop() if len(kinds) == 1 else 'item'}"
    what += "" if len(items) == 1 else "s"
    if page.has_next_page():
        hint = (
            "iterate the page for every item, <code>.next_page()</code> for the next page, "
            "<code>.to_pandas()</code> for a DataFrame of all of them"
            if code
            else "iterate it for every item, .next_page() for the next page, "
            ".to_pandas() for a DataFrame of all of them"
        )
        return f"Page of {what}; more on the server: {hint}"
    if page.next_cursor:
        cursor = f"<code>{escape(page.next_cursor)}</code>" if code else repr(page.next_cursor)
        return f"Page of {what}; next_cursor {cursor} (this page cannot fetch it)"
    return f"Page of {what}; the last page"


def _row(item: Any) -> Any:
    """The dataclass a page item shows: itself, or a handle's cache (None if absent)."""
    if dataclasses.is_dataclass(item):
        return item
    peek = getattr(item, "_peek", None)
    return peek() if peek is not None else None


def page_html(page: Any) -> str:
    """A page: a table of its items and a line on how to get more."""
    rows = [_row(item) for item in page.items]
    placeholders = {
        i: f"<code>{escape(item.id)}</code> <span {_MUTED}>(not fetched)</span>"
        for i, item in enumerate(page.items)
        if rows[i] is None and hasattr(item, "id")
    }
    table = _table(rows, placeholders=placeholders) or f"<div {_MUTED}>no items</div>"
    return _box("Page", table, _page_summary(page))


def lineage_html(lineage: Any, svg: str) -> str:
    """A lineage: the dashboard's picture, then its experiments as a folded table."""
    edges = len(lineage.edges)
    summary = (
        f"{len(lineage.nodes)} experiment{'s' if len(lineage.nodes) != 1 else ''}, "
        f"{edges} link{'s' if edges != 1 else ''}"
    )
    body = f"{svg}<details><summary>{summary}</summary>{_table(list(lineage.nodes))}</details>"
    return _box(f"Lineage of <code>{escape(lineage.root_id)}</code>", body)
