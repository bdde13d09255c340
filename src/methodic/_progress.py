"""Heartbeat progress as JSON Chronicle accepts, whatever a training loop hands over.

A heartbeat is what keeps a run alive, so its progress payload must never stop it:
``encode_progress`` turns any mapping into a JSON object within docs/api.md's limits
for free-form objects, converting what has an obvious JSON form and dropping what has
none, and says what it dropped instead of raising. The wire form (docs/api.md,
"Heartbeat progress"):

- NaN, Infinity and -Infinity (JSON has no such numbers) -> the strings ``"NaN"``,
  ``"Infinity"``, ``"-Infinity"``: a diverged loss stays visible as one;
- ``Decimal`` and other real numbers -> float; numpy / torch / jax scalars and arrays
  (anything with ``.tolist()`` or ``.item()``; numpy is never imported) -> their
  Python values; tuples and sets -> lists; enums -> their value; UUIDs and paths ->
  strings;
- ``datetime`` -> RFC 3339 in UTC (``2026-01-02T03:04:05Z``; a naive one is taken as
  local time), ``date`` / ``time`` -> ISO 8601;
- keys: strings, or int / float / bool / None converted as ``json.dumps`` does;
- dropped, each reported: values of any other type, integers of more than 4 300
  digits, containers nested deeper than 64 levels, values past the 200 000th;
  lone UTF-16 surrogates in text become U+FFFD (also reported).

Problems name where the value was (``progress['a'][0]``) and its type, never the value
itself: progress can be large, and is the caller's data.
"""

from __future__ import annotations

import enum
import math
import numbers
import os
import uuid
from collections.abc import Mapping, Set
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

__all__ = ["MAX_DEPTH", "MAX_VALUES", "EncodedProgress", "encode_progress", "non_finite_name"]

# docs/api.md's limits on every free-form JSON object (the fake's jsonlimits.py).
MAX_DEPTH = 64
MAX_VALUES = 200_000
MAX_INT_DIGITS = 4300
_INT_LIMIT = 10**MAX_INT_DIGITS
_MAX_PATH = 120  # characters of a value's location shown in a problem


def non_finite_name(value: float) -> str:
    """``"NaN"``, ``"Infinity"`` or ``"-Infinity"``: how JSON output names a non-finite float."""
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


@dataclass
class EncodedProgress:
    """What ``encode_progress`` made of a payload: the JSON object, and what it had to drop."""

    payload: dict[str, Any] | None
    problems: list[str] = field(default_factory=list)


def encode_progress(progress: Any) -> EncodedProgress:
    """``progress`` as a JSON object Chronicle accepts (``None`` stays ``None``).

    Never raises for what the mapping holds: what cannot be sent is dropped and named
    in ``problems``. A ``progress`` that is not a mapping at all is dropped whole.
    """
    if progress is None:
        return EncodedProgress(None)
    if not isinstance(progress, Mapping):
        return EncodedProgress(
            None, [f"progress is a {type(progress).__name__}, not a mapping (not sent)"]
        )
    encoder = _Encoder()
    payload = encoder.mapping(progress, "progress", 1)
    return EncodedProgress(payload, encoder.problems)


class _Drop(Exception):
    """A value that cannot be sent; the message says why."""


_MAX_PROBLEMS = 10  # named one by one; past that, only counted


