"""What a device may have stored as JSON: only values every later reader can carry.

Event data, client facts and stored values are read back by the export, the
signed evidence report and both databases. Canonical JSON (``core.canonical``)
signs integers of at most 64 bits and no floats; PostgreSQL's ``jsonb`` refuses
``NaN``; encoders recurse into nesting. A device that could store ``10**40``
would break its own evidence report (threat: a pirate making the proof against
him unreadable), so such values are refused at ingestion with ``422
validation_error``, and nothing of the request is stored.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from annotated_types import Interval
from pydantic import AfterValidator, StringConstraints

# The range canonical JSON signs (core.canonical): symmetric, one rule for every encoder.
MAX_INT = 2**63 - 1
# Deep enough for any real settings object, shallow enough for every recursive encoder.
MAX_DEPTH = 32

DeviceInt = Annotated[int, Interval(ge=-MAX_INT, le=MAX_INT)]
# One client fact or event datum: short text, a 64-bit integer, a flag, or nothing.
FactValue = Annotated[str, StringConstraints(max_length=500)] | DeviceInt | bool | None
FactName = Annotated[str, StringConstraints(max_length=64)]


def json_problem(value: Any) -> str | None:
    """Why ``value`` (parsed JSON) cannot be stored, or None when it can."""
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, bool) or item is None or isinstance(item, str):
            continue
        if isinstance(item, int):
            if not -MAX_INT <= item <= MAX_INT:
                return "integers must fit in 64 bits"
        elif isinstance(item, float):
            if not math.isfinite(item):
                return "numbers must be finite (no NaN or Infinity)"
        elif isinstance(item, (dict, list)):
            if depth >= MAX_DEPTH:
                return f"at most {MAX_DEPTH} levels of nesting"
            children = item.values() if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children)
        else:
            return f"{type(item).__name__} is not a JSON value"
    return None


def _storable(value: Any) -> Any:
    problem = json_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


# Any JSON a device may store (the value store): bounded integers, finite numbers, bounded nesting.
StorableJson = Annotated[Any, AfterValidator(_storable)]
