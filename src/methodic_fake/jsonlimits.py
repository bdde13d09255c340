"""Limits on client-supplied JSON values: what the fake stores must also encode.

Python's JSON parser accepts NaN/Infinity and lone UTF-16 surrogates, and YAML can
build self-referencing or exponentially aliased structures; none of these can be
written back as JSON (or stored) safely. `check_json` walks a value iteratively
(so deep input cannot exhaust the stack) and rejects it with a ValueError whose
message names the problem.
"""

from __future__ import annotations

import math
from typing import Any

MAX_DEPTH = 64
# Deeper request bodies are "unparseable" (a 400), on every Python: the stdlib parser's
# own limit moved from the recursion limit (~1000) to the C stack in 3.13.
PARSER_MAX_DEPTH = 512
# Counted with aliases expanded, so a YAML "billion laughs" is stopped early.
MAX_NODES = 200_000
# Python's default limit for int <-> text conversion (sys.int_info), fixed here so
# what the fake accepts never depends on a process-wide setting: an integer the fake
# stored must always be writable back as a JSON number.
MAX_INT_DIGITS = 4300
_INT_LIMIT = 10**MAX_INT_DIGITS


def check_integer(value: int) -> int:
    """`value` unless it has more than MAX_INT_DIGITS decimal digits (ValueError)."""
    if abs(value) >= _INT_LIMIT:
        raise ValueError(f"has an integer with more than {MAX_INT_DIGITS} digits")
    return value


def check_text(value: str) -> str:
    """`value` unless it cannot be encoded as UTF-8 (a lone surrogate)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("contains a lone UTF-16 surrogate (not valid Unicode text)") from None
    return value


def nested_deeper_than(value: Any, limit: int) -> bool:
    """True if `value` (decoded JSON) nests lists/dicts more than `limit` levels deep."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


def check_json(value: Any, *, max_depth: int = MAX_DEPTH, max_nodes: int = MAX_NODES) -> Any:
    """`value` unless it is too deep, too large, or holds non-finite numbers or bad text."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    nodes = 0
    while stack:
        item, depth = stack.pop()
        nodes += 1
        if nodes > max_nodes:
            raise ValueError(f"has more than {max_nodes} values")
        if isinstance(item, dict):
            if depth > max_depth:
                raise ValueError(f"is nested deeper than {max_depth} levels")
            for key, child in item.items():
                if isinstance(key, str):
                    check_text(key)
                stack.append((child, depth + 1))
        elif isinstance(item, (list, tuple)):
            if depth > max_depth:
                raise ValueError(f"is nested deeper than {max_depth} levels")
            stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise ValueError("contains a non-finite number (NaN or Infinity)")
        elif isinstance(item, str):
            check_text(item)
        elif isinstance(item, int):
            check_integer(item)
    return value
