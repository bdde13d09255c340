"""``to_pandas()``: list pages and search results as pandas DataFrames.

One row per item, columns in the dataclass's field order, like ``mlflow.search_runs``:
JSON objects (``progress``, ``metadata``, ``config_json``, ``environment``, ...) are
flattened into dotted columns (``progress.loss``, ``environment.python.version``) at the
place of their field, and the server's timestamps (fields ending in ``_at``) become
timezone-aware ``datetime64`` columns in UTC. Lists (``tags``, ``components``) stay
Python lists in object columns (of dicts, for nested models).

pandas is imported on the first call, so ``import methodic`` never pays for it; a
missing pandas raises an ``ImportError`` naming the extra that installs it.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas

__all__ = ["frame"]

_UNIONS = (typing.Union, types.UnionType)
EXTRA_HINT = "to_pandas() needs pandas: pip install 'methodic[pandas]'"


def _pandas() -> Any:
    try:
        import pandas
    except ImportError as err:
        raise ImportError(EXTRA_HINT, name="pandas") from err
    return pandas


def _flatten(prefix: str, value: Mapping[str, Any], out: dict[str, Any]) -> None:
    for key, inner in value.items():
        name = f"{prefix}.{key}"
        if isinstance(inner, Mapping) and inner:
            _flatten(name, inner, out)
        else:
            out[name] = inner


def _row(item: Any) -> Any:
    """The dataclass behind a page item: itself, or a handle's data."""
    return item if dataclasses.is_dataclass(item) else item.data


def _object_fields(kind: type) -> list[str]:
    """The fields annotated as ``dict[...]`` (or ``dict[...] | None``)."""
    hints = typing.get_type_hints(kind)
    found = []
    for name, hint in hints.items():
        options = typing.get_args(hint) if typing.get_origin(hint) in _UNIONS else (hint,)
        if any(typing.get_origin(o) is dict or o is dict for o in options):
            found.append(name)
    return found


def frame(items: Iterable[Any], item_type: type | None = None) -> pandas.DataFrame:
    """A DataFrame of dataclass ``items`` (or handles), one row each.

    ``item_type`` names the columns when ``items`` is empty (a handle class is read
    through its ``_model``).
    """
    pd = _pandas()
    rows = [_row(item) for item in items]
    kind = type(rows[0]) if rows else getattr(item_type, "_model", item_type)
    if kind is None or not dataclasses.is_dataclass(kind):
        return pd.DataFrame()
    fields = [f.name for f in dataclasses.fields(kind)]
    # Fields typed as JSON objects never show as one column, whatever the rows hold:
    # their keys do, in place, in first-seen order (none at all if every row is empty).
    nested: dict[str, dict[str, None]] = {name: {} for name in _object_fields(kind)}
    records = []
    for row in rows:
        data = dataclasses.asdict(row)  # nested models (an asset's components) as dicts
        record: dict[str, Any] = {}
        for name in fields:
            value = data.get(name)
            if name not in nested:
                record[name] = value
            elif isinstance(value, Mapping):
                flat: dict[str, Any] = {}
                _flatten(name, value, flat)
                nested[name].update(dict.fromkeys(flat))
                record.update(flat)
        records.append(record)
    columns: list[str] = []
    for name in fields:
        if name in nested:
            columns.extend(nested[name])
        else:
            columns.append(name)
    df = pd.DataFrame.from_records(records, columns=columns)
    for name in fields:
        if name.endswith("_at") and name not in nested:
            # Microseconds, the server's resolution, whatever pandas would infer (an
            # all-empty column would come out in seconds).
            parsed = pd.to_datetime(df[name], utc=True, format="ISO8601")
            df[name] = parsed.dt.as_unit("us")
    return df