class _Encoder:
    def __init__(self) -> None:
        self._problems: list[str] = []
        self._unnamed = 0
        self.values = 0
        self.full = False

    @property
    def problems(self) -> list[str]:
        more = [f"... and {self._unnamed} more problem(s)"] if self._unnamed else []
        return self._problems + more

    def mapping(self, value: Mapping[Any, Any], where: str, depth: int) -> dict[str, Any]:
        self._count(where)
        out: dict[str, Any] = {}
        for raw_key, child in value.items():
            if self.full:
                break
            key = self._key(raw_key, where)
            if key is None:
                continue
            place = f"{where}[{key!r}]"
            if key in out:
                self._problem(place, "a second key of that name once converted (dropped)")
                continue
            try:
                out[key] = self.value(child, place, depth + 1)
            except _Drop as drop:
                self._problem(place, str(drop))
        return out

    def value(self, value: Any, where: str, depth: int, converted: bool = False) -> Any:
        # Exact JSON types first: they are nearly everything a training loop sends.
        if value is None or isinstance(value, bool):
            self._count(where)
            return value
        if isinstance(value, str):
            self._count(where)
            return self._text(value, where)
        if isinstance(value, int) and not isinstance(value, enum.Enum):
            self._count(where)
            if abs(value) >= _INT_LIMIT:
                raise _Drop(f"an integer of more than {MAX_INT_DIGITS} digits (dropped)")
            return int(value)
        if isinstance(value, float):
            self._count(where)
            return float(value) if math.isfinite(value) else non_finite_name(value)
        if isinstance(value, Mapping | list | tuple | Set):
            if depth > MAX_DEPTH:
                raise _Drop(f"nested deeper than {MAX_DEPTH} levels (dropped)")
            if isinstance(value, Mapping):
                return self.mapping(value, where, depth)
            return self._sequence(value, where, depth)
        return self.value(self._convert(value, converted), where, depth, True)

    def _sequence(self, value: Any, where: str, depth: int) -> list[Any]:
        self._count(where)
        out = []
        for index, child in enumerate(value):
            if self.full:
                break
            place = f"{where}[{index}]"
            try:
                out.append(self.value(child, place, depth + 1))
            except _Drop as drop:
                self._problem(place, str(drop))
        return out

    @staticmethod
    def _convert(value: Any, converted: bool) -> Any:
        """A type with an obvious JSON form as that form; anything else is dropped."""
        if isinstance(value, datetime):
            # A naive datetime is local time, as Python's astimezone() takes it.
            return value.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"
        if isinstance(value, date | time):
            return value.isoformat()
        if isinstance(value, enum.Enum):
            return value.value
        if isinstance(value, os.PathLike):
            return os.fspath(value)
        if isinstance(value, uuid.UUID):
            return str(value)
        if isinstance(value, Decimal):
            return float("nan") if value.is_nan() else float(value)
        # numpy / torch / jax: arrays and scalars have tolist(), scalars item(). One
        # such conversion per value, so an object that converts to itself cannot loop.
        for method in () if converted else ("tolist", "item"):
            convert = getattr(value, method, None)
            if callable(convert):
                try:
                    return convert()
                except Exception as err:
                    raise _Drop(
                        f"{_type(value)}.{method}() raised {type(err).__name__} (dropped)"
                    ) from None
        if isinstance(value, numbers.Integral):
            return int(value)
        if isinstance(value, numbers.Real):  # Fraction, and the like
            return float(value)
        raise _Drop(f"{_type(value)} has no JSON form (dropped)")

    def _key(self, key: Any, where: str) -> str | None:
        if isinstance(key, str):
            return self._text(key, where)
        if key is None or isinstance(key, bool):
            return "null" if key is None else ("true" if key else "false")
        if isinstance(key, int) and abs(key) < _INT_LIMIT:
            return str(int(key))
        if isinstance(key, float):
            return repr(float(key)) if math.isfinite(key) else non_finite_name(key)
        self._problem(f"{where}[<{_type(key)} key>]", "a key that is not text (dropped)")
        return None

    def _text(self, value: str, where: str) -> str:
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            self._problem(where, "text with a lone UTF-16 surrogate (replaced by U+FFFD)")
            return "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in value)
        return str(value)

    def _count(self, where: str) -> None:
        self.values += 1
        if self.values > MAX_VALUES:
            if not self.full:
                self.full = True
                self._problem(
                    where, f"past the first {MAX_VALUES} values (it and the rest dropped)"
                )
            raise _Drop("")

    def _problem(self, where: str, what: str) -> None:
        if not what:  # the rest of a payload past MAX_VALUES: reported once already
            return
        if len(self._problems) >= _MAX_PROBLEMS:
            self._unnamed += 1
            return
        if len(where) > _MAX_PATH:
            where = where[: _MAX_PATH - 1] + "…"
        self._problems.append(f"{where}: {what}")


def _type(value: Any) -> str:
    kind = type(value)
    module = kind.__module__
    return kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"
